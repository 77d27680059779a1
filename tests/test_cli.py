"""The CLI through click's CliRunner: outputs, refusals, batch reporting, instant --help."""

import subprocess
import sys

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from exemplar.cli.main import main
from exemplar.core.color import rgb_to_lab


@pytest.fixture
def pair(tmp_path, photo_rgb):
    """A grey target and a colour reference written as files; returns their paths."""
    target, reference = tmp_path / "old.png", tmp_path / "ref.jpg"
    cv2.imwrite(str(target), np.round(photo_rgb.mean(axis=2) * 255).astype(np.uint8))
    cv2.imwrite(str(reference), np.round(photo_rgb[:, ::-1, ::-1] * 255).astype(np.uint8))
    return target, reference


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny untrained ColorNet as a --weights folder, its prior uneven (vividness shows)."""
    import keras

    from exemplar.model.color_net_weights import save_color_net
    from exemplar.model.color_net import ColorNet

    keras.utils.set_random_seed(0)
    color_net = ColorNet(width=8, hist_bins=11)
    kernel = color_net.get_layer("prior_logits").kernel
    kernel.assign(np.random.default_rng(0).normal(0.0, 3.0, kernel.shape).astype(np.float32))
    folder = tmp_path_factory.mktemp("tiny_model")
    save_color_net(color_net, folder)
    return folder


@pytest.fixture(scope="module")
def one_encoder():
    """Every command invocation builds a Colorizer: let them share one ImageNet encoder."""
    from exemplar.model.encoder import EfficientNetLite0

    encoder = EfficientNetLite0(weights="imagenet")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("exemplar.model.encoder.EfficientNetLite0", lambda **kwargs: encoder)
        yield encoder


def test_help_does_not_import_tensorflow():
    code = "import sys; from exemplar.cli.main import main; assert 'tensorflow' not in sys.modules, 'tf imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
    # python -m exemplar is the same command line (for environments without the console script).
    listed = subprocess.run([sys.executable, "-m", "exemplar", "--help"], capture_output=True, text=True, check=True)
    assert "python -m exemplar" in listed.stdout and "colorize" in listed.stdout
    for command in ([], ["colorize"], ["batch"], ["demo"]):
        result = _run(*command, "--help")
        assert result.exit_code == 0 and "Usage" in result.output
    # A command's own --help (with the new --vividness option) imports no TensorFlow either.
    code = ("import sys; from exemplar.cli.main import main; main(['colorize', '--help'], standalone_mode=False); "
            "assert 'tensorflow' not in sys.modules, 'tf imported'")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--vividness" in shown.stdout and "automatically" in shown.stdout


def test_colorize_writes_and_refuses_to_overwrite(pair, tmp_path):
    target, reference = pair
    out = tmp_path / "out.png"
    result = _run("colorize", target, "-r", reference, "-o", out, "--size", 64)
    assert result.exit_code == 0, result.output
    written = cv2.imread(str(out))
    assert written.shape == (48, 64, 3)
    before = out.read_bytes()
    again = _run("colorize", target, "-r", reference, "-o", out, "--size", 64)
    assert again.exit_code != 0 and "already exists" in again.output
    assert out.read_bytes() == before
    assert _run("colorize", target, "-r", reference, "-o", out, "--size", 64, "--overwrite").exit_code == 0


@pytest.mark.parametrize("kind", ["missing", "empty", "text_as_png", "truncated_jpeg", "tiny", "huge_header"])
def test_bad_target_gives_clear_error_and_no_output(kind, bad_files, pair, tmp_path):
    _, reference = pair
    out = tmp_path / "out.png"
    result = _run("colorize", bad_files[kind], "-r", reference, "-o", out, "--size", 64)
    assert result.exit_code == 1
    assert str(bad_files[kind]) in result.output and "Traceback" not in result.output
    assert not out.exists() and not list(tmp_path.glob("*.tmp*"))


def test_grey_reference_is_refused(pair, tmp_path):
    target, _ = pair
    out = tmp_path / "out.png"
    result = _run("colorize", target, "-r", target, "-o", out, "--size", 64)
    assert result.exit_code == 1 and "no colour" in result.output and str(target) in result.output
    assert not out.exists()


def test_batch_keeps_going_and_reports_failed_rows(pair, tmp_path):
    target, reference = pair
    (tmp_path / "done.png").write_bytes(b"keep me")
    csv = tmp_path / "pairs.csv"
    csv.write_text(
        "target,reference,output\n"
        f"{target.name},{reference.name},a.png\n"  # relative to the CSV's folder
        f"nothing.png,{reference},b.png\n"  # missing target
        f"{target},{reference},done.png\n"  # output exists: skipped
    )
    result = _run("batch", csv, "--size", 64)
    assert result.exit_code == 1
    assert "1 colorized, 1 skipped" in result.output and "1 failed" in result.output
    assert "row 3" in result.output and "nothing.png" in result.output
    assert (tmp_path / "a.png").exists() and not (tmp_path / "b.png").exists()
    assert (tmp_path / "done.png").read_bytes() == b"keep me"


def test_colorize_without_references_is_automatic(pair, tmp_path, tiny_model, one_encoder):
    target, _ = pair
    outputs = {}
    for vividness in ("0", "0.9"):
        out = outputs[vividness] = tmp_path / f"auto_{vividness}.png"
        result = _run("colorize", target, "-o", out, "--size", 64, "--weights", tiny_model, "--vividness", vividness)
        assert result.exit_code == 0, result.output
        written = cv2.imread(str(out))
        assert written.shape == (48, 64, 3)
        grey = np.repeat(cv2.imread(str(target), cv2.IMREAD_GRAYSCALE)[..., None], 3, -1)
        written_l, grey_l = (rgb_to_lab(image[..., ::-1] / 255.0)[..., 0] for image in (written, grey))
        assert np.abs(written_l - grey_l).max() < 0.6  # the target's L (to 8-bit rounding)
    dull, vivid = (cv2.imread(str(outputs[v])) for v in ("0", "0.9"))
    chroma = [np.abs(cv2.cvtColor(image, cv2.COLOR_BGR2LAB)[..., 1:].astype(np.float32) - 128).mean()
              for image in (dull, vivid)]
    assert chroma[1] > chroma[0] + 1, chroma  # --vividness reaches the network


def test_out_of_range_vividness_is_refused_before_any_work(pair, tmp_path):
    target, reference = pair
    for bad in ("1", "-0.1", "lots"):
        out = tmp_path / "out.png"
        result = _run("colorize", target, "-r", reference, "-o", out, "--vividness", bad)
        assert result.exit_code == 2 and "--vividness" in result.output, result.output
        assert not out.exists()


def test_automatic_colorization_needs_the_net_method(pair, tmp_path, one_encoder):
    target, _ = pair
    out = tmp_path / "out.png"
    result = _run("colorize", target, "-o", out, "--size", 64, "--method", "match")
    assert result.exit_code == 1 and "--method net" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_batch_row_with_an_empty_reference_is_automatic(pair, tmp_path, tiny_model, one_encoder):
    target, reference = pair
    csv = tmp_path / "pairs.csv"
    csv.write_text(f"target,reference,output\n{target.name},,auto.png\n{target.name},{reference.name},ref.png\n")
    result = _run("batch", csv, "--size", 64, "--weights", tiny_model, "--vividness", "0.5")
    assert result.exit_code == 0, result.output
    assert "2 colorized, 0 skipped" in result.output and "0 failed" in result.output
    auto, ref = cv2.imread(str(tmp_path / "auto.png")), cv2.imread(str(tmp_path / "ref.png"))
    assert auto.shape == ref.shape == (48, 64, 3) and np.abs(auto.astype(int) - ref.astype(int)).max() > 2


def test_batch_rejects_a_csv_without_the_columns(tmp_path):
    csv = tmp_path / "pairs.csv"
    csv.write_text("image,output\na.png,b.png\n")
    result = _run("batch", csv)
    assert result.exit_code == 1 and "missing column(s) reference, target" in result.output


def test_demo_runs_offline(tmp_path):
    out = tmp_path / "demo.jpg"
    result = _run("demo", "-o", out, "--size", 128)
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(out)).shape == (300, 451, 3)


def test_every_command_defaults_to_the_library_default_method():
    from exemplar.pipeline.colorizer import DEFAULT_METHOD

    for name in ("colorize", "batch", "demo", "restyle", "evaluate"):
        option = next(p for p in main.commands[name].params if p.name == "method")
        assert option.default == DEFAULT_METHOD, name
