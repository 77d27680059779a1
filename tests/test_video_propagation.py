"""``FlowPropagator`` on fine colour texture: carried colour stays on the frame's own grey edges."""

import numpy as np

from exemplar.video.flow_propagation import (FlowPropagator, apply_model, colour_agreement, colour_model, grey_confidence,
                                             with_grey)


def _stripes(t, width=96, height=64):
    """Frame t of fine stripes (6 px period) moving 0.4 px a frame: (h, w) L in [30, 90] and its
    truth (h, w, 2) ab, blue on the dark stripes and neutral on the light ones (colour tied to grey)."""
    x = np.arange(width, dtype=np.float32) + 0.4 * t
    y = np.arange(height, dtype=np.float32)[:, None]
    phase = np.sin(2 * np.pi * x / 6.0) + 0.3 * np.sin(2 * np.pi * y / 17.0)
    dark = np.clip(phase * 3, -1, 1) * 0.5 + 0.5  # (h, w) in [0, 1], sharp-edged
    l = (30 + 60 * dark).astype(np.float32)
    ab = np.stack([np.zeros_like(l), -40 * (1 - dark)], axis=2).astype(np.float32)
    return l, ab


def test_carried_colour_follows_each_frames_own_grey_edges():
    """The colorizer (here: the truth) runs on frames 0 and 8 only. Carrying ab itself resampled
    it at every frame and its stripes slid off the grey ones (mean error 4.4 ab between the
    keyframes); carrying the colour model A * L + B keeps them on this frame's L (0.13)."""
    propagator = FlowPropagator(keyframe_interval=8, new_content=1.0)
    out = {}
    for t in range(9):
        l, ab = _stripes(t)
        for colour, _, index, _ in propagator.push(l, lambda ab=ab: ab, t):
            out[index] = colour
    errors = [np.abs(out[t] - _stripes(t)[1])[8:-8, 8:-8].mean() for t in range(1, 8)]
    assert max(errors) < 1.0, errors


def test_colour_model_gives_back_the_colour_it_was_made_from():
    l, ab = _stripes(0)
    model = colour_model(l, ab)
    assert model.shape == (64, 96, 4)
    assert np.abs(apply_model(model, l) - ab)[1:-1, 1:-1].mean() < 0.5


def test_grey_confidence_trusts_colour_only_where_its_grey_arrived():
    """The L a colour was fitted on travels with it: where the frame's own L differs (other content
    arrived along a wrong flow), the carried colour is not trusted; resampled fine texture is."""
    rng = np.random.default_rng(0)
    l = np.full((40, 40), 50.0, np.float32)
    l[:, 20:] = 80.0  # right half: another object
    texture = l + rng.uniform(-3, 3, l.shape).astype(np.float32)  # the same content, texture resampled
    model = with_grey(colour_model(l, np.zeros(l.shape + (2,), np.float32)), l)
    assert model.shape == (40, 40, 5)
    assert np.allclose(apply_model(model, l), 0.0, atol=1e-3)
    assert grey_confidence(model, texture).min() > 0.8
    moved = np.full_like(l, 50.0)  # the right half's colour now sits on the left half's grey
    confidence = grey_confidence(model, moved)
    assert confidence[:, :15].min() > 0.99 and confidence[:, 25:].max() < 0.01


def test_colour_agreement_keeps_noise_averaged_and_a_changed_colour_fresh():
    """A keyframe keeps carried colour where it is the fresh colour give or take the colorizer's
    noise, not where the colorizer's colour of a region has changed by much more."""
    rng = np.random.default_rng(0)
    fresh = np.zeros((40, 40, 2), np.float32)
    carried = fresh + rng.normal(0, 1.5, fresh.shape).astype(np.float32)  # pixel noise: smoothed away
    carried[:, 20:, 1] += 12.0  # right half: the colour changed (b 12 units)
    agreement = colour_agreement(carried, fresh)
    assert agreement.shape == (40, 40) and agreement.dtype == np.float32
    assert agreement[:, :15].min() > 0.8 and agreement[:, 25:].max() < 0.01


def test_a_keyframe_keeps_carried_colour_only_where_it_agrees():
    """A still frame whose colorizer output moves at frame 8 by 2 ab units on the left half (noise) and
    by 30 on the right (a changed colour): the keyframe keeps 25% x exp(-(2/4)^2) = 19.5% of the carried
    colour on the left, none of the stale one on the right."""
    l = np.full((32, 48), 60.0, np.float32) + np.linspace(0, 10, 48, dtype=np.float32)
    first = np.zeros((32, 48, 2), np.float32)
    first[..., 1] = 10.0
    later = first.copy()
    later[:, :24, 1] = 8.0
    later[:, 24:, 1] = -20.0
    propagator = FlowPropagator(keyframe_interval=8, keep=0.25, new_content=1.0)
    out = {}
    for t in range(9):
        for colour, kind, index, _ in propagator.push(l, lambda t=t: first if t == 0 else later, t):
            out[index] = (colour, kind)
    colour, kind = out[8]
    assert kind == "key"
    assert np.abs(colour[4:-4, 4:18, 1] - (8.0 + 0.195 * 2.0)).max() < 0.05  # noise: averaged
    assert np.abs(colour[4:-4, 30:-4, 1] + 20.0).max() < 0.5  # the colorizer's new colour, not 25% of the old
