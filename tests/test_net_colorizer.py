"""The ``net`` method: model files without the encoder, loading, and its three modes.

Most tests use a tiny ColorNet (width 8) saved as a model folder, with a random-init encoder
(EfficientNetLite0(weights=None)) or, through Colorizer, the ImageNet one built once per module.
The last test is about the model shipped in the package.
"""

import keras
import numpy as np
import pytest

from exemplar.core.color import rgb_to_lab
from exemplar.pipeline.colorizer import Colorizer
from exemplar.model.encoder import EfficientNetLite0
from exemplar.core.errors import ExemplarError
from exemplar.model.color_net_weights import load_color_net, save_color_net
from exemplar.model.color_net import ColorNet
from exemplar.methods import follow_gate
from exemplar.methods.net_colorizer import DEFAULT_VIVIDNESS, NetColorizer
from exemplar.methods.palette import parse_palette


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A tiny untrained ColorNet saved as a model folder, its prior made far from flat.

    The prior's 1x1 conv gets larger random kernels, so each pixel's colour distribution is broad
    but uneven: its mean (vividness 0) is near grey, its mode (vividness near 1) saturated.
    """
    keras.utils.set_random_seed(0)
    color_net = ColorNet(width=8, hist_bins=11)
    kernel = color_net.get_layer("prior_logits").kernel
    kernel.assign(np.random.default_rng(0).normal(0.0, 3.0, kernel.shape).astype(np.float32))
    folder = tmp_path_factory.mktemp("model")
    save_color_net(color_net, folder, info={"steps": 0})
    return folder


@pytest.fixture(scope="module")
def random_encoder():
    keras.utils.set_random_seed(1)
    return EfficientNetLite0(include_top=False, weights=None)


@pytest.fixture(scope="module")
def net(model_dir, random_encoder):
    return NetColorizer(model_dir, encoder=random_encoder)


@pytest.fixture(scope="module")
def imagenet_encoder():
    """Colorizer builds its own encoder: build the ImageNet one once for the module and hand it out."""
    encoder = EfficientNetLite0(weights="imagenet")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("exemplar.model.encoder.EfficientNetLite0", lambda **kwargs: encoder)
        yield encoder


def _target_l(height=48, width=64, seed=0):
    """(H, W) L in [0, 100] with structure (gradients and blocks), like a photo's luminance."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    l = 50 + 25 * np.sin(x / 6.0) * np.cos(y / 9.0)
    l[: height // 2, : width // 3] = 80.0
    return np.clip(l + rng.normal(0, 1.0, l.shape), 0, 100).astype(np.float32)


def _reference_lab(ab=(30.0, -20.0), height=40, width=56):
    l = _target_l(height, width, seed=2)
    return np.dstack([l, np.full_like(l, ab[0]), np.full_like(l, ab[1])]).astype(np.float32)


def _chroma(ab):
    return float(np.hypot(ab[..., 0], ab[..., 1]).mean())


# --------------------------------------------------------------------------- model files


def test_saved_model_has_only_the_head_and_loads_back(model_dir, random_encoder):
    loaded, info = load_color_net(model_dir)
    assert info == {"steps": 0} and loaded.width == 8 and loaded.hist_bins == 11
    with np.load(model_dir / "default.npz") as arrays:
        assert set(arrays.files) == {v.path for v in loaded.weights}
        assert not set(arrays.files) & {v.path for v in random_encoder.weights}  # encoder left out
        kernel = loaded.get_layer("prior_logits").kernel
        np.testing.assert_array_equal(kernel.numpy(), arrays[kernel.path])


def test_missing_or_mismatched_model_files_are_named(model_dir, tmp_path):
    with pytest.raises(ExemplarError, match="default.json: model file not found"):
        load_color_net(tmp_path)
    (tmp_path / "default.json").write_text((model_dir / "default.json").read_text().replace('"width": 8', '"width": 16'))
    (tmp_path / "default.npz").write_bytes((model_dir / "default.npz").read_bytes())
    with pytest.raises(ExemplarError, match="has shape"):
        load_color_net(tmp_path)
    (tmp_path / "default.json").write_text('{"model": {"width": 8}}')  # an older model's description
    with pytest.raises(ExemplarError, match="not a model description"):
        load_color_net(tmp_path)
    (tmp_path / "default.json").write_text((model_dir / "default.json").read_text())
    (tmp_path / "default.npz").write_bytes(b"not a zip file")
    with pytest.raises(ExemplarError, match="cannot read the weights"):
        load_color_net(tmp_path)
    whole = (model_dir / "default.npz").read_bytes()
    (tmp_path / "default.npz").write_bytes(whole[: len(whole) // 2])  # a copy cut off half-way
    with pytest.raises(ExemplarError, match="default.npz: cannot read the weights"):
        load_color_net(tmp_path)


# --------------------------------------------------------------------------- the three modes


def test_three_modes_give_ab_at_the_working_size(net):
    l = _target_l()
    reference = net.predict_ab(l, [_reference_lab(), _reference_lab((-20.0, 40.0), 64, 40)])  # two, side by side
    palette = net.predict_ab_palette(l, parse_palette("sepia"))
    auto = net.predict_ab_auto(l)
    for ab in (reference, palette, auto):
        assert ab.shape == (48, 64, 2) and ab.dtype == np.float32 and np.all(np.isfinite(ab))
        assert np.abs(ab).max() < 128.0
    assert _chroma(auto) > 1.0  # an untrained but uneven prior still gives colour
    np.testing.assert_array_equal(net.predict_ab_auto(l), auto)  # deterministic
    assert np.abs(reference - auto).max() > 1.0 and np.abs(palette - auto).max() > 1.0
    # A non-square target of another size runs through the same traced graphs.
    assert net.predict_ab_auto(_target_l(70, 40)).shape == (70, 40, 2)
    assert net._decode.experimental_get_tracing_count() == 1


def test_the_last_reference_is_reused_and_never_mixed_up(model_dir, random_encoder, monkeypatch):
    """A film's keyframes, or a batch with one reference, encode the reference once; another
    reference, or the same one for a target of another size, is not served the cached inputs."""
    first, second, l = _reference_lab((30.0, -20.0)), _reference_lab((-20.0, 40.0)), _target_l()
    fresh = lambda ref, target: NetColorizer(model_dir, encoder=random_encoder).predict_ab(target, [ref])  # noqa: E731
    expected = {(id(ref), target.shape): fresh(ref, target) for ref in (first, second) for target in (l, _target_l(96, 128))}
    net = NetColorizer(model_dir, encoder=random_encoder)
    encoded = []
    reference_inputs = net._reference_inputs
    monkeypatch.setattr(net, "_reference_inputs", lambda *a: encoded.append(1) or reference_inputs(*a))
    for ref, target in ((first, l), (first, l), (second, l), (first, l), (first, _target_l(96, 128)), (first, l)):
        np.testing.assert_array_equal(net.predict_ab(target, [ref]), expected[(id(ref), target.shape)])
    assert len(encoded) == 5  # the repeated call was served from the cache, each change re-encoded
    np.testing.assert_array_equal(net.predict_ab(l, [first.copy()]), expected[(id(first), l.shape)])  # same pixels
    assert len(encoded) == 5


def test_automatic_mode_greys_what_the_prior_is_unsure_of(model_dir, random_encoder, tmp_path):
    """A flat prior (entropy 1) gives grey in automatic mode only; a peaked one keeps its colour."""
    from exemplar.methods.net_colorizer import UNSURE_ENTROPY

    color_net, info = load_color_net(model_dir)
    layer = color_net.get_layer("prior_logits")
    layer.kernel.assign(np.zeros(layer.kernel.shape, np.float32))
    layer.bias.assign(np.zeros(layer.bias.shape, np.float32))  # uniform over all bins: entropy 1
    save_color_net(color_net, tmp_path / "flat", info=info)
    flat = NetColorizer(tmp_path / "flat", encoder=random_encoder)
    l = _target_l()
    assert np.abs(flat.predict_ab_auto(l)).max() < 0.5
    assert _chroma(flat.predict_ab(l, [_reference_lab((30.0, -20.0))])) > 10.0  # a reference still colours
    bias = np.full(layer.bias.shape, -10.0, np.float32)
    bias[int(np.argmax(np.hypot(*flat.bins.centres.T)))] = 10.0  # nearly all mass on the most saturated bin
    layer.bias.assign(bias)
    save_color_net(color_net, tmp_path / "peaked", info=info)
    peaked = NetColorizer(tmp_path / "peaked", encoder=random_encoder)
    assert UNSURE_ENTROPY[0] > 0.01 and _chroma(peaked.predict_ab_auto(l)) > 50.0


@pytest.mark.parametrize("mode", ["strict", "semantic", "grade"])
def test_palette_mode_uses_the_palettes_colours(net, mode):
    """Only the palette's hues: each pixel's ab is one of its colours, a blend of the two, or one of
    them desaturated (trimmed to the sRGB gamut at that pixel's L, or where no colour fits)."""
    palette = parse_palette("#c0392b #2980b9", mode=mode)  # red and blue
    ab = net.predict_ab_palette(_target_l(), palette)
    colours = palette.lab[:, 1:]  # (2, 2)
    steps = np.linspace(0, 1, 21)[:, None]
    hull = np.concatenate([steps * colours[0], steps * colours[1], steps * colours[0] + (1 - steps) * colours[1]])
    nearest = np.min(np.linalg.norm(ab.reshape(-1, 1, 2) - hull[None], axis=-1), axis=-1)
    assert np.percentile(nearest, 90) < 10.0
    assert np.hypot(ab[..., 0], ab[..., 1]).mean() > 5.0  # and it is coloured, not grey


def test_palette_mode_asks_the_automatic_prior_what_each_region_is(model_dir, random_encoder, monkeypatch):
    """The looks compare the palette's colours with what the network paints with no palette: the
    ColorNet's automatic prior (histogram off) for the same photo, run once for several palettes of one
    photo and again for another photo."""
    import exemplar.methods.palette_transport as transport

    net = NetColorizer(model_dir, encoder=random_encoder)
    given, runs = [], []
    assign, prior = transport.assign_palette, net._prior

    def keep(*args, own_prior=None, **kwargs):
        given.append((args[0], own_prior))
        return assign(*args, own_prior=own_prior, **kwargs)

    def counted_prior(inputs):
        out = np.asarray(prior(inputs))
        runs.append((float(inputs["hist_mask"][0, 0]), out))
        return out

    monkeypatch.setattr(transport, "assign_palette", keep)
    monkeypatch.setattr(net, "_prior", counted_prior)
    for l, name in ((_target_l(), "sepia"), (_target_l(), "summer"), (_target_l(seed=3), "sepia")):
        net.predict_ab_palette(l, parse_palette(name))
    assert [mask for mask, _ in runs] == [1.0, 0.0, 1.0, 1.0, 0.0]  # automatic: once for the first photo's two palettes
    automatic = [out for mask, out in runs if mask == 0.0]
    for (conditioned, own), expected in zip(given, (automatic[0], automatic[0], automatic[1])):
        np.testing.assert_array_equal(own, expected)
        assert np.abs(own - conditioned).max() > 1e-3  # the palette's histogram moves the prior
    assert np.abs(automatic[0] - automatic[1]).max() > 1e-4  # another photo, its own prior


def test_follow_reference_copies_a_one_colour_reference(model_dir, random_encoder):
    follow = NetColorizer(model_dir, follow_reference=True, encoder=random_encoder)
    ab = follow.predict_ab(_target_l(), [_reference_lab((30.0, -20.0))])
    np.testing.assert_allclose(ab.reshape(-1, 2).mean(0), [30.0, -20.0], atol=1.5)
    assert np.abs(ab - [30.0, -20.0]).max() < 5.0
    # Automatic mode has no reference to follow: the flag changes nothing there.
    np.testing.assert_allclose(follow.predict_ab_auto(_target_l()),
                               NetColorizer(model_dir, encoder=random_encoder).predict_ab_auto(_target_l()), atol=1e-4)


def test_default_follows_a_reference_that_is_the_scene_itself(net):
    """A confident match (the target's own colours) is copied whatever the learned gate says, and
    at 1/4 of the working size: two colours split inside every 1/8 cell both survive."""
    y, x = np.mgrid[0:64, 0:96]
    stripes = (x // 4) % 2 == 0  # 4-pixel stripes, lighter and darker: finer than a 1/8 cell (8 px)
    l = (_target_l(64, 96) * 0.5 + np.where(stripes, 45.0, 20.0)).astype(np.float32)
    ab = np.where(stripes[..., None], [40.0, 10.0], [-20.0, 30.0]).astype(np.float32)
    out = net.predict_ab(l, [np.dstack([l, ab])])
    assert out.shape == (64, 96, 2)
    inner = (slice(8, -8), slice(8, -8))  # away from the borders
    assert np.abs(out - ab)[inner].mean() < 6.0  # measured: 20 with the 1/8 warp, 14 with the learned gate alone
    contrast = out[inner][stripes[inner]].mean(0) - out[inner][~stripes[inner]].mean(0)
    np.testing.assert_allclose(contrast, [60.0, -20.0], atol=10.0)


def test_the_follow_band_is_read_at_every_call_without_a_new_trace(model_dir, random_encoder):
    """follow_confidence goes into the traced decode as an argument: a band below every cosine copies
    the one-colour reference everywhere (as follow_reference does); one above every cosine leaves the
    learned gate alone; setting it after the first call takes effect with the same trace."""
    colorizer = NetColorizer(model_dir, encoder=random_encoder)
    target, reference = _target_l(), [_reference_lab((30.0, -20.0))]
    colorizer.follow_confidence = (-2.0, -1.0)  # every match counts as confident
    always = colorizer.predict_ab(target, reference)
    colorizer.follow_confidence = (2.0, 3.0)  # none does: the learned gate of an untrained net
    colorizer.follow_weak = follow_gate.OFF  # nor any weaker match
    learned = colorizer.predict_ab(target, reference)
    colorizer.follow_weak = (-2.0, -1.0, -2.0, -1.0)  # every weaker match, where the prior finds the colour plausible
    weakly = colorizer.predict_ab(target, reference)
    assert colorizer._decode.experimental_get_tracing_count() == 1
    np.testing.assert_allclose(always.reshape(-1, 2).mean(0), [30.0, -20.0], atol=1.5)
    assert np.abs(learned.reshape(-1, 2).mean(0) - [30.0, -20.0]).max() > 5.0
    # An untrained prior is nearly flat: little of its mass is near the reference's colour, so the weaker band
    # moves the output a little towards it, not as far as the confident band's full copy.
    gap = [np.abs(out.reshape(-1, 2).mean(0) - [30.0, -20.0]).max() for out in (always, weakly, learned)]
    assert gap[0] < gap[1] < gap[2], gap  # measured: 0.0, 15.4, 16.1
    follow = NetColorizer(model_dir, follow_reference=True, encoder=random_encoder).predict_ab(target, reference)
    np.testing.assert_allclose(always, follow, atol=1.0)


def test_vividness_raises_chroma_and_is_range_checked(model_dir, random_encoder):
    l = _target_l()
    chroma = [_chroma(NetColorizer(model_dir, vividness=v, encoder=random_encoder).predict_ab_auto(l))
              for v in (0.0, DEFAULT_VIVIDNESS, 0.9)]
    assert chroma[0] < chroma[1] < chroma[2], chroma  # mean of the distribution -> towards its mode
    assert chroma[2] > chroma[0] + 5.0
    for bad in (-0.1, 1.0, 1.5):
        with pytest.raises(ExemplarError, match="vividness"):
            NetColorizer(model_dir, vividness=bad, encoder=random_encoder)
    assert DEFAULT_VIVIDNESS == pytest.approx(0.62)


def test_colorizer_runs_every_mode_and_keeps_luminance(model_dir, imagenet_encoder, photo_grey, photo_rgb):
    colorizer = Colorizer(method="net", size=64, weights=model_dir)
    assert colorizer.method.encoder is imagenet_encoder  # shared with reference search
    grey_l = rgb_to_lab(np.repeat(photo_grey[..., None], 3, -1))[..., 0]
    outputs = {
        "reference": colorizer.colorize(photo_grey, [photo_rgb, photo_rgb[::-1]]),
        "palette": colorizer.colorize(photo_grey, palette="sepia"),
        "auto": colorizer.colorize(photo_grey),
    }
    for mode, out in outputs.items():
        assert out.shape == (48, 64, 3) and np.all(np.isfinite(out)), mode
        lab = rgb_to_lab(out)
        assert np.abs(lab[..., 0] - grey_l).max() < 0.1, mode  # the input's L, exactly
        assert _chroma(lab[..., 1:]) > 1.0, mode
    assert np.abs(outputs["auto"] - outputs["reference"]).max() > 0.01
    # Vividness reaches the method; out of range is refused before any model loads.
    vivid = Colorizer(method="net", size=64, weights=model_dir, vividness=0.9)
    assert vivid.method.temperature == pytest.approx(0.1)
    assert not np.allclose(vivid.colorize(photo_grey), outputs["auto"], atol=1e-3)
    with pytest.raises(ExemplarError, match="vividness"):
        Colorizer(method="net", size=64, weights=model_dir, vividness=1.0)
    # ... or per call, overriding the colorizer's own for that call only.
    np.testing.assert_allclose(colorizer.colorize(photo_grey, vividness=0.9), vivid.colorize(photo_grey), atol=1e-6)
    np.testing.assert_allclose(colorizer.colorize(photo_grey), outputs["auto"], atol=1e-6)
    with pytest.raises(ExemplarError, match="vividness"):
        colorizer.colorize(photo_grey, palette="sepia", vividness=1.0)


def test_automatic_mode_needs_the_net_method(imagenet_encoder, photo_grey):
    match = Colorizer(method="match", size=64)
    with pytest.raises(ExemplarError, match="needs a colour reference or a palette.*--method net"):
        match.colorize(photo_grey)
    with pytest.raises(ExemplarError, match="needs a colour reference"):
        match.colorize(photo_grey, references=[])


# --------------------------------------------------------------------------- the shipped model


def test_packaged_default_model_loads_offline_and_colorizes_the_demo(imagenet_encoder):
    """The model ships inside the package (package data) and needs nothing from the network."""
    from importlib.resources import files

    from exemplar.core.image_io import read_image

    demo = files("exemplar") / "demo"
    colorizer = Colorizer(size=128)  # net is the default method
    color_net = colorizer.method.net
    assert isinstance(color_net, ColorNet) and colorizer.method.info["steps"] > 0
    assert colorizer.method.temperature == pytest.approx(1.0 - DEFAULT_VIVIDNESS)
    target = str(demo / "target.jpg")
    target_l = rgb_to_lab(read_image(target).rgb)[..., 0]
    outputs = {
        "reference": colorizer.colorize(target, [str(demo / "reference.jpg")]),
        "palette": colorizer.colorize(target, palette="sepia"),
        "auto": colorizer.colorize(target),
    }
    for mode, out in outputs.items():
        lab = rgb_to_lab(out)
        assert out.shape == (300, 451, 3), mode
        assert np.abs(lab[..., 0] - target_l).max() < 0.1, mode  # luminance kept
        assert _chroma(lab[..., 1:]) > 5, mode  # visibly coloured, even with nothing to go on
    dull = Colorizer(size=128, vividness=0.0).colorize(target, [str(demo / "reference.jpg")])
    assert np.abs(dull - outputs["reference"]).max() > 0.02
