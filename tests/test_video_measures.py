"""The benchmark's video measures on tiny generated frames: CDC, warp error, flicker, cuts left out."""

import cv2
import numpy as np

from exemplar.video.measures import cdc, flicker, js_divergence, truth_flows, warp_error


def _frames(count=6, tint=(0, 0, 0), flick=0):
    """A smooth texture panning 1 px a frame, (48, 64, 3) uint8; ``flick`` adds to red on odd frames."""
    noise = np.random.default_rng(0).uniform(0, 1, (48, 80, 3)).astype(np.float32)
    texture = 40 + 160 * cv2.GaussianBlur(noise, (0, 0), 3.0) / 1.0
    frames = []
    for t in range(count):
        frame = texture[:, t : t + 64] + np.float32(tint)
        frame[..., 0] += flick * (t % 2)
        frames.append(np.clip(np.round(frame), 0, 255).astype(np.uint8))
    return frames


def test_js_divergence_bounds():
    p = np.zeros(256)
    p[10] = 1.0
    q = np.zeros(256)
    q[200] = 1.0
    assert js_divergence(p, p) == 0.0
    np.testing.assert_allclose(js_divergence(p, q), np.log(2))  # disjoint: the natural-log maximum


def test_steady_frames_score_low_and_flickering_ones_high():
    steady, flickering = _frames(), _frames(flick=30)
    flows = truth_flows(steady)
    assert cdc([steady[0]] * 6) == 0.0
    assert cdc(flickering) > 5 * cdc(steady)
    assert warp_error(flickering, flows) > 5 * warp_error(steady, flows)
    assert flicker(flickering, flows) > 5 * flicker(steady, flows)


def test_pairs_across_a_cut_are_left_out():
    frames = _frames(4) + _frames(4, tint=(60, -30, 0))  # a colour change at frame 4: a cut
    flows = truth_flows(frames)
    assert cdc(frames, cuts=[4]) < 0.5 * cdc(frames)
    assert warp_error(frames, flows, cuts=[4]) < 0.5 * warp_error(frames, flows)
