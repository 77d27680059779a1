"""Colour hints from the user's side: parsing (exemplar.methods.hints), the CLI's --hint / --hints, the
batch CSV's hints column, the Python API, and clear refusals that write nothing."""

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import exemplar
from exemplar.cli.main import main
from exemplar.core.color import rgb_to_lab
from exemplar.core.errors import ExemplarError
from exemplar.methods.hints import MAX_HINTS, Hint, check_hints, parse_hint, read_hints_file, resolve


def test_hints_parse_pixels_percentages_hex_and_css_names():
    hint = parse_hint("120,45=#c0392b")
    assert (hint.x, hint.y, hint.rgb) == (120.0, 45.0, (192, 57, 43))
    hint = parse_hint(" 42% , 30%=navy")
    assert (hint.x, hint.y, hint.rgb) == ("42.0%", "30.0%", (0, 0, 128))
    (x, y, ab), = resolve([parse_hint("0,99=red")], width=200, height=100)
    assert x == pytest.approx(0.5 / 200) and y == pytest.approx(99.5 / 100)
    np.testing.assert_allclose(ab, rgb_to_lab(np.float32([[[1, 0, 0]]]))[0, 0, 1:], atol=1e-3)
    assert check_hints([(10, "50%", (0, 128, 0))])[0].rgb == (0, 128, 0)


@pytest.mark.parametrize("text, problem", [
    ("120,45", "expected X,Y=COLOUR"),
    ("1,2,3=red", "expected X,Y=COLOUR"),
    ("ten,45=red", "not a pixel position"),
    ("10,45=#zzzzzz", "cannot read the colour"),
    ("10,45=blurple", "cannot read the colour"),
])
def test_malformed_hints_are_named(text, problem):
    with pytest.raises(ExemplarError, match=problem) as caught:
        parse_hint(text)
    assert text in str(caught.value)


def test_hints_outside_the_picture_and_too_many_are_refused():
    for text in ("200,10=red", "10,-1=red", "101%,5%=red"):
        with pytest.raises(ExemplarError, match="outside the picture") as caught:
            resolve([parse_hint(text)], width=200, height=100)
        assert text in str(caught.value)
    with pytest.raises(ExemplarError, match=f"at most {MAX_HINTS}"):
        check_hints([(1, 1, "red")] * (MAX_HINTS + 1))


def test_hints_file_forms_and_errors(tmp_path):
    good = tmp_path / "hints.json"
    good.write_text(json.dumps(["10,20=red", {"x": "50%", "y": 3, "colour": "#00ff00"}, {"x": 1, "y": 2, "color": "blue"}]))
    hints = read_hints_file(good)
    assert [h.rgb for h in hints] == [(255, 0, 0), (0, 255, 0), (0, 0, 255)] and isinstance(hints[1], Hint)
    for content, problem in (("{not json", "cannot read the hints file"), ('{"x": 1}', "a JSON list"),
                             ('[{"x": 1, "y": 2}]', "hint 1 needs x, y and colour"),
                             ('["1,2=red", "3,4=nocolour"]', "hint 2")):
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        with pytest.raises(ExemplarError, match=problem) as caught:
            read_hints_file(bad)
        assert str(bad) in str(caught.value)


@pytest.fixture
def grey(tmp_path):
    """A 96x128 grey photo: a flat mid-grey left half (L 49, where the hint colour below is in the
    sRGB gamut, so the written file can show it) and a bright right half."""
    image = np.full((96, 128), 118, np.uint8)
    image[:, 64:] = 230
    path = tmp_path / "old.png"
    cv2.imwrite(str(path), image)
    return path


def _ab(path, y, x):
    rgb = cv2.imread(str(path))[..., ::-1].astype(np.float32) / 255.0
    return rgb_to_lab(rgb)[y, x, 1:]


def test_colorize_with_hints_honours_them_and_keeps_the_other_region(grey, tmp_path, hinted_model, one_encoder):
    plain, hinted = tmp_path / "plain.png", tmp_path / "hinted.png"
    common = ["colorize", str(grey), "--weights", str(hinted_model), "--size", "96"]
    assert CliRunner().invoke(main, common + ["-o", str(plain)]).exit_code == 0
    result = CliRunner().invoke(main, common + ["-o", str(hinted), "--hint", "25%,50%=#c0392b"])
    assert result.exit_code == 0, result.output
    hint_ab = rgb_to_lab(np.float32([[[192, 57, 43]]]) / 255.0)[0, 0, 1:]
    assert np.abs(_ab(hinted, 48, 32) - hint_ab).max() < 10.0  # within 10 of the hint at its point
    np.testing.assert_allclose(_ab(hinted, 48, 112), _ab(plain, 48, 112), atol=3.0)  # the other region


@pytest.mark.parametrize("args, problem", [
    (["--hint", "500,10=red"], "outside the picture"),
    (["--hint", "5,10=notacolour"], "cannot read the colour"),
    (["--hints", "MISSING.json"], "cannot read the hints file"),
])
def test_bad_hints_exit_1_naming_the_hint_and_write_nothing(grey, tmp_path, hinted_model, one_encoder, args, problem):
    out = tmp_path / "out.png"
    args = [a.replace("MISSING.json", str(tmp_path / "missing.json")) for a in args]
    result = CliRunner().invoke(main, ["colorize", str(grey), "--weights", str(hinted_model), "-o", str(out)] + args)
    assert result.exit_code == 1 and problem in result.output
    assert not out.exists()


def test_hints_need_the_net_method(grey, tmp_path):
    result = CliRunner().invoke(main, ["colorize", str(grey), "--palette", "sepia", "--method", "match",
                                       "--hint", "5,5=red", "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 1 and "hints need --method net" in result.output


def test_batch_hints_column(grey, tmp_path, hinted_model, one_encoder):
    csv_path = tmp_path / "pairs.csv"
    csv_path.write_text("target,reference,output,hints\n"
                        f'{grey.name},,a.png,"32,48=#c0392b"\n'  # quoted: a hint holds a comma
                        f'{grey.name},,b.png,"999,1=red;5,5=blue"\n')
    result = CliRunner().invoke(main, ["batch", str(csv_path), "--weights", str(hinted_model), "--size", "96"])
    assert result.exit_code == 1  # row 3's hint is outside the picture
    assert (tmp_path / "a.png").exists() and not (tmp_path / "b.png").exists()
    assert "999,1=red" in result.output
    hint_ab = rgb_to_lab(np.float32([[[192, 57, 43]]]) / 255.0)[0, 0, 1:]
    assert np.abs(_ab(tmp_path / "a.png", 48, 32) - hint_ab).max() < 10.0


def test_python_api_takes_hints(grey, hinted_model, one_encoder):
    from exemplar.pipeline.colorizer import Colorizer

    colorizer = Colorizer(size=96, weights=hinted_model)
    out = exemplar.colorize(str(grey), hints=[(32, 48, "#c0392b")], colorizer=colorizer)
    ab = rgb_to_lab(out[..., :3].astype(np.float32) / 255.0)[48, 32, 1:]
    assert np.abs(ab - rgb_to_lab(np.float32([[[192, 57, 43]]]) / 255.0)[0, 0, 1:]).max() < 10.0
