"""``exemplar restyle`` and the style options of ``exemplar colorize``, end to end on tiny files."""

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from exemplar.cli.main import main
from exemplar.core.color import chroma, l_to_grey_rgb, rgb_to_l, rgb_to_lab
from exemplar.core.contact_sheet import GAP, LABEL_HEIGHT, SheetPanel, contact_sheet

SIZE = ["--size", "64"]


def _texture(kind, height=64, width=96, seed=0):
    """(H, W) grey in [0, 1]: 'stripes' (bright, L ~ 65) or 'checks' (dark, L ~ 30), with noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == "stripes":
        grey = 0.62 + 0.12 * np.sin(y / 2.0)
    else:
        grey = 0.22 + 0.08 * np.sign(np.sin(x / 4.0) * np.sin(y / 4.0))
    return np.clip(grey + rng.normal(0, 0.02, grey.shape), 0, 1).astype(np.float32)


def _tinted(grey, hue):
    """Colour a grey texture with one hue (Lab a, b) at its own lightness: a single-coloured reference."""
    lab = np.dstack([rgb_to_l(np.repeat(grey[..., None], 3, axis=2)), np.full_like(grey, hue[0]), np.full_like(grey, hue[1])])
    from exemplar.core.color import lab_to_rgb

    return lab_to_rgb(lab)


def _write(path, rgb):
    pixels = np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)
    assert cv2.imwrite(str(path), pixels[..., ::-1] if pixels.ndim == 3 else pixels)
    return str(path)


def _read(path):
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return (pixels[..., ::-1] if pixels.ndim == 3 else pixels).astype(np.float32) / 255.0


RED, BLUE = (45.0, 30.0), (10.0, -45.0)


@pytest.fixture
def files(tmp_path):
    """A grey target (stripes on top, checks below) and two single-coloured references."""
    target = np.concatenate([_texture("stripes", 32), _texture("checks", 32, seed=1)])
    return {
        "target": _write(tmp_path / "target.png", target),
        "red": _write(tmp_path / "red.png", _tinted(_texture("stripes", seed=2), RED)),
        "blue": _write(tmp_path / "blue.png", _tinted(_texture("checks", seed=3), BLUE)),
        "out": tmp_path / "out",
    }


@pytest.fixture(scope="module", autouse=True)
def one_encoder():
    """Build the ImageNet encoder once for the module: every command invocation would reload it."""
    from exemplar.model.encoder import EfficientNetLite0

    encoder = EfficientNetLite0(weights="imagenet")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("exemplar.model.encoder.EfficientNetLite0", lambda **kwargs: encoder)
        yield encoder


def _invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def test_restyle_writes_one_output_per_style_and_a_sheet(files):
    result = _invoke("restyle", files["target"], "-r", files["red"], "--palette", "sepia", "--palette", "#ff0000 #0000ff:2",
                     "--palette-from", files["blue"], "--out-dir", files["out"], "--sheet-height", 48, *SIZE)
    assert result.exit_code == 0, result.output
    names = ["ref-red", "sepia", "ff0000-0000ff", "from-blue"]
    for name in names:
        output = _read(files["out"] / f"target_{name}.png")
        assert output.shape == (64, 96, 3)
        assert np.mean(chroma(rgb_to_lab(output))) > 5  # coloured
    sheet = _read(files["out"] / "target_sheet.png")
    panel_w = round(96 * 48 / 64)
    assert sheet.shape[1] == 5 * panel_w + 6 * GAP  # grey input + 4 styles
    assert sheet.shape[0] > 48 + LABEL_HEIGHT
    grey_panel = sheet[GAP : GAP + 48, GAP : GAP + panel_w]
    assert np.mean(chroma(rgb_to_lab(grey_panel))) < 1.0  # the grey input comes first
    assert sorted(p.name for p in files["out"].iterdir()) == sorted([f"target_{n}.png" for n in names] + ["target_sheet.png"])


def test_restyle_refuses_existing_outputs_unless_overwrite(files):
    args = ["restyle", files["target"], "--palette", "sepia", "--out-dir", files["out"], *SIZE]
    assert _invoke(*args).exit_code == 0
    before = (files["out"] / "target_sepia.png").stat().st_mtime_ns
    refused = _invoke(*args)
    assert refused.exit_code == 1
    assert "already exists (use --overwrite" in refused.output
    assert (files["out"] / "target_sepia.png").stat().st_mtime_ns == before
    assert _invoke(*args, "--palette", "autumn").exit_code == 1  # refused before any output is written
    assert not (files["out"] / "target_autumn.png").exists()
    assert _invoke(*args, "--overwrite").exit_code == 0
    assert (files["out"] / "target_sepia.png").stat().st_mtime_ns != before


def test_restyle_strength_zero_is_the_grey_input_and_one_is_full_colour(files):
    grey = l_to_grey_rgb(rgb_to_l(np.repeat(_read(files["target"])[..., None], 3, axis=2)))
    for strength in (0, 1):
        out = files["out"] / str(strength)
        result = _invoke("restyle", files["target"], "--palette", "autumn", "--strength", strength, "--out-dir", out, *SIZE)
        assert result.exit_code == 0, result.output
        rgb = _read(out / "target_autumn.png")
        if strength == 0:
            np.testing.assert_allclose(rgb, np.repeat(grey[..., None], 3, axis=2), atol=1.01 / 255)
        else:
            assert np.mean(chroma(rgb_to_lab(rgb))) > 15
            np.testing.assert_allclose(rgb_to_l(rgb), rgb_to_l(np.repeat(grey[..., None], 3, axis=2)), atol=0.6)


def test_restyle_needs_a_style_and_names_bad_palettes(files):
    result = _invoke("restyle", files["target"], "--out-dir", files["out"])
    assert result.exit_code == 2 and "give at least one style" in result.output
    result = _invoke("restyle", files["target"], "--palette", "#ff0000,#12345", "--out-dir", files["out"])
    assert result.exit_code == 1 and "bad palette colour '#12345'" in result.output


def test_two_single_coloured_references_both_give_colour(files, tmp_path):
    output = tmp_path / "both.png"
    result = _invoke("colorize", files["target"], "-r", files["red"], "-r", files["blue"], "-o", output, *SIZE)
    assert result.exit_code == 0, result.output
    lab = rgb_to_lab(_read(output))
    reddish = (lab[..., 1] > 10) & (lab[..., 2] > 5)
    bluish = lab[..., 2] < -15
    assert reddish.mean() > 0.1 and bluish.mean() > 0.1
    assert reddish[:32].mean() > bluish[:32].mean() and bluish[32:].mean() > reddish[32:].mean()  # by region

    only_red = tmp_path / "red_only.png"
    assert _invoke("colorize", files["target"], "-r", files["red"], "-o", only_red, *SIZE).exit_code == 0
    assert (rgb_to_lab(_read(only_red))[..., 2] < -15).mean() < 0.01  # blue came from the second reference


def test_colorize_with_a_palette_or_a_reference_folder(files, tmp_path):
    output = tmp_path / "palette.png"
    result = _invoke("colorize", files["target"], "--palette", "teal-orange", "-o", output, *SIZE)
    assert result.exit_code == 0, result.output
    assert np.mean(chroma(rgb_to_lab(_read(output)))) > 5
    assert _invoke("colorize", files["target"], "--palette", "sepia", "-r", files["red"], "-o", tmp_path / "x.png").exit_code == 2

    refs = tmp_path / "refs"
    refs.mkdir()
    for name in ("red", "blue"):
        (refs / f"{name}.png").write_bytes(open(files[name], "rb").read())
    output = tmp_path / "searched.png"
    result = _invoke("colorize", files["target"], "--reference-dir", refs, "--top-k", 1, "-o", output, *SIZE)
    assert result.exit_code == 0, result.output
    assert "references chosen from" in result.output
    chosen = [line.split() for line in result.output.splitlines() if line.startswith("  ")]
    assert len(chosen) == 1 and chosen[0][1].endswith(".png") and -1 <= float(chosen[0][0]) <= 1
    assert (refs / ".exemplar_index.npz").is_file()


def test_contact_sheet_resizes_panels_and_draws_labels_and_swatches():
    tall = np.full((100, 50, 3), 0.5, np.float32)
    wide = np.zeros((20, 80), np.float32)
    swatches = (np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]), np.array([0.25, 0.75]))
    sheet = contact_sheet([SheetPanel("tall", tall), SheetPanel("wide", wide, swatches)], height=40)
    assert sheet.shape[1] == 20 + 160 + 3 * GAP
    assert sheet.shape[0] > 40 + LABEL_HEIGHT
    below = sheet[GAP + 40 :]
    assert np.any(below[:, GAP : GAP + 20] < 0.5)  # the first label's ink
    swatch_row = below[4 + 6, GAP + 20 + GAP : GAP + 20 + GAP + 160]  # middle of the swatch bar
    assert np.allclose(swatch_row[:30], [1, 0, 0], atol=0.01) and np.allclose(swatch_row[50:], [0, 0, 1], atol=0.01)
    with pytest.raises(ValueError):
        contact_sheet([])


def test_restyle_refuses_an_unreadable_target_before_loading_models(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    result = _invoke("restyle", tmp_path / "notes.png", "--palette", "sepia", "--out-dir", tmp_path / "out")
    assert result.exit_code == 1 and "notes.png" in result.output and "not an image" in result.output
    assert not any((tmp_path / "out").iterdir())


def test_restyle_palette_modes_give_one_output_each_and_say_which(files):
    result = _invoke("restyle", files["target"], "--palette", "sepia", "--palette", "autumn@strict",
                     "--palette-mode", "semantic", "--palette-mode", "grade", "--out-dir", files["out"], *SIZE)
    assert result.exit_code == 0, result.output
    # each --palette-mode for sepia; autumn keeps its own @strict
    names = ["sepia", "sepia-grade", "autumn-strict"]
    outputs = {name: _read(files["out"] / f"target_{name}.png") for name in names}
    assert sorted(p.name for p in files["out"].iterdir()) == sorted([f"target_{n}.png" for n in names] + ["target_sheet.png"])
    assert np.abs(outputs["sepia"] - outputs["sepia-grade"]).max() > 0.02  # two different looks
    bad = _invoke("restyle", files["target"], "--palette", "sepia@loud", "--out-dir", files["out"], "--overwrite", *SIZE)
    assert bad.exit_code == 1 and "unknown palette mode 'loud'" in bad.output
