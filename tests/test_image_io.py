"""Tests for exemplar.core.image_io: formats, bit depths, alpha, EXIF rotation, and every bad input."""

import os

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

import exemplar
from exemplar.core import image_io
from exemplar.core.errors import ImageError
from exemplar.core.image_io import LoadedImage, check_output_path, read_image, rgb_to_uint, write_image

LOSSLESS = [".png", ".tif", ".bmp"]
LOSSY = [".jpg", ".webp"]


def _alpha_ramp(height, width):
    """(H, W) float32 alpha from 0 (left) to 1 (right)."""
    return np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ext", LOSSLESS + LOSSY)
def test_round_trip_8bit(tmp_path, photo_rgb, ext):
    path = tmp_path / f"photo{ext}"
    write_image(path, photo_rgb)
    loaded = read_image(path)
    assert isinstance(loaded, LoadedImage)
    assert loaded.rgb.shape == photo_rgb.shape and loaded.rgb.dtype == np.float32
    assert loaded.bit_depth == 8 and loaded.alpha is None and not loaded.is_grey
    assert loaded.path == str(path)
    error = np.abs(loaded.rgb - photo_rgb)
    if ext in LOSSLESS:
        assert error.max() <= 0.5 / 255 + 1e-6  # only 8-bit rounding
    else:
        assert error.mean() < 0.02  # lossy at quality 95, but channels in the right order


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_round_trip_16bit_keeps_precision(tmp_path, photo_rgb, ext):
    path = tmp_path / f"deep{ext}"
    write_image(path, photo_rgb, bit_depth=16)
    loaded = read_image(path)
    assert loaded.bit_depth == 16
    # 8 bits could not get closer than ~1/510 on this smooth image; 16 bits can.
    assert np.abs(loaded.rgb - photo_rgb).max() <= 0.5 / 65535 + 1e-6


@pytest.mark.parametrize("ext", [".jpg", ".webp", ".bmp"])
def test_16bit_request_falls_back_to_8bit(tmp_path, photo_rgb, ext):
    path = tmp_path / f"shallow{ext}"
    write_image(path, photo_rgb, bit_depth=16)
    assert read_image(path).bit_depth == 8


@pytest.mark.parametrize("ext,bit_depth", [(".png", 8), (".png", 16), (".tif", 16), (".jpg", 8)])
def test_grey_round_trip(tmp_path, photo_grey, ext, bit_depth):
    path = tmp_path / f"grey{ext}"
    write_image(path, photo_grey, bit_depth=bit_depth)
    loaded = read_image(path)
    assert loaded.is_grey and loaded.bit_depth == bit_depth
    assert loaded.rgb.shape == photo_grey.shape + (3,)
    np.testing.assert_array_equal(loaded.rgb[..., 0], loaded.rgb[..., 2])
    tolerance = 0.02 if ext == ".jpg" else 0.5 / (2**bit_depth - 1) + 1e-6
    assert np.abs(loaded.rgb[..., 1] - photo_grey).max() <= tolerance * (3 if ext == ".jpg" else 1)


def test_is_grey_tolerates_tinted_scans_but_not_colour(photo_grey, photo_rgb):
    tinted = np.repeat(photo_grey[..., None], 3, axis=2) * np.float32([1.0, 0.99, 0.97])  # sepia-ish
    assert read_image(tinted).is_grey
    assert not read_image(photo_rgb).is_grey


@pytest.mark.parametrize("ext", [".png", ".tif", ".webp", ".bmp"])
def test_rgba_alpha_kept(tmp_path, photo_rgb, ext):
    alpha = _alpha_ramp(*photo_rgb.shape[:2])
    path = tmp_path / f"cutout{ext}"
    write_image(path, photo_rgb, alpha=alpha)
    loaded = read_image(path)
    assert loaded.alpha is not None and loaded.alpha.shape == alpha.shape
    assert np.abs(loaded.alpha - alpha).max() <= 0.5 / 255 + 1e-6  # alpha is lossless even in WebP
    assert np.abs(loaded.rgb - photo_rgb)[alpha > 0.1].mean() < 0.02


def test_16bit_rgba_png(tmp_path, photo_rgb):
    alpha = _alpha_ramp(*photo_rgb.shape[:2])
    path = tmp_path / "deep_cutout.png"
    write_image(path, photo_rgb, alpha=alpha, bit_depth=16)
    loaded = read_image(path)
    assert loaded.bit_depth == 16
    assert np.abs(loaded.alpha - alpha).max() <= 0.5 / 65535 + 1e-6
    assert np.abs(loaded.rgb - photo_rgb).max() <= 0.5 / 65535 + 1e-6


def test_jpeg_drops_alpha(tmp_path, photo_rgb):
    path = tmp_path / "flat.jpg"
    write_image(path, photo_rgb, alpha=_alpha_ramp(*photo_rgb.shape[:2]))
    assert read_image(path).alpha is None


def test_grey_plus_alpha_png(tmp_path, photo_grey):
    grey = rgb_to_uint(photo_grey, 8)
    alpha = rgb_to_uint(_alpha_ramp(*grey.shape), 8)
    path = tmp_path / "grey_alpha.png"
    Image.fromarray(np.dstack([grey, alpha]), "LA").save(path)
    loaded = read_image(path)
    assert loaded.is_grey
    np.testing.assert_array_equal(rgb_to_uint(loaded.alpha, 8), alpha)
    np.testing.assert_array_equal(rgb_to_uint(loaded.rgb[..., 1], 8), grey)


def test_non_ascii_path(tmp_path, photo_rgb):
    path = tmp_path / "café ☕.png"
    write_image(path, photo_rgb)
    assert read_image(path).rgb.shape == photo_rgb.shape


# --------------------------------------------------------------------------- EXIF orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied(tmp_path, photo_rgb, orientation):
    path = tmp_path / f"orient{orientation}.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(rgb_to_uint(photo_rgb, 8)).save(path, quality=95, exif=exif)

    loaded = read_image(path)
    height, width = photo_rgb.shape[:2]
    assert loaded.rgb.shape[:2] == ((width, height) if orientation >= 5 else (height, width))
    # Pillow's own exif_transpose is the reference for what "upright" means.
    with Image.open(path) as im:
        upright = np.asarray(ImageOps.exif_transpose(im), np.float32) / 255.0
    assert upright.shape == loaded.rgb.shape
    assert np.abs(loaded.rgb - upright).max() < 0.02


# --------------------------------------------------------------------------- numpy arrays


@pytest.mark.parametrize("dtype,bit_depth", [(np.uint8, 8), (np.uint16, 16), (np.float32, 16), (np.float64, 16)])
def test_array_input_dtypes(photo_rgb, dtype, bit_depth):
    top = {np.uint8: 255, np.uint16: 65535}.get(dtype, 1)
    array = np.round(photo_rgb * top).astype(dtype) if top > 1 else photo_rgb.astype(dtype)
    loaded = read_image(array)
    assert loaded.path == "<array>" and loaded.bit_depth == bit_depth
    assert loaded.rgb.dtype == np.float32
    assert np.abs(loaded.rgb - photo_rgb).max() <= 0.5 / top + 1e-6


def test_array_input_grey_and_rgba(photo_rgb, photo_grey):
    grey = read_image(photo_grey)
    assert grey.is_grey and grey.alpha is None and grey.rgb.shape == photo_grey.shape + (3,)
    alpha = _alpha_ramp(*photo_rgb.shape[:2])
    rgba = read_image(np.dstack([photo_rgb, alpha]))
    np.testing.assert_allclose(rgba.alpha, alpha)
    np.testing.assert_allclose(rgba.rgb, photo_rgb)


@pytest.mark.parametrize(
    "array,problem",
    [
        (np.full((16, 16, 3), 200.0, np.float32), "must be in [0, 1]"),
        (np.full((16, 16, 3), np.nan, np.float32), "NaN"),
        (np.zeros((16, 16, 2), np.uint8), "is not (H, W)"),
        (np.zeros(16, np.uint8), "is not (H, W)"),
        (np.zeros((16, 16, 3), bool), "dtype bool"),
        (np.zeros((4, 16, 3), np.uint8), "image is 16x4 pixels; at least 8x8 is needed"),
    ],
)
def test_bad_arrays_refused(array, problem):
    with pytest.raises(ImageError, match="<array>") as info:
        read_image(array)
    assert problem in info.value.problem


# --------------------------------------------------------------------------- bad files


@pytest.mark.parametrize(
    "kind,problem",
    [
        ("missing", "file not found"),
        ("directory", "is a directory"),
        ("empty", "file is empty (0 bytes)"),
        ("text_as_png", "is not an image file"),
        ("truncated_jpeg", "corrupt or truncated"),
        ("tiny", "image is 1x1 pixels; at least 8x8 is needed"),
        ("huge_header", "30000 x 30000 = 900 megapixels exceeds the limit of 200 megapixels (use --max-megapixels)"),
    ],
)
def test_bad_files_refused(bad_files, kind, problem):
    path = bad_files[kind]
    with pytest.raises(ImageError) as info:
        read_image(path)
    assert info.value.path == str(path)
    assert problem in info.value.problem
    assert str(path) in str(info.value)  # the message names the file


def test_huge_header_refused_without_decoding(bad_files, monkeypatch):
    def must_not_decode(*args, **kwargs):
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(cv2, "imdecode", must_not_decode)
    monkeypatch.setattr(Image.Image, "load", must_not_decode)
    pillow_limit = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageError, match="exceeds the limit"):
        read_image(bad_files["huge_header"])
    assert Image.MAX_IMAGE_PIXELS == pillow_limit  # Pillow's global limit is put back


def test_max_pixels_limit(tmp_path, photo_rgb):
    path = tmp_path / "photo.png"
    write_image(path, photo_rgb)
    with pytest.raises(ImageError, match="64 x 48 = 0.003072 megapixels exceeds the limit of 0.003 megapixels"):
        read_image(path, max_pixels=3000)
    assert read_image(path, max_pixels=64 * 48).rgb.shape == photo_rgb.shape  # the limit is inclusive


def test_unsupported_format_refused(tmp_path, photo_rgb):
    path = tmp_path / "animation.gif"
    Image.fromarray(rgb_to_uint(photo_rgb, 8)).save(path)
    with pytest.raises(ImageError, match="GIF images are not supported"):
        read_image(path)


def test_reading_leaves_the_file_untouched(tmp_path, photo_rgb):
    path = tmp_path / "photo.jpg"
    write_image(path, photo_rgb)
    before, stat = path.read_bytes(), path.stat()
    read_image(path)
    assert path.read_bytes() == before and path.stat().st_mtime_ns == stat.st_mtime_ns


# --------------------------------------------------------------------------- writing


def test_unknown_extension_lists_supported(tmp_path, photo_rgb):
    with pytest.raises(ImageError, match=r"unknown output format '\.xyz'.*\.png.*\.tif.*\.webp") as info:
        write_image(tmp_path / "out.xyz", photo_rgb)
    assert info.value.path == str(tmp_path / "out.xyz")
    assert list(tmp_path.iterdir()) == []


def test_missing_output_folder(tmp_path, photo_rgb):
    with pytest.raises(ImageError, match="does not exist"):
        write_image(tmp_path / "no" / "such" / "out.png", photo_rgb)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_refused_then_overwritten(tmp_path, photo_rgb):
    path = tmp_path / "out.png"
    path.write_bytes(b"precious")
    for call in (lambda: check_output_path(path, False), lambda: write_image(path, photo_rgb)):
        with pytest.raises(ImageError, match=r"already exists \(use --overwrite to replace it\)"):
            call()
    assert path.read_bytes() == b"precious"

    assert check_output_path(path, True) == path
    write_image(path, photo_rgb, overwrite=True)
    assert np.abs(read_image(path).rgb - photo_rgb).max() <= 0.5 / 255 + 1e-6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_check_output_path_writes_nothing(tmp_path):
    assert check_output_path(tmp_path / "new.jpg", False) == tmp_path / "new.jpg"
    (tmp_path / "folder.png").mkdir()
    with pytest.raises(ImageError, match="is a directory"):
        check_output_path(tmp_path / "folder.png", True)
    assert [p.name for p in tmp_path.iterdir()] == ["folder.png"]


@pytest.mark.parametrize("failing", ["replace", "encode"])
def test_failed_write_leaves_nothing_behind(tmp_path, photo_rgb, monkeypatch, failing):
    path = tmp_path / "out.png"
    path.write_bytes(b"original")
    if failing == "replace":

        def disk_full(*args, **kwargs):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(image_io.os, "replace", disk_full)
        problem = "No space left on device"
    else:
        monkeypatch.setattr(cv2, "imencode", lambda *args, **kwargs: (False, None))
        problem = "cannot encode"
    with pytest.raises(ImageError, match=problem):
        write_image(path, photo_rgb, overwrite=True)
    assert path.read_bytes() == b"original"  # the original file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary file left


def test_written_file_honours_umask(tmp_path, photo_rgb):
    path = tmp_path / "out.jpg"
    write_image(path, photo_rgb)
    mask = os.umask(0o022)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # not the 0600 of a temp file


def test_rgb_to_uint_rounds_and_clips():
    values = np.array([-0.2, 0.0, 0.5, 0.999, 1.0, 1.3], np.float32)
    np.testing.assert_array_equal(rgb_to_uint(values, 8), [0, 0, 128, 255, 255, 255])
    np.testing.assert_array_equal(rgb_to_uint(values, 16), [0, 0, 32768, 65469, 65535, 65535])
    assert rgb_to_uint(values, 8).dtype == np.uint8 and rgb_to_uint(values, 16).dtype == np.uint16
    with pytest.raises(ValueError):
        rgb_to_uint(values, 12)


# --------------------------------------------------------------------------- demo images


def test_demo_pair_ships_and_loads():
    demo = os.path.join(os.path.dirname(exemplar.__file__), "demo")
    target = read_image(os.path.join(demo, "target.jpg"))
    reference = read_image(os.path.join(demo, "reference.jpg"))
    truth = read_image(os.path.join(demo, "target_truth.jpg"))
    assert target.is_grey and not reference.is_grey and not truth.is_grey
    assert target.rgb.shape == truth.rgb.shape
    assert max(target.rgb.shape[:2]) <= 512 and max(reference.rgb.shape[:2]) <= 512
    total = sum(os.path.getsize(os.path.join(demo, n)) for n in ("target.jpg", "reference.jpg", "target_truth.jpg"))
    assert total < 200_000
    assert os.path.exists(os.path.join(demo, "LICENSE.md"))


@pytest.mark.parametrize("ext", [".png", ".webp", ".tif"])
def test_exif_orientation_in_other_formats(tmp_path, photo_rgb, ext):
    path = tmp_path / f"turned{ext}"
    exif = Image.Exif()
    exif[0x0112] = 6  # camera held sideways: rotate 90 degrees clockwise to view
    Image.fromarray(rgb_to_uint(photo_rgb, 8)).save(path, exif=exif, lossless=True)
    loaded = read_image(path)
    assert np.abs(loaded.rgb - np.rot90(photo_rgb, k=-1)).max() <= 0.5 / 255 + 1e-6


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("bits", [8, 16])
def test_tiff_orientation_applied_exactly_once(tmp_path, photo_grey, orientation, bits):
    # OpenCV's TIFF decoder may orient the pixels itself; the result must be upright either way.
    path = tmp_path / f"scan{orientation}.tif"
    Image.fromarray(rgb_to_uint(photo_grey, bits)).save(path, tiffinfo={0x0112: orientation})
    loaded = read_image(path)
    expected = image_io._apply_orientation(photo_grey, orientation)  # checked against Pillow above
    assert loaded.bit_depth == bits and loaded.rgb.shape[:2] == expected.shape
    assert np.abs(loaded.rgb[..., 0] - expected).max() <= 0.5 / (2**bits - 1) + 1e-6


def test_truncated_jpeg_caught_even_if_opencv_fills_it_in(bad_files, monkeypatch):
    # OpenCV 4.x returns a grey-filled image for a truncated JPEG instead of failing.
    monkeypatch.setattr(cv2, "imdecode", lambda *args, **kwargs: np.full((96, 128, 3), 128, np.uint8))
    with pytest.raises(ImageError, match="corrupt or truncated"):
        read_image(bad_files["truncated_jpeg"])


def test_bigtiff_orientation(tmp_path, photo_grey):
    path = tmp_path / "big.tif"
    Image.fromarray(rgb_to_uint(photo_grey, 8)).save(path, tiffinfo={0x0112: 8}, big_tiff=True)
    assert path.read_bytes()[:4] == b"II+\x00"  # really a BigTIFF
    loaded = read_image(path)
    assert np.abs(loaded.rgb[..., 0] - np.rot90(photo_grey, k=1)).max() <= 0.5 / 255 + 1e-6


def test_write_refuses_integer_or_misshaped_pixels(tmp_path, photo_rgb):
    with pytest.raises(ValueError, match="float"):
        write_image(tmp_path / "out.png", rgb_to_uint(photo_rgb, 8))  # would come out all white
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        write_image(tmp_path / "out.png", photo_rgb[..., :2])
    with pytest.raises(ValueError, match="alpha shape"):
        write_image(tmp_path / "out.png", photo_rgb, alpha=np.ones((3, 3), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_read_refuses_other_sources():
    with pytest.raises(ImageError, match="expected a file path or a numpy array, got list"):
        read_image([[0.5] * 16] * 16)
