"""Tests of exemplar.model: layers on hand-made inputs, ColorNet shapes, modes and serialization."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from exemplar.model.ab_bins import AbBins
from exemplar.model.color_net_weights import load_color_net, save_color_net
from exemplar.model.color_distribution import ColorDistribution
from exemplar.model.color_net import ColorNet, Correspondence
from exemplar.model.gated_fusion import GatedFusion
from exemplar.model.patch_discriminator import PatchDiscriminator
from exemplar.model.residual_block import ResidualBlock
from exemplar.model.soft_ab_histogram import SoftAbHistogram
from exemplar.model.soft_encoding import SoftEncoding
from exemplar.model.upsample import Upsample
from exemplar.model.color_net import FEATURE_CHANNELS, decode_ab, mix

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
    _roundtrip(Correspondence(temperature=0.05, top_k=3), [(4, 4, 6), (2, 6, 6), (2, 6, 3)], tmp_path)
    _roundtrip(Upsample(4), [(3, 5, 2)], tmp_path)
    _roundtrip(SoftEncoding(), [(4, 4, 3)], tmp_path)
    _roundtrip(GatedFusion(6, gate_channels=4), [(4, 4, 5), (4, 4, 3), (7,), (1,)], tmp_path)
    _roundtrip(ColorDistribution(units=8), [(25,)], tmp_path)
    _roundtrip(ResidualBlock(groups=4), [(4, 4, 8)], tmp_path)


def test_correspondence_any_reference_size():
    layer = Correspondence(temperature=0.01, top_k=2)
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



def test_correspondence_constant_channels_same_outputs_gradient_only_where_needed():
    """Warping the constant leading channels by a product of their own changes no number; their
    gradient is cut (they are data), the rest's is unchanged."""
    import tensorflow as tf

    target, reference = _rand(2, 4, 4, 10, seed=1), _rand(2, 4, 4, 10, seed=2)
    values = tf.Variable(_rand(2, 4, 4, 7, seed=3))
    plain, split = Correspondence(top_k=2), Correspondence(top_k=2, constant_channels=3)
    results = []
    for layer in (plain, split):
        with tf.GradientTape() as tape:
            warped, sims = layer(target, reference, values)
            loss = tf.reduce_sum(warped * np.arange(7, dtype=np.float32))
        results.append((warped.numpy(), sims.numpy(), tape.gradient(loss, values).numpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(results[1][1], results[0][1])
    np.testing.assert_array_equal(results[1][2][..., :3], 0.0)
    np.testing.assert_allclose(results[1][2][..., 3:], results[0][2][..., 3:], rtol=1e-6, atol=1e-7)
    assert split.get_config()["constant_channels"] == 3

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


# --------------------------------------------------------------------------- Upsample, SoftEncoding


def test_upsample_is_bilinear_and_serves_any_size_from_one_graph():
    x = _rand(2, 3, 5, 4, seed=1)
    expected = keras.layers.UpSampling2D(2, interpolation="bilinear")(x)
    np.testing.assert_allclose(np.asarray(Upsample(2)(x)), np.asarray(expected), atol=1e-6)
    layer = Upsample(4)
    assert layer.compute_output_shape((2, None, 5, 4)) == (2, None, 20, 4)
    run = tf.function(layer, input_signature=[tf.TensorSpec((None, None, None, 4), tf.float32)])
    for shape in ((1, 3, 5, 4), (2, 6, 2, 4)):
        out = run(_rand(*shape))
        assert tuple(out.shape) == (shape[0], shape[1] * 4, shape[2] * 4, 4)
    assert run.experimental_get_tracing_count() == 1


def test_soft_encoding_layer_sums_to_one_and_passes_no_gradient():
    lab = _rand(2, 4, 4, 3, seed=2, low=-0.6, high=0.6)  # [L/50 - 1, a/110, b/110]
    encoded = np.asarray(SoftEncoding()(lab))
    assert encoded.shape == (2, 4, 4, AbBins().count)
    np.testing.assert_allclose(encoded.sum(-1), 1.0, atol=1e-5)
    # Only ab counts (the L channel is ignored), in Lab units = ab/110 * 110.
    np.testing.assert_allclose(np.asarray(SoftEncoding()(lab[..., 1:])), encoded, atol=1e-6)
    np.testing.assert_allclose(encoded, np.asarray(AbBins().soft_encode(lab[..., 1:] * 110.0)), atol=1e-6)
    variable = tf.Variable(lab)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(SoftEncoding()(variable) * np.arange(AbBins().count, dtype=np.float32))
    assert tape.gradient(total, variable) is None


# --------------------------------------------------------------------------- ColorNet

HIST_BINS = 5


def color_net_inputs(height, width, ref_height, ref_width, batch=2, seed=0, reference_mask=1.0, hist_mask=1.0):
    """Random ColorNet inputs for a (height, width) target and a (ref_height, ref_width) reference."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for level, channels in FEATURE_CHANNELS.items():
        stride = int(level[1:])
        inputs[f"target_{level}"] = rng.normal(size=(batch, height // stride, width // stride, channels))
        if level != "s4":
            inputs[f"reference_{level}"] = rng.normal(size=(batch, ref_height // stride, ref_width // stride, channels))
    inputs["target_l4"] = rng.uniform(-1, 1, (batch, height // 4, width // 4, 1))
    ref_l = rng.uniform(-1, 1, (batch, ref_height // 4, ref_width // 4, 1))
    inputs["reference_lab4"] = np.concatenate([ref_l, rng.uniform(-0.5, 0.5, ref_l.shape[:3] + (2,))], -1)
    hist = rng.uniform(0, 1, (batch, HIST_BINS**2)) ** 4
    inputs["reference_hist"] = hist / hist.sum(-1, keepdims=True)
    inputs["reference_mask"] = np.full((batch, 1), reference_mask)
    inputs["hist_mask"] = np.full((batch, 1), hist_mask)
    return {key: value.astype(np.float32) for key, value in inputs.items()}


def _numpy(outputs):
    return {key: np.asarray(value) for key, value in outputs.items()}


@pytest.fixture(scope="module")
def color_net():
    keras.utils.set_random_seed(0)
    return ColorNet(width=8, num_classes=3, hist_bins=HIST_BINS)


def test_color_net_output_shapes_and_ranges(color_net):
    outputs = _numpy(color_net(color_net_inputs(64, 96, 32, 64)))  # target and reference of other sizes
    q = AbBins().count
    assert outputs["prior_logits"].shape == (2, 16, 24, q)
    assert outputs["reference_probs"].shape == (2, 16, 24, q)
    assert outputs["gate"].shape == (2, 16, 24, 1)
    assert outputs["class_logits"].shape == (2, 3)
    assert all(np.all(np.isfinite(v)) for v in outputs.values())
    assert outputs["gate"].min() >= 0.0 and outputs["gate"].max() <= 1.0 and outputs["gate"].max() > 0.0
    np.testing.assert_allclose(outputs["reference_probs"].sum(-1), 1.0, atol=1e-4)
    assert set(ColorNet(width=8, hist_bins=HIST_BINS).output) == {"prior_logits", "reference_probs", "gate"}


def test_reference_probs_are_data_and_a_step_does_not_differentiate_them(color_net):
    """The warped reference distribution is no function of a weight (reference colours warped by fixed
    features): cut with stop_gradient, so a training step's tape no longer walks back through it (the
    slice of the warped values, its upsampling), where before it computed zeros only to drop them."""
    inputs = color_net_inputs(32, 32, 32, 32)
    weights = np.random.default_rng(5).uniform(size=AbBins().count).astype(np.float32)
    warped_net = keras.Model(color_net.input, color_net.get_layer("assign8").output)  # before the cut
    with tf.GradientTape(persistent=True) as tape:
        probs = color_net(inputs, training=True)["reference_probs"]
        warped, _ = warped_net(inputs, training=True)
        cut = tf.reduce_sum(probs * weights)
        uncut = tf.reduce_sum(warped[..., : AbBins().count] * weights)
    assert all(g is None for g in tape.gradient(cut, color_net.trainable_variables))
    # Without the cut the same channels give every weight a gradient of exactly zero: nothing is lost.
    assert all(g is None or not np.any(np.asarray(g)) for g in tape.gradient(uncut, color_net.trainable_variables))


def test_mix_rows_are_distributions_and_follow_overrides_the_gate(color_net):
    inputs = color_net_inputs(32, 64, 64, 32, batch=3)
    inputs["reference_mask"][2] = 0.0  # the last example has no reference
    outputs = _numpy(color_net(inputs))
    prior = np.asarray(keras.ops.softmax(outputs["prior_logits"], axis=-1))
    for follow in (None, 0.0, 0.5, 1.0):
        probs = np.asarray(mix(outputs, follow))
        assert probs.shape == outputs["prior_logits"].shape and probs.min() >= 0.0
        np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-4)
        np.testing.assert_allclose(probs[2], prior[2], atol=1e-6)  # no reference: the prior, whatever follow says
    np.testing.assert_allclose(np.asarray(mix(outputs, 1.0))[:2], outputs["reference_probs"][:2], atol=1e-6)
    np.testing.assert_allclose(np.asarray(mix(outputs, 0.0))[:2], prior[:2], atol=1e-6)
    # decode_ab: the gate's share of the reference's mean ab, the rest the prior's annealed mean.
    bins = AbBins()
    ab = np.asarray(decode_ab(outputs, bins, 0.38))
    gate = outputs["gate"]
    expected = gate * (outputs["reference_probs"] @ bins.centres) + (1 - gate) * np.asarray(bins.annealed_mean(prior, 0.38))
    assert ab.shape == gate.shape[:3] + (2,)
    np.testing.assert_allclose(ab, expected, atol=1e-3)


@pytest.mark.parametrize("mode", ["palette", "auto"])
def test_without_a_reference_the_gate_is_zero_and_the_reference_is_ignored(color_net, mode):
    hist_mask = 1.0 if mode == "palette" else 0.0
    inputs = color_net_inputs(32, 32, 32, 64, reference_mask=0.0, hist_mask=hist_mask)
    outputs = _numpy(color_net(inputs))
    np.testing.assert_array_equal(outputs["gate"], 0.0)
    other = color_net_inputs(32, 32, 32, 64, seed=5, reference_mask=0.0, hist_mask=hist_mask)
    changed = dict(inputs)  # another (dummy) reference image, same target and histogram
    for key in ("reference_s8", "reference_s16", "reference_s32", "reference_lab4"):
        changed[key] = other[key]
    if mode == "auto":
        changed["reference_hist"] = other["reference_hist"]  # automatic: not even the histogram counts
    again = _numpy(color_net(changed))
    for key in ("prior_logits", "gate"):
        np.testing.assert_allclose(again[key], outputs[key], atol=1e-5, err_msg=key)
    np.testing.assert_allclose(np.asarray(mix(again)), np.asarray(mix(outputs)), atol=1e-6)
    np.testing.assert_allclose(np.asarray(mix(again, 1.0)), np.asarray(mix(outputs, 1.0)), atol=1e-6)
    if mode == "palette":  # ...but the palette's histogram does
        changed["reference_hist"] = other["reference_hist"]
        assert np.abs(np.asarray(color_net(changed)["prior_logits"]) - outputs["prior_logits"]).max() > 1e-5


def test_with_a_reference_its_colours_count(color_net):
    inputs = color_net_inputs(32, 32, 32, 32)
    outputs = _numpy(color_net(inputs))
    changed = dict(inputs, reference_lab4=color_net_inputs(32, 32, 32, 32, seed=7)["reference_lab4"])
    again = _numpy(color_net(changed))
    assert np.abs(again["reference_probs"] - outputs["reference_probs"]).max() > 1e-3
    assert np.abs(np.asarray(mix(again)) - np.asarray(mix(outputs))).max() > 1e-4


def test_config_round_trip_and_saved_model_give_identical_outputs(color_net, tmp_path):
    config = color_net.get_config()
    assert {key: config[key] for key in ("width", "num_classes", "hist_bins", "temperature", "top_k")} == {
        "width": 8, "num_classes": 3, "hist_bins": HIST_BINS, "temperature": 0.01, "top_k": 4}
    clone = ColorNet.from_config(config)
    assert clone.get_config() == config
    assert [v.path for v in clone.weights] == [v.path for v in color_net.weights]
    clone.set_weights(color_net.get_weights())
    inputs = color_net_inputs(32, 64, 32, 32, seed=3)
    expected = _numpy(color_net(inputs))
    for key, value in _numpy(clone(inputs)).items():
        np.testing.assert_array_equal(value, expected[key], err_msg=key)

    save_color_net(color_net, tmp_path, info={"steps": 7})
    loaded, info = load_color_net(tmp_path)
    assert info == {"steps": 7} and isinstance(loaded, ColorNet) and loaded.get_config()["width"] == 8
    with np.load(tmp_path / "default.npz") as arrays:
        assert set(arrays.files) == {v.path for v in color_net.weights}  # the ColorNet only: no encoder weights
    for key, value in _numpy(loaded(inputs)).items():
        np.testing.assert_array_equal(value, expected[key], err_msg=key)


def test_one_traced_function_serves_two_sizes(color_net):
    spec = {key: tf.TensorSpec((None,) + tuple(t.shape[1:]), tf.float32) for key, t in color_net.input.items()}
    run = tf.function(lambda inputs: color_net(inputs, training=False), input_signature=[spec])
    for size, ref in (((32, 64), (32, 32)), ((64, 32), (64, 96))):
        inputs = color_net_inputs(*size, *ref, batch=1, seed=size[0])
        traced, eager = _numpy(run(inputs)), _numpy(color_net(inputs))
        assert traced["prior_logits"].shape[1:3] == (size[0] // 4, size[1] // 4)
        for key, value in eager.items():
            np.testing.assert_allclose(traced[key], value, atol=1e-4, err_msg=key)
    assert run.experimental_get_tracing_count() == 1


def test_default_head_size_fits_budget():
    color_net = ColorNet(num_classes=11)  # the shipped model's shape
    count = sum(int(np.prod(v.shape)) for v in color_net.weights)
    assert 100_000 < count < 3_000_000  # a few hundred thousand weights: the encoder does the seeing
    assert all(v.trainable for v in color_net.weights)


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
