"""``exemplar batch --engine ray`` against the plain loop, on a small generated archive.

The archive has good rows and bad ones of every kind a scan archive has (a truncated JPEG, a text
file named .png, a missing file, a black-and-white reference). The Ray engine must write the same
images as the loop, report every bad row (row, file, reason) while writing all the others, exit 1,
and on a rerun skip what it finished. The Ray tests skip when the ``scale`` extra is not installed;
one Ray session (2 CPUs) is shared by the module, so each run only starts its workers.
"""

import importlib.util
import sys

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from exemplar.cli.main import main
from exemplar.core.color import rgb_to_lab
from exemplar.core.errors import ExemplarError
from exemplar.scale.report import read_report

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray Data (the 'scale' extra) is not installed: pip install \".[scale]\"",
)
GOOD = 6  # good rows: 2..7 in the CSV (the header is row 1)


def _photo(height, width, seed):
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    rgb = np.stack([x / width, y / height, 0.5 + 0.4 * np.sin(x / 7 + y / 11 + seed)], -1)
    return np.round(rgb * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """A folder of grey targets and colour references, and the CSV rows for them -> (folder, rows, bad)."""
    folder = tmp_path_factory.mktemp("archive")
    rows = []
    for i in range(GOOD):
        rgb = _photo(48 + 8 * i, 64, i)
        cv2.imwrite(str(folder / f"scan{i}.png"), rgb.mean(axis=2).astype(np.uint8))
        cv2.imwrite(str(folder / f"ref{i}.jpg"), rgb[:, ::-1])
        rows.append((f"scan{i}.png", f"ref{i}.jpg", f"scan{i}.png"))
    ok, jpeg = cv2.imencode(".jpg", _photo(64, 64, 9).mean(axis=2).astype(np.uint8))
    (folder / "truncated.jpg").write_bytes(jpeg.tobytes()[: len(jpeg) // 2])
    (folder / "notes.png").write_text("not a picture\n" * 10)
    cv2.imwrite(str(folder / "grey_ref.png"), _photo(48, 64, 7).mean(axis=2).astype(np.uint8))
    bad = {  # CSV row -> (file the report must name, words of its reason)
        8: ("truncated.jpg", "corrupt or truncated"),
        9: ("notes.png", "not an image"),
        10: ("missing.png", "not found"),
        11: ("grey_ref.png", "no colour"),
    }
    rows += [("truncated.jpg", "ref0.jpg", "t.png"), ("notes.png", "ref0.jpg", "n.png"),
             ("missing.png", "ref0.jpg", "m.png"), ("scan0.png", "grey_ref.png", "g.png")]
    return folder, rows, bad


def _csv(archive, out):
    """Write the archive's CSV with outputs in sub-folder ``out`` (created) -> CSV path."""
    folder, rows, _ = archive
    (folder / out).mkdir(exist_ok=True)
    path = folder / f"{out}.csv"
    path.write_text("target,reference,output\n" + "".join(f"{t},{r},{out}/{o}\n" for t, r, o in rows))
    return path


def _batch(*args):
    return CliRunner().invoke(main, ["batch", *map(str, args), "--method", "match", "--size", "64"])


@pytest.fixture(scope="module")
def loop_outputs(archive):
    """The plain loop's outputs (the reference the engine is held to) -> (folder, CliRunner result)."""
    result = _batch(_csv(archive, "loop"))
    return archive[0] / "loop", result


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    import logging

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()


def _same_image(ours, theirs):
    """8-bit outputs: at most 1 apart per channel, so L matches to rounding and ab within 1."""
    a, b = cv2.imread(str(ours)), cv2.imread(str(theirs))
    assert a is not None and b is not None and a.shape == b.shape
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1, (ours, theirs)
    lab_a, lab_b = rgb_to_lab(a[..., ::-1] / 255.0), rgb_to_lab(b[..., ::-1] / 255.0)
    assert np.abs(lab_a[..., 0] - lab_b[..., 0]).max() < 0.6
    assert np.abs(lab_a[..., 1:] - lab_b[..., 1:]).max() <= 1.0


def _check_report(report, bad):
    listed = read_report(report)
    assert [row for row, _, _ in listed] == sorted(bad)
    for row, file, reason in listed:
        name, words = bad[row]
        assert file.endswith(name) and words in reason, (row, file, reason)


def test_loop_reports_bad_rows_and_writes_the_rest(archive, loop_outputs):
    out, result = loop_outputs
    _, _, bad = archive
    assert result.exit_code == 1
    assert f"{GOOD} colorized, 0 skipped (output exists), {len(bad)} failed" in result.output
    assert all(f"error: row {row}:" in result.output for row in bad)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"scan{i}.png" for i in range(GOOD))


@needs_ray
def test_ray_engine_matches_the_loop_reports_failures_and_skips_on_rerun(archive, loop_outputs, ray_session):
    folder, _, bad = archive
    csv = _csv(archive, "ray")
    result = _batch(csv, "--engine", "ray", "--workers", "2")
    assert result.exit_code == 1, result.output  # rows failed: non-zero, after writing everything else
    assert f"{GOOD} colorized, 0 skipped (output exists), {len(bad)} failed" in result.output
    report = folder / "ray.report.csv"  # the default report beside the CSV
    _check_report(report, bad)
    for i in range(GOOD):
        _same_image(folder / "ray" / f"scan{i}.png", loop_outputs[0] / f"scan{i}.png")
    assert not list((folder / "ray").glob(".*"))  # no temporary files left behind

    mtimes = {p: p.stat().st_mtime_ns for p in (folder / "ray").iterdir()}
    report.unlink()
    again = _batch(csv, "--engine", "ray", "--workers", "1", "--report", folder / "again.csv")
    assert again.exit_code == 1
    assert f"0 colorized, {GOOD} skipped (output exists), {len(bad)} failed" in again.output
    assert {p: p.stat().st_mtime_ns for p in (folder / "ray").iterdir()} == mtimes
    _check_report(folder / "again.csv", bad)
    assert not report.exists()


@needs_ray
def test_ray_engine_on_a_folder_tree(archive, ray_session, tmp_path):
    folder, _, _ = archive
    tree = tmp_path / "scans"
    for i, sub in enumerate(["1920s", "1920s/box2", "1930s"]):
        (tree / sub).mkdir(parents=True)
        (tree / sub / f"p{i}.png").write_bytes((folder / f"scan{i}.png").read_bytes())
    (tree / "1930s" / "broken.jpg").write_bytes((folder / "truncated.jpg").read_bytes())
    out = tmp_path / "colour"
    result = _batch(tree, "--out-dir", out, "-r", folder / "ref0.jpg", "--engine", "ray", "--workers", "2")
    assert result.exit_code == 1 and "3 colorized" in result.output and "1 failed" in result.output
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png")) == [
        "1920s/box2/p1.png", "1920s/p0.png", "1930s/p2.png"]
    listed = read_report(out / "batch_report.csv")
    assert len(listed) == 1 and listed[0][1].endswith("broken.jpg") and "truncated" in listed[0][2]


@needs_ray
def test_rows_of_a_run_that_cannot_start_still_reach_the_report(archive, ray_session, tmp_path):
    folder, rows, _ = archive
    csv = _csv(archive, "nostart")
    args = ["batch", str(csv), "--engine", "ray", "--workers", "1", "--weights", str(tmp_path / "no_model")]
    result = CliRunner().invoke(main, args)  # every worker fails to load its model
    assert result.exit_code == 1 and "model file not found" in result.output
    listed = read_report(folder / "nostart.report.csv")
    assert [row for row, _, _ in listed] == list(range(2, 2 + len(rows)))
    assert all(reason.startswith("not run:") and "model file not found" in reason for _, _, reason in listed)


def test_loop_on_a_folder_tree_with_a_report(archive, tmp_path):
    folder, _, _ = archive
    tree = tmp_path / "scans"
    (tree / "a").mkdir(parents=True)
    (tree / "a" / "p.png").write_bytes((folder / "scan1.png").read_bytes())
    (tree / "b.png").write_text("garbage")
    out = tree / "colour"  # inside the tree: its files are never taken as inputs
    result = _batch(tree, "--out-dir", out, "-r", folder / "ref1.jpg", "--report", tmp_path / "r.csv")
    assert result.exit_code == 1 and "1 colorized, 0 skipped (output exists), 1 failed" in result.output
    assert (out / "a" / "p.png").exists() and not (out / "b.png").exists()
    assert [(row, file.endswith("b.png")) for row, file, _ in read_report(tmp_path / "r.csv")] == [(2, True)]
    again = _batch(tree, "--out-dir", out, "-r", folder / "ref1.jpg")
    assert "0 colorized, 1 skipped (output exists), 1 failed" in again.output


def test_options_that_do_not_fit_are_refused(archive, tmp_path):
    folder, _, _ = archive
    csv = _csv(archive, "refused")
    for args in ([folder], [csv, "--out-dir", tmp_path], [csv, "--workers", "2"], [folder, "--out-dir", tmp_path]):
        result = _batch(*args)
        assert result.exit_code == 2 and "Traceback" not in result.output, (args, result.output)
    assert not list((folder / "refused").iterdir())


def test_without_ray_the_engine_says_what_to_install(monkeypatch):
    from exemplar.scale.job import Job
    from exemplar.scale.ray_engine import RayEngine
    from exemplar.scale.runner import ColorizerSettings

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as when not installed
    with pytest.raises(ExemplarError, match=r"exemplar\[scale\]"):
        RayEngine(ColorizerSettings(), workers=1).run([Job(2, "a.png", (), "b.png")], print)
