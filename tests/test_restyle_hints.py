"""``exemplar restyle --hint/--hints``: the hints hold in every style; a bad hint writes nothing."""

import json

import numpy as np
from click.testing import CliRunner

from exemplar.cli.main import main
from exemplar.core.color import rgb_to_lab
from test_hints_cli import _ab, grey  # noqa: F401 (grey is a fixture)

RED_AB = rgb_to_lab(np.float32([[[192, 57, 43]]]) / 255.0)[0, 0, 1:]


def test_restyle_hints_hold_in_every_style(grey, tmp_path, hinted_model, one_encoder):  # noqa: F811
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": "75%", "y": "50%", "colour": "khaki"}]))  # light: fits the bright half
    common = ["restyle", str(grey), "--weights", str(hinted_model), "--size", "96", "--out-dir", str(tmp_path),
              "--palette", "sepia", "--palette", "teal-orange@grade", "--sheet-height", "48"]
    result = CliRunner().invoke(main, common + ["--hint", "25%,50%=#c0392b", "--hints", str(hints)])
    assert result.exit_code == 0, result.output
    outputs = [tmp_path / "old_sepia.png", tmp_path / "old_teal-orange-grade.png"]
    khaki_ab = rgb_to_lab(np.float32([[[240, 230, 140]]]) / 255.0)[0, 0, 1:]
    for output in outputs:  # both hints, in each style
        assert np.abs(_ab(output, 48, 32) - RED_AB).max() < 10.0, output
        assert np.abs(_ab(output, 48, 96) - khaki_ab).max() < 10.0, output
    assert (tmp_path / "old_sheet.png").exists()


def test_restyle_bad_hints_exit_1_naming_the_hint_and_write_nothing(grey, tmp_path, hinted_model):  # noqa: F811
    out = tmp_path / "out"
    common = ["restyle", str(grey), "--weights", str(hinted_model), "--out-dir", str(out), "--palette", "sepia",
              "--palette", "autumn"]
    for args, problem in ((["--hint", "500,10=red"], "'500,10=red': x = 500 is outside the picture"),
                          (["--hint", "5,10=blurple"], "cannot read the colour 'blurple'"),
                          (["--hints", str(tmp_path / "missing.json")], "cannot read the hints file")):
        result = CliRunner().invoke(main, common + args)
        assert result.exit_code == 1 and problem in result.output, result.output
        assert result.output.count(problem) == 1  # said once, not once a style
        assert not list(out.glob("*"))
