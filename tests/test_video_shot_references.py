"""A reference per shot (``exemplar video --reference-dir``): a generated two-shot film and a folder of
three references, the shots' own and an unrelated one; each shot picks its own, resume keeps the choice.

Frames are 96x64 (PNG folders), the colorizer ``match`` at working size 64, the cheapest that works.
"""

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from exemplar.cli.main import main
from exemplar.core.color import l_to_grey_rgb, rgb_to_l, rgb_to_lab
from exemplar.core.errors import ImageError

WIDTH, HEIGHT, SHOT = 96, 64, 10  # each shot 10 frames


def _scene_a():
    """(128, 192, 3) float32: a smooth warm texture (reds and oranges)."""
    noise = np.random.default_rng(1).uniform(0, 1, (128, 192)).astype(np.float32)
    t = cv2.GaussianBlur(noise, (0, 0), 7.0)
    t = (t - t.min()) / (t.max() - t.min())
    return np.stack([0.55 + 0.4 * t, 0.2 + 0.4 * t, 0.1 + 0.1 * t], axis=2)


def _scene_b():
    """(128, 192, 3) float32: blue-green discs on a vertical gradient."""
    y, x = np.mgrid[0:128, 0:192].astype(np.float32)
    rgb = np.stack([0.3 + 0 * x, 0.6 + 0.35 * y / 128, 0.95 - 0.2 * y / 128], axis=2)
    rng = np.random.default_rng(2)
    for _ in range(7):
        centre = tuple(int(v) for v in rng.integers(12, 180, 2))
        cv2.circle(rgb, centre, int(rng.integers(8, 18)), (0.2, float(rng.uniform(0.6, 0.95)), 0.55), -1)
    return rgb


def _scene_c():
    """An unrelated picture: a purple checkerboard."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    check = ((x // 12 + y // 12) % 2).astype(np.float32)
    return np.stack([0.3 + 0.5 * check, 0.1 + 0 * check, 0.4 + 0.5 * check], axis=2)


def _write(path, rgb):
    assert cv2.imwrite(str(path), np.round(np.clip(rgb, 0, 1)[..., ::-1] * 255).astype(np.uint8))
    return path


@pytest.fixture
def two_shots(tmp_path):
    """(film folder of grey frames, references folder): shot 1 pans over scene A, shot 2 over scene B;
    the references are a crop of each scene in colour and the unrelated checkerboard."""
    a, b = _scene_a(), _scene_b()
    frames = [a[t : t + HEIGHT, 3 * t : 3 * t + WIDTH] for t in range(SHOT)]
    frames += [b[20 : 20 + HEIGHT, 60 - 3 * t : 60 - 3 * t + WIDTH] for t in range(SHOT)]
    film = tmp_path / "film"
    film.mkdir()
    for i, frame in enumerate(frames):
        _write(film / f"frame_{i:03d}.png", np.repeat(l_to_grey_rgb(rgb_to_l(frame))[..., None], 3, axis=2))
    refs = tmp_path / "period_photos"
    refs.mkdir()
    _write(refs / "a.png", a[40 : 40 + HEIGHT, 60 : 60 + WIDTH])
    _write(refs / "b.png", b[40 : 40 + HEIGHT, 20 : 20 + WIDTH])
    _write(refs / "c.png", _scene_c())
    return film, refs


def _mean_ab(rgb_frames):
    return np.mean([rgb_to_lab(f.astype(np.float32) / 255)[..., 1:].reshape(-1, 2).mean(axis=0) for f in rgb_frames],
                   axis=0)


def test_each_shot_is_coloured_from_its_own_reference(two_shots, tmp_path):
    film, refs = two_shots
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["video", str(film), "--reference-dir", str(refs), "-o", str(out),
                                       "--method", "match", "--size", "64"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    shot_1 = next(line for line in lines if "shot 1: frames 0-9 " in line)
    shot_2 = next(line for line in lines if "shot 2: frames 10-19 " in line)
    assert shot_1.endswith("a.png") and shot_2.endswith("b.png"), result.output
    assert "2 shots" in result.output and "(1 cuts)" in result.output
    frames = [cv2.imread(str(p))[..., ::-1] for p in sorted(out.glob("*.png"))]
    assert len(frames) == 2 * SHOT
    ab_a, ab_b = (_mean_ab([cv2.imread(str(refs / n))[..., ::-1]]) for n in ("a.png", "b.png"))
    second = _mean_ab(frames[SHOT:])
    assert np.linalg.norm(second - ab_b) < np.linalg.norm(second - ab_a) / 2  # shot 2 is coloured like b
    first = _mean_ab(frames[:SHOT])
    assert np.linalg.norm(first - ab_a) < np.linalg.norm(first - ab_b) / 2


def test_a_list_of_references_overrides_and_extra_references(two_shots):
    """The Python entry point takes a list of references (paths or arrays) as well as a folder;
    --reference-at overrides the choice to the end of its shot, -r references join every shot's."""
    from exemplar.video.shot_references import plan_shots

    film, refs = two_shots
    b = cv2.imread(str(refs / "b.png"))[..., ::-1].astype(np.float32) / 255
    plan = plan_shots(film, [refs / "c.png", refs / "a.png", b], top_k=2)
    assert [(s.start, s.end) for s in plan.shots] == [(0, SHOT), (SHOT, 2 * SHOT)] and plan.starts == [SHOT]
    assert plan.shots[0].choices[0].name.endswith("a.png") and plan.shots[1].choices[0].name == "reference 3"
    assert len(plan.shots[0].choices) == 2 and plan.shots[0].choices[0].similarity > plan.shots[0].choices[1].similarity
    assert "shot 2: frames 10-19 (0:00.40-0:00.80)" in "\n".join(plan.lines())
    def label(image):
        return "array" if isinstance(image, np.ndarray) else Path(image).name

    second = [label(shot.choices[1].reference) for shot in plan.shots]
    pairs = plan.reference_at(references=["actor.jpg"], reference_at=[("3", "hall.jpg"), ("12", "x.jpg")])
    assert [(when, label(image)) for when, image in pairs] == [
        ("0", "a.png"), ("0", second[0]), ("0", "actor.jpg"), ("3", "hall.jpg"),
        ("10", "array"), ("10", second[1]), ("10", "actor.jpg"), ("12", "x.jpg")]
    with pytest.raises(ImageError, match="no colour"):
        plan_shots(film, [np.full((8, 8, 3), 0.5, np.float32)])


def test_the_jobs_own_cuts_are_the_shots_found_before(two_shots, tmp_path):
    """Without --reference-dir the job finds cuts as the frames come; they are the shot pass's."""
    from exemplar.pipeline.colorizer import Colorizer
    from exemplar.video.shot_references import scan_film
    from exemplar.video.video_colorizer import VideoColorizer, open_frames

    film, refs = two_shots
    starts, samples, count = scan_film(open_frames(film))
    assert starts == [0, SHOT] and samples == [] and count == 2 * SHOT
    result = VideoColorizer(Colorizer(method="match", size=64)).run(film, tmp_path / "out", [refs / "a.png"])
    assert result.cut_frames == (SHOT,) and result.cuts == 1


def test_resume_keeps_the_chosen_references_and_a_changed_folder_starts_afresh(two_shots, tmp_path):
    from exemplar.pipeline.colorizer import Colorizer, ExemplarWarning
    from exemplar.video.shot_references import plan_shots
    from exemplar.video.video_colorizer import VideoColorizer

    film, refs = two_shots
    colorizer = Colorizer(method="match", size=64)
    job = VideoColorizer(colorizer, keyframe_interval=4, segment_frames=5)
    out = tmp_path / "out"

    def run(plan, **options):
        return job.run(film, out, reference_at=plan.reference_at(), shots=plan.starts, **options)

    def killed_at_frame_13(done, total):
        if done == 13:
            raise KeyboardInterrupt

    plan = plan_shots(film, refs, encoder=colorizer.method.encoder)
    with pytest.raises(KeyboardInterrupt):
        run(plan, on_progress=killed_at_frame_13)
    job_file = (tmp_path / ".out.partial" / "job.json").read_text()
    assert str((refs / "b.png").resolve()) in job_file  # the choice is part of the job
    resumed = run(plan_shots(film, refs, encoder=colorizer.method.encoder), resume=True)
    assert resumed.resumed_at == 10 and resumed.frames == 2 * SHOT and resumed.cut_frames == (SHOT,)
    whole = job.run(film, tmp_path / "whole", reference_at=plan.reference_at(), shots=plan.starts)
    for a, b in zip(sorted((tmp_path / "whole").iterdir()), sorted(out.iterdir())):
        assert a.name == b.name and np.array_equal(cv2.imread(str(a)), cv2.imread(str(b)))

    import shutil

    shutil.rmtree(out)
    with pytest.raises(KeyboardInterrupt):
        run(plan, on_progress=killed_at_frame_13)
    (refs / "b.png").unlink()  # shot 2 now gets another reference: the killed run's frames are not reused
    replanned = plan_shots(film, refs, encoder=colorizer.method.encoder)
    assert not replanned.shots[1].choices[0].name.endswith("b.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ExemplarWarning)
        again = run(replanned, resume=True)
    assert again.resumed_at == 0 and any("starting afresh" in str(w.message) for w in caught)


def test_reference_dir_refusals(two_shots, tmp_path):
    film, refs = two_shots
    out = tmp_path / "out.mp4"
    result = CliRunner().invoke(main, ["video", str(film), "--reference-dir", str(refs), "--palette", "sepia",
                                       "-o", str(out), "--method", "match", "--size", "64"])
    assert result.exit_code == 2 and "not both" in result.output
    result = CliRunner().invoke(main, ["video", str(film), "--reference-dir", str(tmp_path / "missing"),
                                       "-o", str(out), "--method", "match", "--size", "64"])
    assert result.exit_code == 1 and "reference folder not found" in result.output and not out.exists()


def test_python_api_takes_a_list_to_choose_from(two_shots, tmp_path):
    """``exemplar.colorize_video(reference_dir=...)``: the entry point for several uploaded references."""
    import exemplar
    from exemplar.pipeline.colorizer import Colorizer

    film, refs = two_shots
    plans = []
    result = exemplar.colorize_video(film, tmp_path / "out", reference_dir=[refs / "c.png", refs / "b.png",
                                                                             refs / "a.png"],
                                     on_shots=plans.append, colorizer=Colorizer(method="match", size=64))
    assert result.frames == 2 * SHOT and result.cut_frames == (SHOT,)
    assert [Path(s.choices[0].name).name for s in plans[0].shots] == ["a.png", "b.png"]
