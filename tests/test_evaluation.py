import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from exemplar.evaluation import protocols as evaluation
from exemplar.core.color import lab_to_rgb, rgb_to_l, rgb_to_lab
from exemplar.cli.evaluate import evaluate as evaluate_command
from exemplar.core.errors import ExemplarError, ImageError


def _photo(hue_rgb, h=24, w=32):
    """A one-hue 'photo': the colour scaled by a left-right luminance ramp, uint8 (H, W, 3)."""
    ramp = np.linspace(0.25, 1.0, w, dtype=np.float32)[None, :, None]
    image = np.broadcast_to(np.asarray(hue_rgb, np.float32) * ramp, (h, w, 3))
    return (image * 255 + 0.5).astype(np.uint8)


def mean_ab_standin(grey, references, palette=None):
    """Stand-in colorizer: keep the target's L, paint the references' mean ab (or the palette's
    main colour) everywhere; with neither (automatic), a fixed warm colour."""
    l = rgb_to_l(np.repeat(grey[..., None], 3, axis=-1))  # (H, W), L in [0, 100]
    if palette is not None:
        ab = palette.lab[np.argmax(palette.weights), 1:]
    elif references:
        ab = np.mean([rgb_to_lab(r)[..., 1:].reshape(-1, 2).mean(0) for r in references], axis=0)  # (2,)
    else:
        ab = np.array([20.0, 30.0])
    lab = np.concatenate([l[..., None], np.broadcast_to(ab, l.shape + (2,))], axis=-1)
    return lab_to_rgb(lab)


@pytest.fixture
def pairs_csv(tmp_path):
    """Three generated PNG photos under tmp/images and a CSV in tmp/lists naming them relatively."""
    images = tmp_path / "images"
    images.mkdir()
    hues = {"red": [0.9, 0.2, 0.1], "green": [0.2, 0.8, 0.3], "blue": [0.2, 0.3, 0.9]}
    for name, hue in hues.items():
        Image.fromarray(_photo(hue)).save(images / f"{name}.png")
    lists = tmp_path / "lists"
    lists.mkdir()
    csv_path = lists / "pairs.csv"
    csv_path.write_text(
        "target,reference,kind\n"
        "../images/red.png,../images/green.png,warm\n"
        "../images/green.png,../images/blue.png,cool\n"
        f"{images / 'blue.png'},../images/red.png,cool\n"
    )
    return csv_path


def test_read_pairs_resolves_relative_and_absolute(pairs_csv):
    pairs = evaluation.read_pairs(pairs_csv)
    assert [p.kind for p in pairs] == ["warm", "cool", "cool"]
    assert all(p.target.is_file() and p.reference.is_file() for p in pairs)
    assert pairs[0].target.name == "red.png" and pairs[0].reference.name == "green.png"


def test_read_pairs_falls_back_to_parent_folder_and_default_kind(pairs_csv):
    # Paths relative to the folder above the CSV's, and no kind column.
    csv_path = pairs_csv.parent / "up.csv"
    csv_path.write_text("target,reference\nimages/red.png,\n")
    (pair,) = evaluation.read_pairs(csv_path)
    assert pair.target.name == "red.png" and pair.reference is None and pair.kind == "all"


def test_read_pairs_errors(pairs_csv):
    bad = pairs_csv.parent / "missing.csv"
    bad.write_text("target,reference\nimages/nope.png,images/red.png\n")
    with pytest.raises(ImageError, match="nope.png"):
        evaluation.read_pairs(bad)
    headerless = pairs_csv.parent / "headerless.csv"
    headerless.write_text("a.png,b.png\n")
    with pytest.raises(ExemplarError, match="header"):
        evaluation.read_pairs(headerless)


def test_read_rgb_rejects_non_image(tmp_path):
    path = tmp_path / "fake.png"
    path.write_text("not an image")
    with pytest.raises(ImageError, match="fake.png"):
        evaluation.read_rgb(path)


def test_self_reference_is_mirrored_centre_crop():
    truth = _photo([0.9, 0.2, 0.1], h=40, w=60).astype(np.float32) / 255
    ref = evaluation.self_reference(truth)
    assert ref.shape == (34, 51, 3)  # 85% of each side
    # The ramp gets brighter to the right; mirrored, the reference gets darker to the right.
    assert ref[:, 0].mean() > ref[:, -1].mean()
    np.testing.assert_array_equal(ref[:, 0], truth[3:37, 60 - 1 - 4])


def test_spread_keeps_ends_and_spacing():
    items = list(range(100))
    assert evaluation.spread(items, 5) == [0, 25, 50, 74, 99]
    assert evaluation.spread(items, None) == items
    assert evaluation.spread(items[:3], 10) == [0, 1, 2]


def test_grey_method_is_colourless_and_keeps_luminance(pairs_csv):
    pairs = evaluation.read_pairs(pairs_csv)
    method = evaluation.load_method("grey")
    row, output = evaluation.evaluate_pair(method, pairs[0])
    truth = evaluation.read_rgb(pairs[0].target)
    np.testing.assert_allclose(rgb_to_l(output), rgb_to_l(truth), atol=0.05)
    assert row["colourfulness"] == pytest.approx(0.0, abs=1e-4)
    assert row["colourfulness_truth"] > 20
    assert 5 < row["psnr"] < 40 and 0 < row["ssim"] < 1
    assert row["seconds"] >= 0


def test_standin_beats_grey_on_self_protocol(pairs_csv, tmp_path):
    pairs = evaluation.read_pairs(pairs_csv)
    grey_rows = evaluation.evaluate(pairs, evaluation.load_method("grey"), protocol="self")
    rows = evaluation.evaluate(pairs, mean_ab_standin, protocol="self", save_dir=tmp_path / "out")
    for grey_row, row in zip(grey_rows, rows):
        assert row["reference"] == "self"
        assert row["psnr"] > grey_row["psnr"] + 5
        assert row["hist_truth"] > grey_row["hist_truth"]
        assert row["colourfulness"] > grey_row["colourfulness"]
        saved = np.asarray(Image.open(row["output"]))
        assert saved.shape == (24, 32, 3)
    # With the csv protocol the reference has another hue: worse than with its own colours.
    csv_rows = evaluation.evaluate(pairs, mean_ab_standin, protocol="csv")
    assert np.mean([r["psnr"] for r in csv_rows]) < np.mean([r["psnr"] for r in rows])


def test_evaluate_rejects_bad_method_output_and_missing_reference(pairs_csv):
    pairs = evaluation.read_pairs(pairs_csv)
    with pytest.raises(ExemplarError, match="shape"):
        evaluation.evaluate_pair(lambda grey, refs, palette=None: np.zeros((4, 4, 3)), pairs[0])
    no_ref = evaluation.Pair(pairs[0].target, None, "x")
    with pytest.raises(ExemplarError, match="reference"):
        evaluation.evaluate_pair(evaluation.load_method("grey"), no_ref, protocol="csv")
    with pytest.raises(ExemplarError, match="method"):
        evaluation.load_method("magic")
    for protocol in ("palette", "palette:", "auto:sepia", "mirror"):
        with pytest.raises(ExemplarError, match="unknown protocol"):
            evaluation.evaluate_pair(evaluation.load_method("grey"), pairs[0], protocol=protocol)


def test_summarize_means_per_kind_and_all():
    rows = [
        {"kind": k, **{key: v for key in evaluation.METRIC_COLUMNS}}
        for k, v in [("a", 1.0), ("a", 3.0), ("b", 10.0)]
    ]
    summary = evaluation.summarize(rows)
    assert summary["a"]["n"] == 2 and summary["a"]["psnr"] == pytest.approx(2.0)
    assert summary["b"]["seconds"] == pytest.approx(10.0)
    assert summary["all"]["n"] == 3 and summary["all"]["ssim"] == pytest.approx(14.0 / 3)
    assert "all" not in evaluation.summarize(rows[:2])
    table = evaluation.summary_table(summary, markdown=True)
    assert table.splitlines()[0].startswith("| kind | n | PSNR dB")
    assert len(table.splitlines()) == 2 + 3


def test_cli_json(pairs_csv):
    result = CliRunner().invoke(evaluate_command, [str(pairs_csv), "--method", "grey", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["method"] == "grey" and report["protocol"] == "csv"
    assert set(report["summary"]) == {"warm", "cool", "all"}
    assert report["summary"]["cool"]["n"] == 2 and len(report["pairs"]) == 3
    assert report["summary"]["all"]["colourfulness"] == pytest.approx(0.0, abs=1e-4)


def test_cli_table_with_standin_and_limit(pairs_csv, monkeypatch):
    loaded = []

    def load_method(name, size=256, weights=None, follow_reference=False, vividness=None):
        loaded.append((name, size, weights, follow_reference))
        return mean_ab_standin

    monkeypatch.setattr(evaluation, "load_method", load_method)
    args = [str(pairs_csv), "--protocol", "self", "--limit", "2", "--weights", str(pairs_csv.parent), "--follow-reference"]
    result = CliRunner().invoke(evaluate_command, args)
    assert loaded == [("net", 256, str(pairs_csv.parent), True)]  # --weights and --follow-reference reach it
    assert result.exit_code == 0, result.output
    assert "2 pairs" in result.stdout and "PSNR dB" in result.stdout
    assert "warm" in result.stdout and "cool" in result.stdout


def test_cli_bad_csv_exits_with_message(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("target,reference\nmissing.png,other.png\n")
    result = CliRunner().invoke(evaluate_command, [str(bad), "--method", "grey"])
    assert result.exit_code == 1
    assert "missing.png" in result.output


def test_load_method_builds_one_colorizer_and_passes_grey_target(monkeypatch):
    import exemplar.pipeline.colorizer

    made = []

    class FakeColorizer:
        def __init__(self, method, size, weights=None, follow_reference=False, vividness=None):
            made.append((method, size, weights, follow_reference, vividness))

        def colorize(self, target, references=(), palette=None):
            assert target.ndim == 2  # luminance only
            calls.append((len(references), palette))
            return np.repeat(target[..., None], 3, axis=-1)

    calls = []
    monkeypatch.setattr(exemplar.pipeline.colorizer, "Colorizer", FakeColorizer)
    run = evaluation.load_method("net", size=128, weights="model_dir", follow_reference=True, vividness=0.3)
    grey = np.full((8, 8), 0.5, np.float32)
    for _ in range(2):
        assert run(grey, [np.zeros((8, 8, 3), np.float32)]).shape == (8, 8, 3)
    assert run(grey, [], palette="sepia").shape == (8, 8, 3)  # palettes reach the colorizer
    assert made == [("net", 128, "model_dir", True, 0.3)]  # one colorizer, built once
    assert calls == [(1, None), (1, None), (0, "sepia")]


def test_auto_protocol_gives_no_reference_and_no_palette(pairs_csv):
    pairs = evaluation.read_pairs(pairs_csv)[:2]
    seen = []

    def method(grey, references, palette=None):
        seen.append((grey.shape, len(references), palette))
        return mean_ab_standin(grey, references, palette)

    rows = evaluation.evaluate(pairs, method, protocol="auto")
    assert seen == [((24, 32), 0, None)] * 2  # the grey target alone
    for row in rows:
        assert row["reference"] == "none" and np.isnan(row["hist_ref"])  # nothing to compare with
        assert row["chroma"] > 20 and row["colourfulness"] > 5 and np.isfinite(row["hist_truth"])
        assert np.isnan(row["top1"])  # no classifier given
    grey_rows = evaluation.evaluate(pairs, evaluation.load_method("grey"), protocol="auto")
    assert all(row["chroma"] < 0.5 for row in grey_rows)
    summary = evaluation.summarize(rows)
    assert np.isnan(summary["all"]["hist_ref"]) and summary["all"]["chroma"] > 20
    assert "nan" in evaluation.summary_table(summary)  # shown, not dropped


def test_palette_protocol_passes_the_palette_and_scores_against_it(pairs_csv):
    from exemplar.methods.palette import Palette

    pairs = evaluation.read_pairs(pairs_csv)[:1]
    seen = []

    def method(grey, references, palette=None):
        seen.append((len(references), palette))
        return mean_ab_standin(grey, references, palette)

    (row,) = evaluation.evaluate(pairs, method, protocol="palette:teal-orange")
    (grey_row,) = evaluation.evaluate(pairs, evaluation.load_method("grey"), protocol="palette:teal-orange")
    assert len(seen) == 1 and seen[0][0] == 0 and isinstance(seen[0][1], Palette)
    assert row["reference"] == "palette:teal-orange"
    # hist∩ ref is the overlap with the palette's colours: its main colour overlaps them, grey not.
    assert 0.0 <= grey_row["hist_ref"] < row["hist_ref"] <= 1.0
    with pytest.raises(ExemplarError, match="palette"):
        evaluation.evaluate_pair(method, pairs[0], protocol="palette:no-such-palette")


def test_top1_column_comes_from_the_agreement_object(pairs_csv):
    class Agreement:  # stands in for ImageNetAgreement: agrees when the output has colour
        def agree(self, output, truth):
            assert output.shape == truth.shape
            return float(np.hypot(*np.moveaxis(rgb_to_lab(output)[..., 1:], -1, 0)).mean() > 5)

    pairs = evaluation.read_pairs(pairs_csv)
    coloured = evaluation.evaluate(pairs, mean_ab_standin, protocol="self", agreement=Agreement())
    grey = evaluation.evaluate(pairs, evaluation.load_method("grey"), protocol="self", agreement=Agreement())
    assert [r["top1"] for r in coloured] == [1.0] * 3 and [r["top1"] for r in grey] == [0.0] * 3
    assert evaluation.summarize(coloured)["all"]["top1"] == 1.0


def test_two_judges_give_a_column_each(pairs_csv):
    class Agreement:  # stands in for ImageNetAgreement: agrees when the output's chroma passes a threshold
        def __init__(self, threshold):
            self.threshold = threshold

        def agree(self, output, truth):
            return float(np.hypot(*np.moveaxis(rgb_to_lab(output)[..., 1:], -1, 0)).mean() > self.threshold)

    pairs = evaluation.read_pairs(pairs_csv)
    judges = {"lite2": Agreement(5.0), "lite0": Agreement(1e6)}  # the second never agrees
    rows = evaluation.evaluate(pairs, mean_ab_standin, protocol="self", agreement=judges)
    assert [(r["top1"], r["top1_lite2"], r["top1_lite0"]) for r in rows] == [(1.0, 1.0, 0.0)] * 3
    summary = evaluation.summarize(rows)["all"]
    assert (summary["top1"], summary["top1_lite2"], summary["top1_lite0"]) == (1.0, 1.0, 0.0)
    header, _, line = evaluation.summary_table({"net / self": summary}).splitlines()
    assert "top-1 lite2" in header and "top-1 lite0" in header and "top-1 agree" not in header
    assert header.index("top-1 lite2") < header.index("top-1 lite0") < header.index("hist∩ ref")
    assert "1.000" in line and "0.000" in line
    single = evaluation.summarize(evaluation.evaluate(pairs[:1], mean_ab_standin, protocol="self",
                                                      agreement=Agreement(5.0)))
    assert "top-1 agree" in evaluation.summary_table(single)  # one unnamed judge: the old column
    with pytest.raises(ExemplarError, match="judges"):
        evaluation.evaluate(pairs[:1], mean_ab_standin, protocol="self", agreement={})
