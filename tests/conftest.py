"""Shared pytest fixtures: small generated images and files of every bad kind.

Everything is generated on the fly (no real photos in the repo or in tests).
"""

import importlib.util
import pathlib
import struct
import zlib

import cv2
import numpy as np
import pytest


def _smooth_photo(height, width, seed=0):
    """(H, W, 3) float32 in [0, 1]: colour gradients plus a few flat colour patches.

    Smooth content like a photo (so lossy codecs stay close) but every channel and every corner
    differs, so a wrong channel order or a missing rotation shows up in the pixels.
    """
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([x / (width - 1), y / (height - 1), 0.5 + 0.4 * np.sin(x / 7.0 + y / 11.0)], axis=-1)
    for _ in range(3):
        top, left = rng.integers(0, height // 2), rng.integers(0, width // 2)
        rgb[top : top + height // 4, left : left + width // 4] = rng.uniform(0.1, 0.9, size=3)
    return np.clip(rgb * 0.9 + 0.05, 0.0, 1.0).astype(np.float32)


@pytest.fixture
def write_class_photos():
    """``write(root, per_class=8)``: small colourful PNG photos in two class folders, forest/ and sea/,
    for tests that train from a photo folder."""
    from PIL import Image

    def write(root, per_class=8):
        rng = np.random.default_rng(1)
        y, x = np.mgrid[0:72, 0:80].astype(np.float32) / 72
        for c, name in enumerate(["forest", "sea"]):
            (root / name).mkdir(parents=True)
            for i in range(per_class):
                base = rng.uniform(0.25, 0.75, 3)
                waves = [0.3 * np.sin(3 * x + i), 0.3 * np.cos(4 * y + c), 0.2 * np.sin(x + y)]
                rgb = np.stack([base[k] + waves[k] for k in range(3)], -1)
                Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(root / name / f"{i}.png")

    return write


@pytest.fixture
def photo_rgb():
    """(48, 64, 3) float32 sRGB colour image in [0, 1]."""
    return _smooth_photo(48, 64)


@pytest.fixture
def photo_grey():
    """(48, 64) float32 grey image in [0, 1]."""
    return _smooth_photo(48, 64, seed=1).mean(axis=2)


def png_header_only(width, height):
    """Bytes of a tiny PNG whose header declares width x height but holds almost no data.

    Refusing it must happen from the header alone: decoding would need width*height bytes.
    """

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grey, no interlace
    idat = zlib.compress(b"\x00" * 64)  # a sliver of the first row
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def bad_files(tmp_path):
    """Dict kind -> Path of files read_image must refuse, written into tmp_path."""
    files = {"missing": tmp_path / "missing.jpg"}

    files["directory"] = tmp_path / "folder.png"
    files["directory"].mkdir()

    files["empty"] = tmp_path / "empty.jpg"
    files["empty"].write_bytes(b"")

    files["text_as_png"] = tmp_path / "notes.png"
    files["text_as_png"].write_text("these are my holiday notes, not a picture\n" * 20)

    ok, jpeg = cv2.imencode(".jpg", (_smooth_photo(96, 128) * 255).astype(np.uint8))
    assert ok
    files["truncated_jpeg"] = tmp_path / "truncated.jpg"
    files["truncated_jpeg"].write_bytes(jpeg.tobytes()[: len(jpeg) * 2 // 3])  # an interrupted copy

    ok, tiny = cv2.imencode(".png", np.full((1, 1, 3), 128, np.uint8))
    assert ok
    files["tiny"] = tmp_path / "tiny.png"
    files["tiny"].write_bytes(tiny.tobytes())

    files["huge_header"] = tmp_path / "huge.png"
    files["huge_header"].write_bytes(png_header_only(30000, 30000))
    return files


@pytest.fixture(scope="module")
def hinted_model(tmp_path_factory):
    """A tiny untrained ColorNet with the colour-hint input, saved as a --weights folder."""
    import keras

    from exemplar.model.color_net_weights import save_color_net
    from exemplar.model.color_net import ColorNet

    keras.utils.set_random_seed(3)
    folder = tmp_path_factory.mktemp("hinted_model")
    save_color_net(ColorNet(width=8, hist_bins=11, hints=True), folder)
    return folder


@pytest.fixture(scope="module")
def one_encoder():
    """Every command builds a Colorizer: let them share one random-init encoder (fast)."""
    from exemplar.model.encoder import EfficientNetLite0

    encoder = EfficientNetLite0(weights=None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("exemplar.model.encoder.EfficientNetLite0", lambda **kwargs: encoder)
        yield encoder


@pytest.fixture(scope="session")
def load_benchmark():
    """-> a function NAME -> benchmarks/NAME.py as a module (the benchmarks are scripts, not a package)."""

    def load(name):
        path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"{name}_benchmark", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
