"""Tests of exemplar.net: layers on hand-made inputs, model shapes and ranges, serialization."""

import keras
import numpy as np
import pytest

from exemplar.encoder import EfficientNetLite0
from exemplar.net import (
    ColorDistribution,
    GatedFusion,
    Gray2ColorNet,
    PatchDiscriminator,
    ResidualBlock,
    SemanticAssignment,
    SoftAbHistogram,
)

BINS = 21
CENTRES = np.linspace(-1.0, 1.0, BINS)


def _rand(*shape, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype("float32")


def _roundtrip(layer, input_shapes, tmp_path, call_kwargs=()):
    """Wrap ``layer`` in a functional model, save as .keras, reload; check config and outputs."""
    assert type(layer).from_config(layer.get_config()).get_config() == layer.get_config()
    inputs = [keras.Input(shape) for shape in input_shapes]
    positional = inputs[: len(inputs) - len(call_kwargs)]
    kwargs = dict(zip(call_kwargs, inputs[len(positional) :]))
    model = keras.Model(inputs, layer(*positional, **kwargs))
    path = tmp_path / "layer.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    data = [_rand(2, *shape, seed=i, low=0.0) for i, shape in enumerate(input_shapes)]
    for expected, got in zip(keras.tree.flatten(model(data)), keras.tree.flatten(loaded(data))):
        np.testing.assert_allclose(np.asarray(expected), np.asarray(got), atol=1e-6)
    return loaded


# --------------------------------------------------------------------------- SoftAbHistogram


def _bin(value):
    return int(np.argmin(np.abs(CENTRES - value)))


def test_histogram_one_colour_at_bin_centre():
    a, b = CENTRES[13], CENTRES[5]
    ab = np.broadcast_to(np.float32([a, b]), (2, 8, 8, 2))
    for sigma in (None, 0.05):
        hist = np.asarray(SoftAbHistogram(sigma=sigma)(ab))
        assert hist.shape == (2, BINS * BINS)
        np.testing.assert_allclose(hist.sum(axis=1), 1.0, atol=1e-5)
        assert np.all(np.argmax(hist, axis=1) == 13 * BINS + 5)
    bilinear = np.asarray(SoftAbHistogram()(ab))
    np.testing.assert_allclose(bilinear[:, 13 * BINS + 5], 1.0, atol=1e-5)  # all mass in that bin
    gaussian = np.asarray(SoftAbHistogram(sigma=0.05)(ab))
    assert np.all(gaussian[:, 13 * BINS + 5] > 0.5) and np.all(gaussian[:, 13 * BINS + 5] < 1.0)  # spread


def test_histogram_two_colours_half_half_and_in_between():
    ab = np.zeros((1, 4, 4, 2), np.float32)
    ab[:, :2] = [0.4, -0.3]
    ab[:, 2:] = [-0.7, 0.8]
    hist = np.asarray(SoftAbHistogram()(ab))[0]
    peaks = sorted(np.argsort(hist)[-2:])
    assert peaks == sorted([_bin(0.4) * BINS + _bin(-0.3), _bin(-0.7) * BINS + _bin(0.8)])
    np.testing.assert_allclose(hist[peaks], 0.5, atol=1e-5)
    # Halfway between two a-centres (0.0 and 0.1): split evenly between the two bins.
    hist = np.asarray(SoftAbHistogram()(np.full((1, 2, 2, 2), [0.05, 0.0], np.float32)))[0]
    np.testing.assert_allclose(hist[[10 * BINS + 10, 11 * BINS + 10]], 0.5, atol=1e-5)
    # Out of range values are clipped to the edge bins.
    hist = np.asarray(SoftAbHistogram()(np.full((1, 2, 2, 2), [3.0, -2.0], np.float32)))[0]
    np.testing.assert_allclose(hist[(BINS - 1) * BINS + 0], 1.0, atol=1e-5)


def test_histogram_pixel_weights_select_pixels():
    ab = np.zeros((1, 4, 4, 2), np.float32)
    ab[:, :1] = [0.5, 0.5]  # a quarter of the pixels
    weights = np.zeros((1, 4, 4), np.float32)
    weights[:, :1] = 1.0
    hist = np.asarray(SoftAbHistogram()(ab, weights=weights))[0]
    np.testing.assert_allclose(hist[_bin(0.5) * BINS + _bin(0.5)], 1.0, atol=1e-5)
    unweighted = np.asarray(SoftAbHistogram()(ab))[0]
    np.testing.assert_allclose(unweighted[_bin(0.5) * BINS + _bin(0.5)], 0.25, atol=1e-5)


def test_histogram_is_differentiable():
    import tensorflow as tf

    ab = tf.Variable(_rand(1, 4, 4, 2, seed=3, low=-0.9, high=0.9))
    target = np.zeros((1, BINS * BINS), np.float32)
    target[0, 0] = 1.0
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(SoftAbHistogram(sigma=0.05)(ab) - target))
    grad = tape.gradient(loss, ab)
    assert grad is not None and np.all(np.isfinite(grad)) and np.abs(grad).max() > 0


def test_histogram_rejects_bad_arguments():
    with pytest.raises(ValueError):
        SoftAbHistogram(bins=1)
    with pytest.raises(ValueError):
        SoftAbHistogram(sigma=0.0)


# --------------------------------------------------------------------------- other layers


def test_layers_roundtrip(tmp_path):
    _roundtrip(SoftAbHistogram(bins=5, sigma=0.1), [(4, 4, 2), (4, 4)], tmp_path, call_kwargs=("weights",))
    _roundtrip(SemanticAssignment(8, temperature=0.05, top_k=3), [(4, 4, 6), (2, 6, 6), (2, 6, 3)], tmp_path)
    _roundtrip(GatedFusion(6, gate_channels=4), [(4, 4, 5), (4, 4, 3), (7,), (1,)], tmp_path)
    _roundtrip(ColorDistribution(units=8), [(25,)], tmp_path)
    _roundtrip(ResidualBlock(groups=4), [(4, 4, 8)], tmp_path)


def test_semantic_assignment_any_reference_size():
    layer = SemanticAssignment(16, temperature=0.01, top_k=2)
    target = _rand(2, 4, 6, 10, seed=1)
    values = _rand(2, 5, 3, 4, seed=2)
    warped, sims = (np.asarray(t) for t in layer(target, _rand(2, 5, 3, 10, seed=3), values))
    assert warped.shape == (2, 4, 6, 4) and sims.shape == (2, 4, 6, 2)
    assert np.all(sims[..., 0] >= sims[..., 1] - 1e-6) and np.all(np.abs(sims) <= 1.0 + 1e-5)
    # A convex combination of reference values: within each image's value range.
    for i in range(2):
        assert values[i].min(axis=(0, 1)).min() - 1e-5 <= warped[i].min()
        assert warped[i].max() <= values[i].max() + 1e-5
    # Matching an image against itself: the best similarity is exactly 1.
    _, self_sims = layer(target, target, _rand(2, 4, 6, 4, seed=4))
    np.testing.assert_allclose(np.asarray(self_sims)[..., 0], 1.0, atol=1e-4)


def test_gated_fusion_mask_zero_is_pure_global():
    layer = GatedFusion(6)
    warped, sims, glob = _rand(2, 4, 4, 5, seed=1), _rand(2, 4, 4, 3, seed=2), _rand(2, 7, seed=3)
    off = np.zeros((2, 1), np.float32)
    fused = np.asarray(layer(warped, sims, glob, off))
    expected = np.asarray(layer.global_project(glob))[:, None, None, :]
    np.testing.assert_allclose(fused, np.broadcast_to(expected, fused.shape), atol=1e-5)
    np.testing.assert_allclose(np.asarray(layer(warped * 3.0, sims, glob, off)), fused, atol=1e-5)
    on = np.ones((2, 1), np.float32)
    assert np.abs(np.asarray(layer(warped, sims, glob, on)) - fused).max() > 1e-3
    gate = np.asarray(layer.gate(sims, on))
    assert gate.shape == (2, 4, 4, 1) and gate.min() >= 0.0 and gate.max() <= 1.0


# --------------------------------------------------------------------------- Gray2ColorNet


def _net_inputs(height, width, ref_height, ref_width, batch=2, mask=1.0, seed=0):
    return {
        "target_l": _rand(batch, height, width, 1, seed=seed),
        "reference_l": _rand(batch, ref_height, ref_width, 1, seed=seed + 1),
        "reference_ab": _rand(batch, ref_height, ref_width, 2, seed=seed + 2),
        "reference_hist": np.asarray(SoftAbHistogram()(_rand(batch, 8, 8, 2, seed=seed + 3))),
        "reference_mask": np.full((batch, 1), mask, np.float32),
    }


@pytest.fixture(scope="module")
def net():
    net = Gray2ColorNet(encoder=EfficientNetLite0(weights=None), num_classes=5, width=16)
    # The ab heads' corrections start at zero; give them random kernels so outputs vary.
    for i, name in enumerate(("ab", "ab_half", "ab_quarter")):
        kernel = net.get_layer(f"{name}_delta").kernel
        kernel.assign(np.random.default_rng(i).normal(0.0, 0.3, kernel.shape).astype("float32"))
    return net


def test_net_shapes_and_ranges_with_other_reference_size(net):
    outputs = {k: np.asarray(v) for k, v in net(_net_inputs(64, 64, 96, 64)).items()}
    assert outputs["ab"].shape == (2, 64, 64, 2)
    assert outputs["ab_half"].shape == (2, 32, 32, 2)
    assert outputs["ab_quarter"].shape == (2, 16, 16, 2)
    assert outputs["class_logits"].shape == (2, 5)
    for name in ("ab", "ab_half", "ab_quarter"):
        assert np.all(np.isfinite(outputs[name])) and np.abs(outputs[name]).max() <= 1.0
    # Non-square target, smaller reference.
    assert np.asarray(net(_net_inputs(32, 96, 32, 32))["ab"]).shape == (2, 32, 96, 2)


def test_net_reference_mask(net):
    # One batch (samples are independent): 0/1 differ only in reference_ab with mask 1; 2/3 the same
    # with mask 0; 4 is 2 with another histogram. Target 32x32, reference 64x32.
    one = _net_inputs(32, 32, 64, 32, batch=1)
    inputs = {k: np.concatenate([v] * 5) for k, v in one.items()}
    inputs["reference_ab"][[1, 3]] = _rand(2, 64, 32, 2, seed=9)
    inputs["reference_mask"][2:] = 0.0
    inputs["reference_hist"][4] = np.asarray(SoftAbHistogram()(_rand(1, 8, 8, 2, seed=7)))[0]
    outputs = {k: np.asarray(v) for k, v in net(inputs).items()}
    assert np.abs(outputs["ab"][0] - outputs["ab"][1]).max() > 1e-4  # the reference's colours count...
    for name in ("ab", "ab_half", "ab_quarter"):  # ...unless masked off: then only the histogram does
        np.testing.assert_allclose(outputs[name][2], outputs[name][3], atol=1e-6)
    assert np.abs(outputs["ab"][2] - outputs["ab"][4]).max() > 1e-5


def test_net_encoder_frozen_by_default(net):
    encoder_ids = {id(v) for v in net.encoder.weights}
    assert not encoder_ids & {id(v) for v in net.trainable_weights}
    assert len(net.trainable_weights) > 0


def test_net_saves_and_loads(net, tmp_path):
    path = tmp_path / "net.keras"
    net.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, Gray2ColorNet) and isinstance(loaded.encoder, EfficientNetLite0)
    assert loaded.get_config() == net.get_config()
    assert len(loaded.trainable_weights) == len(net.trainable_weights)  # encoder still frozen
    inputs = _net_inputs(32, 64, 64, 32)
    expected, got = net(inputs), loaded(inputs)
    assert set(got) == set(expected) == {"ab", "ab_half", "ab_quarter", "class_logits"}
    for name, value in expected.items():
        np.testing.assert_allclose(np.asarray(got[name]), np.asarray(value), atol=1e-5)


def test_net_default_size_fits_budget():
    net = Gray2ColorNet(encoder=EfficientNetLite0(weights=None), trainable_encoder=True)
    trainable = sum(int(np.prod(v.shape)) for v in net.trainable_weights)
    total = sum(int(np.prod(v.shape)) for v in net.weights)
    encoder = sum(int(np.prod(v.shape)) for v in net.encoder.trainable_weights)
    assert encoder > 0 and trainable > encoder  # trainable_encoder=True unfreezes the encoder...
    batch_norms = [layer for layer in net.encoder.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert batch_norms and not any(layer.trainable for layer in batch_norms)  # ...but not its BatchNorm
    assert trainable - encoder < 3_000_000  # the colorization part: a few million at most
    assert total * 4 < 25e6  # float32 weights file under 25 MB
    inputs = _net_inputs(32, 32, 32, 32, batch=1)
    inputs["reference_ab"] = np.broadcast_to(np.float32([0.3, -0.2]), (1, 32, 32, 2)).copy()
    outputs = net(inputs)
    assert set(outputs) == {"ab", "ab_half", "ab_quarter"}  # no class_logits without classes
    # Untrained, the net outputs the correspondence result: a one-colour reference warps to that
    # colour everywhere; without a reference (mask 0) the base is grey.
    for value in outputs.values():
        np.testing.assert_allclose(np.asarray(value)[..., 0], 0.3, atol=1e-5)
        np.testing.assert_allclose(np.asarray(value)[..., 1], -0.2, atol=1e-5)
    inputs["reference_mask"] = np.zeros((1, 1), np.float32)
    for value in net(inputs).values():
        np.testing.assert_array_equal(np.asarray(value), 0.0)


# --------------------------------------------------------------------------- PatchDiscriminator


@pytest.mark.parametrize("normalization", ["instance", "spectral"])
def test_patch_discriminator(normalization, tmp_path):
    disc = PatchDiscriminator(width=8, num_layers=3, normalization=normalization)
    image = _rand(2, 64, 32, 3)
    logits = np.asarray(disc(image))
    assert logits.shape == (2, 8, 4, 1) and np.all(np.isfinite(logits))
    path = tmp_path / "disc.keras"
    disc.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config() == disc.get_config()
    np.testing.assert_allclose(np.asarray(loaded(image)), logits, atol=1e-5)
    assert np.asarray(PatchDiscriminator(width=8, num_layers=2)(image)).shape == (2, 16, 8, 1)


def test_patch_discriminator_rejects_unknown_normalization():
    with pytest.raises(ValueError):
        PatchDiscriminator(normalization="batch")


def test_semantic_assignment_under_mixed_precision():
    # Features of size ~300: their sums of squares overflow float16 (max 65504) unless attention
    # runs in float32; then every norm is inf and all similarities collapse to 0.
    layer = SemanticAssignment(16, dtype="mixed_float16")
    target = _rand(1, 4, 4, 8, seed=1, low=-300.0, high=300.0)
    warped, sims = layer(target, target, _rand(1, 4, 4, 3, seed=3))
    assert warped.dtype == "float16" and np.all(np.isfinite(np.asarray(warped, np.float32)))
    np.testing.assert_allclose(np.asarray(sims, np.float32)[..., 0], 1.0, atol=1e-2)  # self-match
