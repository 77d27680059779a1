"""Colour hints on video (``exemplar video --hint X,Y=COLOUR``, ``--hints FILE``, ``--hint-at WHEN``):
the hint's point is followed from frame to frame, so the object it marks keeps the colour as it moves.

The network is a random-init hint-trained ColorNet (as in tests/test_hints_cli.py) on a shared
random-init encoder: what it does with a hint is not tested here, only that the hint reaches
every frame where its point moved (the spot is painted there exactly, as for photos).
"""

import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from exemplar.cli.main import main
from exemplar.core.color import rgb_to_lab
from exemplar.video.flow_propagation import track

WIDTH, HEIGHT, FRAMES, SPEED = 128, 96, 16, 3  # the square moves 3 px a frame
RED = (192, 57, 43)  # "#c0392b"; in the sRGB gamut at the square's grey (118)


def _frame(t):
    """(96, 128) uint8: a plain square (grey 118, 30 px) moving right over a gradient; its centre is
    at (25 + 3t, 45)."""
    grey = np.round(200 - 0.5 * np.arange(WIDTH, dtype=np.float32))[None].repeat(HEIGHT, axis=0)
    grey[30:60, 10 + SPEED * t : 40 + SPEED * t] = 118
    return grey.astype(np.uint8)


@pytest.fixture
def film(tmp_path):
    folder = tmp_path / "film"
    folder.mkdir()
    for t in range(FRAMES):
        cv2.imwrite(str(folder / f"{t:03d}.png"), _frame(t))
    return folder


def _run(film, out, model, *args):
    return CliRunner().invoke(main, ["video", str(film), "-o", str(out), "--weights", str(model), "--size", "96",
                                     *[str(a) for a in args]])


def _abs(folder):
    return [rgb_to_lab(cv2.imread(str(p))[..., ::-1].astype(np.float32) / 255)[..., 1:]
            for p in sorted(folder.glob("*.png"))]


def _off_hint(ab, t):
    """How far the colour around the square's centre on frame t is from the hint (the best pixel
    within 2 px: the point is followed to about a pixel)."""
    hint = rgb_to_lab(np.float32([[RED]]) / 255)[0, 0, 1:]
    x = 25 + SPEED * t
    return float(np.abs(ab[43:48, x - 2 : x + 3] - hint).max(axis=2).min())


def test_a_hint_follows_its_object(film, tmp_path, hinted_model, one_encoder):
    plain, hinted = tmp_path / "plain", tmp_path / "hinted"
    assert _run(film, plain, hinted_model).exit_code == 0
    result = _run(film, hinted, hinted_model, "--hint", "25,45=#c0392b")
    assert result.exit_code == 0, result.output
    plain_ab, hinted_ab = _abs(plain), _abs(hinted)
    assert len(hinted_ab) == FRAMES
    assert max(_off_hint(ab, t) for t, ab in enumerate(hinted_ab)) < 3.0  # every frame, keyframes or not
    assert min(_off_hint(ab, t) for t, ab in enumerate(plain_ab)) > 20.0  # the network alone does not
    for p, h in zip(plain_ab, hinted_ab):  # the background far from the square is as without the hint
        np.testing.assert_allclose(h[80:, 100:], p[80:, 100:], atol=3.0)


def test_hints_from_a_file_at_a_later_frame(film, tmp_path, hinted_model, one_encoder):
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps([{"x": 25 + SPEED * 6, "y": "47%", "colour": "#c0392b"}]))
    out = tmp_path / "out"
    result = _run(film, out, hinted_model, "--hints", hints, "--hint-at", 6)
    assert result.exit_code == 0, result.output
    off = [_off_hint(ab, t) for t, ab in enumerate(_abs(out))]
    assert max(off[6:]) < 3.0 and min(off[:4]) > 3.0  # from frame 6 on; the frames before only blend towards it


@pytest.mark.parametrize("args, problem", [
    (["--hint", "500,10=red"], "outside the picture"),
    (["--hint", "5,10=notacolour"], "cannot read the colour"),
    (["--hint", "5,10=red", "--hint-at", "99"], "past the film's end"),
    (["--hint", "5,10=red", "--hint-at", "soon"], "cannot read the time"),
])
def test_bad_hints_exit_1_naming_them_and_write_nothing(film, tmp_path, hinted_model, one_encoder, args, problem):
    out = tmp_path / "out.mp4"
    result = _run(film, out, hinted_model, *args)
    assert result.exit_code == 1 and problem in result.output, result.output
    assert not out.exists() and not list(tmp_path.glob(".out*"))


def test_hints_need_the_net_method(film, tmp_path):
    result = CliRunner().invoke(main, ["video", str(film), "--palette", "sepia", "--method", "match", "--size", "64",
                                       "--hint", "5,5=red", "-o", str(tmp_path / "out.mp4")])
    assert result.exit_code == 1 and "hints need --method net" in result.output


def test_resumed_run_with_hints_gives_the_frames_of_an_uninterrupted_one(film, tmp_path, hinted_model, one_encoder):
    """The points' positions are part of the saved state (a segment ends at frame 5, mid-film)."""
    from exemplar.pipeline.colorizer import Colorizer
    from exemplar.video.video_colorizer import VideoColorizer

    job = VideoColorizer(Colorizer(size=96, weights=hinted_model), keyframe_interval=4, segment_frames=5)
    hints = [(25, 45, "#c0392b")]

    def killed_at_frame_8(done, total):
        if done == 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        job.run(film, tmp_path / "resumed", hints=hints, on_progress=killed_at_frame_8)
    resumed = job.run(film, tmp_path / "resumed", hints=hints, resume=True)
    whole = job.run(film, tmp_path / "whole", hints=hints)
    assert resumed.resumed_at == 5 and whole.frames == resumed.frames == FRAMES
    for a, b in zip(sorted((tmp_path / "whole").iterdir()), sorted((tmp_path / "resumed").iterdir())):
        assert a.name == b.name and np.array_equal(cv2.imread(str(a)), cv2.imread(str(b)))


def test_points_are_tracked_and_lost_where_they_leave_or_are_hidden():
    """A textured patch moves 3 px a frame to the right: its point is followed to a pixel; a point
    on a patch that slides out of the picture is lost, and so is one a dark block covers."""
    rng = np.random.default_rng(0)
    patch = np.clip(120 + cv2.GaussianBlur(rng.uniform(-60, 60, (30, 30)), (0, 0), 2), 0, 255)

    def frame(t, block=False, left=10):
        grey = np.full((HEIGHT, WIDTH + 60), 190.0)
        grey[30:60, left + SPEED * t : left + 30 + SPEED * t] = patch
        if block:
            grey[20:70, 50:90] = 20
        return grey[:, :WIDTH].astype(np.uint8)

    points = [(25.0, 45.0), (25.0, 45.0)]
    for t in range(1, 20):
        points = [track(points[:1], frame(t - 1), frame(t))[0], points[1]]
    assert abs(points[0][0] - (25 + SPEED * 19)) < 1.0 and abs(points[0][1] - 45) < 1.0
    moved, path = [(95.0, 45.0)], []  # on a patch leaving at the right: lost before it is outside
    for t in range(1, 12):
        moved = track(moved, frame(t - 1, left=80), frame(t, left=80))
        path.append(moved[0])
    assert path[1] == pytest.approx((101.0, 45.0), abs=0.5) and path[-1] is None, path
    assert track([(60.0, 45.0)], frame(10), frame(11, block=True)) == [None]  # covered
    assert track([None], frame(0), frame(1)) == [None]
