"""Reading and writing photos so that real-world files survive: 8/16-bit, alpha, EXIF rotation.

Reading is done in two steps on purpose:
1. Pillow opens the file but reads only the header: format, size and EXIF orientation. Size
   limits are enforced here, BEFORE any pixel is decoded, so a 30000 x 30000 file (or a
   decompression bomb) is refused without allocating gigabytes.
2. OpenCV decodes the pixels with IMREAD_UNCHANGED, which keeps 16-bit samples and alpha
   (Pillow silently reduces 16-bit RGB to 8-bit). IMREAD_UNCHANGED ignores EXIF orientation
   (for TIFF we hide the tag so that it does), and we apply it ourselves with numpy.

Writing encodes in memory first and then replaces the target atomically, so a crash, a full
disk or a bad argument never leaves a half-written or clobbered output file.

Everything in exemplar past this module sees sRGB float32 in [0, 1]; integers exist only here.
"""

import contextlib
import os
import struct
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from exemplar.core.color import chroma, rgb_to_lab
from exemplar.core.errors import ImageError

DEFAULT_MAX_PIXELS = 200_000_000
MIN_SIDE = 8  # below this the encoder's downsampling leaves nothing to look at
GREY_CHROMA = 2.0  # mean Lab chroma below this = a black-and-white photo (JPEG noise is ~0.5)

# Pillow format name -> how we describe it; MPO is the multi-picture JPEG many phones write.
_READ_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "TIFF": "TIFF", "WEBP": "WebP", "BMP": "BMP"}
# File extension -> (format, can store 16-bit, can store alpha).
_WRITE_FORMATS = {
    ".jpg": ("JPEG", False, False),
    ".jpeg": ("JPEG", False, False),
    ".png": ("PNG", True, True),
    ".tif": ("TIFF", True, True),
    ".tiff": ("TIFF", True, True),
    ".webp": ("WebP", False, True),
    ".bmp": ("BMP", False, True),
}
_SUPPORTED = "JPEG, PNG, TIFF, WebP, BMP"


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image, already rotated upright according to its EXIF orientation."""

    rgb: np.ndarray  # (H, W, 3) float32 sRGB in [0, 1]; grey files have three equal channels
    alpha: np.ndarray | None  # (H, W) float32 in [0, 1], or None when the file has no alpha
    bit_depth: int  # 8 or 16: bits per sample in the source, so outputs can keep them
    is_grey: bool  # True for black-and-white photos (what the colorizer is for)
    path: str  # file path, or "<array>" for in-memory input


# --------------------------------------------------------------------------- reading


def read_image(source, *, max_pixels=DEFAULT_MAX_PIXELS):
    """Read a path (JPEG/PNG/TIFF/WebP/BMP) or a numpy array into a :class:`LoadedImage`.

    Arrays may be (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA; uint8, uint16 or float in [0, 1].
    Raises :class:`ImageError` naming the file and the problem for anything unusable.
    """
    if isinstance(source, np.ndarray):
        if source.ndim not in (2, 3):
            raise ImageError("<array>", f"array shape {source.shape} is not (H, W), (H, W, 3) or (H, W, 4)")
        _check_size("<array>", source.shape[1], source.shape[0], max_pixels)
        pixels, bit_depth = _array_pixels(source)
        return _loaded(pixels, bit_depth, "<array>")
    if not isinstance(source, (str, os.PathLike)):
        raise ImageError("<input>", f"expected a file path or a numpy array, got {type(source).__name__}")

    path = Path(source)
    fmt, width, height, orientation = _read_header(path)
    _check_size(path, width, height, max_pixels)
    if fmt == "JPEG":
        _check_jpeg_complete(path, width, height)
    try:
        data = np.fromfile(path, np.uint8)  # np.fromfile + imdecode also handles non-ASCII paths
    except OSError as e:
        raise ImageError(path, f"cannot be read: {e.strerror or e}") from e
    if fmt == "TIFF":
        orientation = _unset_tiff_orientation(data)
    pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)  # (H, W[, C]) BGR(A), uint8/uint16/float32
    if pixels is None:
        raise ImageError(path, f"the {fmt} pixel data cannot be decoded (the file is corrupt or truncated)")
    if pixels.shape[:2] not in ((height, width), (width, height)):  # Pillow pre-rotates TIFF sizes
        found = f"{pixels.shape[1]}x{pixels.shape[0]}"
        raise ImageError(path, f"header says {width}x{height} but the pixel data is {found}")
    pixels, bit_depth = _file_pixels(path, pixels)
    return _loaded(_apply_orientation(pixels, orientation), bit_depth, str(path))


def _read_header(path):
    """Open with Pillow (header only) -> (format, width, height, EXIF orientation 1..8)."""
    if not path.exists():
        raise ImageError(path, "file not found")
    if path.is_dir():
        raise ImageError(path, "is a directory, not an image file")
    try:
        if path.stat().st_size == 0:
            raise ImageError(path, "file is empty (0 bytes)")
        with _no_pillow_pixel_limit(), Image.open(path) as im:
            fmt, (width, height) = im.format, im.size
            # PNG getexif() decodes the whole image when the eXIf chunk is not before IDAT.
            has_exif = fmt != "PNG" or "exif" in im.info
            orientation = im.getexif().get(0x0112, 1) if has_exif else 1  # EXIF Orientation tag
    except ImageError:
        raise
    except Image.UnidentifiedImageError as e:
        raise ImageError(path, f"is not an image file Pillow recognises (supported: {_SUPPORTED})") from e
    except (OSError, SyntaxError, ValueError) as e:  # Pillow plugins raise all of these on bad headers
        raise ImageError(path, f"cannot read the image header: {e}") from e
    if fmt not in _READ_FORMATS:
        raise ImageError(path, f"{fmt} images are not supported (supported: {_SUPPORTED})")
    return _READ_FORMATS[fmt], width, height, orientation if orientation in range(1, 9) else 1


@contextlib.contextmanager
def _no_pillow_pixel_limit():
    # Pillow refuses > ~179 MP at open() ("decompression bomb") before we can read the size.
    # We enforce our own, configurable limit right after, so lift Pillow's just for the open.
    old = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = old


def _check_size(path, width, height, max_pixels):
    if min(width, height) < MIN_SIDE:
        raise ImageError(path, f"image is {width}x{height} pixels; at least {MIN_SIDE}x{MIN_SIDE} is needed")
    if width * height > max_pixels:
        raise ImageError(
            path,
            f"{width} x {height} = {width * height / 1e6:.4g} megapixels exceeds the limit of "
            f"{max_pixels / 1e6:g} megapixels (use --max-megapixels)",
        )


def _check_jpeg_complete(path, width, height):
    # OpenCV < 5 returns a grey-filled image for a truncated JPEG (only a libjpeg warning on
    # stderr). Pillow raises instead; draft() makes it decode at 1/8 scale, which still walks
    # the whole entropy-coded stream (so truncation is seen) but costs ~1/10 of a full decode.
    try:
        with _no_pillow_pixel_limit(), Image.open(path) as im:
            im.draft(im.mode, (max(1, width // 8), max(1, height // 8)))
            im.load()
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(path, f"the JPEG data is corrupt or truncated ({e})") from e


def _file_pixels(path, pixels):
    """OpenCV's BGR(A) uint8/uint16/float32 -> (RGB(A) or grey array in [0, 1], bit depth)."""
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim == 3 and pixels.shape[2] not in (3, 4):
        raise ImageError(path, f"{pixels.shape[2]} channels are not supported (grey, RGB or RGBA only)")
    # dtype -> (bit depth, scale to [0, 1]); float TIFFs keep as much precision as we can write.
    scales = {"uint8": (8, 1 / 255), "uint16": (16, 1 / 65535), "float32": (16, 1)}
    if pixels.dtype.name not in scales:
        raise ImageError(path, f"{pixels.dtype} samples are not supported (8-bit, 16-bit or float only)")
    bit_depth, scale = scales[pixels.dtype.name]
    if pixels.ndim == 3:  # BGR(A) -> RGB(A) while still integer: cheaper than on float
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB if pixels.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    pixels = pixels.astype(np.float32) * np.float32(scale)
    return (np.clip(pixels, 0.0, 1.0) if scale == 1 else pixels), bit_depth


def _array_pixels(array):
    """In-memory (H, W[, 1|3|4]) array -> (float32 array in [0, 1], bit depth)."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError("<array>", f"array shape {array.shape} is not (H, W), (H, W, 3) or (H, W, 4)")
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0, 8
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0, 16
    if np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float32)
        if not np.all(np.isfinite(array)):
            raise ImageError("<array>", "array contains NaN or infinite values")
        lo, hi = float(array.min()), float(array.max())
        if lo < -1e-3 or hi > 1.0 + 1e-3:  # tolerate rounding noise, refuse 0..255 floats
            raise ImageError("<array>", f"float values must be in [0, 1], found [{lo:g}, {hi:g}]")
        return np.clip(array, 0.0, 1.0), 16
    raise ImageError("<array>", f"dtype {array.dtype} is not supported (uint8, uint16 or float in [0, 1])")


def _apply_orientation(pixels, orientation):
    """Rotate/flip (H, W[, C]) pixels upright; same mapping as PIL.ImageOps.exif_transpose."""
    transforms = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],  # mirrored left-right
        3: lambda a: a[::-1, ::-1],  # rotated 180
        4: lambda a: a[::-1, :],  # mirrored top-bottom
        5: lambda a: a.swapaxes(0, 1),  # transposed
        6: lambda a: np.rot90(a, k=-1),  # camera turned: rotate 90 clockwise
        7: lambda a: a.swapaxes(0, 1)[::-1, ::-1],  # transversed
        8: lambda a: np.rot90(a, k=1),  # rotate 90 counter-clockwise
    }
    return np.ascontiguousarray(transforms[orientation](pixels))


def _unset_tiff_orientation(data):
    """Set the first IFD's Orientation tag to 1 in TIFF bytes (in place); -> the old value.

    Under IMREAD_UNCHANGED OpenCV leaves JPEG/PNG/WebP pixels as stored, but its TIFF decoder
    applies the Orientation tag itself (fully in OpenCV 5, partly in some 4.x versions). Hiding
    the tag makes every version return the stored pixels, which we then orient ourselves.
    """
    order = {b"II": "<", b"MM": ">"}.get(bytes(data[:2]))
    if order is None or len(data) < 16:
        return 1
    version = struct.unpack_from(order + "H", data, 2)[0]
    if version == 42:  # classic TIFF: 2-byte entry count, 12-byte entries, value at +8
        ifd, count_format, entry_size, value_at = struct.unpack_from(order + "I", data, 4)[0], "H", 12, 8
    elif version == 43:  # BigTIFF: 8-byte entry count, 20-byte entries, value at +12
        ifd, count_format, entry_size, value_at = struct.unpack_from(order + "Q", data, 8)[0], "Q", 20, 12
    else:
        return 1
    first = ifd + struct.calcsize(count_format)
    if first > len(data):
        return 1
    count = struct.unpack_from(order + count_format, data, ifd)[0]
    for entry in range(first, first + count * entry_size, entry_size):
        if entry + entry_size > len(data):
            break
        tag, kind = struct.unpack_from(order + "HH", data, entry)
        if tag == 0x0112 and kind == 3:  # Orientation, type SHORT
            orientation = struct.unpack_from(order + "H", data, entry + value_at)[0]
            struct.pack_into(order + "H", data, entry + value_at, 1)
            return orientation if orientation in range(1, 9) else 1
    return 1


def _loaded(pixels, bit_depth, path):
    """(H, W) grey or (H, W, 3|4) RGB(A) float32 in [0, 1] -> LoadedImage."""
    if pixels.ndim == 2:
        rgb, alpha, grey = np.repeat(pixels[..., None], 3, axis=2), None, True
    else:
        rgb = np.ascontiguousarray(pixels[..., :3])
        alpha = np.ascontiguousarray(pixels[..., 3]) if pixels.shape[2] == 4 else None
        grey = _looks_grey(rgb)
    return LoadedImage(rgb=rgb, alpha=alpha, bit_depth=bit_depth, is_grey=bool(grey), path=path)


def _looks_grey(rgb):
    # Scanned prints are often stored as RGB with a slight tint, so test mean chroma, not
    # channel equality. A strided ~256 px copy is enough and keeps 100 MP photos fast.
    step = max(1, max(rgb.shape[:2]) // 256)
    small = rgb[::step, ::step]
    return float(np.mean(chroma(rgb_to_lab(small)))) < GREY_CHROMA


# --------------------------------------------------------------------------- writing


def rgb_to_uint(rgb, bit_depth):
    """Float in [0, 1] -> uint8 (bit_depth 8) or uint16 (bit_depth 16), rounded and clipped."""
    if bit_depth not in (8, 16):
        raise ValueError(f"bit_depth must be 8 or 16, got {bit_depth}")
    top, dtype = (255.0, np.uint8) if bit_depth == 8 else (65535.0, np.uint16)
    return np.round(np.clip(np.asarray(rgb, np.float32), 0.0, 1.0) * top).astype(dtype)


def check_output_path(path, overwrite):
    """Check ``path`` can be written (format, folder, existing file) without writing; -> Path."""
    path = Path(path)
    if path.suffix.lower() not in _WRITE_FORMATS:
        exts = ", ".join(_WRITE_FORMATS)
        raise ImageError(path, f"unknown output format '{path.suffix}' (use one of {exts})")
    folder = path.parent
    if not folder.is_dir():
        raise ImageError(path, f"output folder {folder} does not exist")
    if path.is_dir():
        raise ImageError(path, "is a directory")
    if path.exists() and not overwrite:
        raise ImageError(path, "already exists (use --overwrite to replace it)")
    if not os.access(folder, os.W_OK):
        raise ImageError(path, f"output folder {folder} is not writable")
    return path


def write_image(path, rgb, *, alpha=None, bit_depth=8, overwrite=False):
    """Write (H, W, 3) (or (H, W) grey) float sRGB in [0, 1] to ``path``, atomically.

    The format comes from the extension. ``bit_depth=16`` is kept for PNG and TIFF and falls back
    to 8 for JPEG (quality 95), WebP (quality 95) and BMP. ``alpha`` (H, W) in [0, 1] is written
    where the format can hold it (not JPEG).
    """
    path = check_output_path(path, overwrite)
    fmt, can_16, can_alpha = _WRITE_FORMATS[path.suffix.lower()]
    rgb = np.asarray(rgb)
    if rgb.ndim not in (2, 3) or (rgb.ndim == 3 and rgb.shape[2] != 3):
        raise ValueError(f"rgb must be (H, W, 3) or (H, W), got {rgb.shape}")
    if not np.issubdtype(rgb.dtype, np.floating):  # a uint8 array would silently turn white
        raise ValueError(f"rgb must be float in [0, 1], got {rgb.dtype}")
    pixels = rgb[..., ::-1] if rgb.ndim == 3 else rgb  # RGB -> BGR for OpenCV
    if alpha is not None and can_alpha:
        alpha = np.asarray(alpha)
        if alpha.shape != rgb.shape[:2]:
            raise ValueError(f"alpha shape {alpha.shape} does not match the image {rgb.shape[:2]}")
        colour = pixels if pixels.ndim == 3 else np.repeat(pixels[..., None], 3, axis=2)
        pixels = np.concatenate([colour, alpha[..., None]], axis=2)  # (H, W, 4) BGRA
    encoded = _encode(path, rgb_to_uint(pixels, bit_depth if can_16 else 8), fmt)
    replace_atomically(path, encoded)


def _encode(path, pixels, fmt):
    params = {"JPEG": [cv2.IMWRITE_JPEG_QUALITY, 95], "WebP": [cv2.IMWRITE_WEBP_QUALITY, 95]}.get(fmt, [])
    try:
        ok, buffer = cv2.imencode(path.suffix.lower(), np.ascontiguousarray(pixels), params)
    except cv2.error as e:
        raise ImageError(path, f"cannot encode as {fmt}: {e}") from e
    if not ok:
        raise ImageError(path, f"cannot encode as {fmt}")
    return buffer.tobytes()


def replace_atomically(path, data):
    """Replace ``path`` (a Path) with the bytes ``data`` in one rename; ImageError naming it on failure."""
    # Write next to the target (same filesystem, so os.replace is an atomic rename), fsync so
    # the bytes are on disk before the rename, and never leave the temporary file behind.
    tmp_name = None
    try:
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as tmp:
            tmp_name = tmp.name
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.chmod(tmp_name, 0o666 & ~_umask())  # NamedTemporaryFile makes 0600 files
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as e:
        raise ImageError(path, f"cannot be written: {e.strerror or e}") from e
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def _umask():
    # The only portable way to read the umask is to set it and put it back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
