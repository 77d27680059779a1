"""Colour hints: the network's hint input (HintPool, ColorNet(hints=True)), the simulated hints
training sees, and the net method honouring them (tiny untrained models, random encoders)."""

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from exemplar.core.color import fit_ab_in_gamut
from exemplar.model.color_net_weights import load_color_net, save_color_net
from exemplar.core.errors import ExemplarError
from exemplar.model.color_net import FEATURE_CHANNELS, HINT_KERNELS, ColorNet
from exemplar.model.hint_branch import HintBranch
from exemplar.model.hint_pool import HintPool
from exemplar.methods.hint_spread import EDGE_L, geodesic_nearest
from exemplar.methods.net_colorizer import NetColorizer, hint_maps
from training import config as config_lib
from training import run
from training.hint_simulation import simulate_hints


HIST_BINS = 5


def color_net_inputs(height, width, ref_height, ref_width, batch=1, seed=0, hist_bins=HIST_BINS):
    """Random ColorNet inputs (reference mode) for a (height, width) target."""
    rng = np.random.default_rng(seed)
    inputs = {f"target_{s}": rng.normal(size=(batch, height // int(s[1:]), width // int(s[1:]), c))
              for s, c in FEATURE_CHANNELS.items()}
    inputs.update({f"reference_{s}": rng.normal(size=(batch, ref_height // int(s[1:]), ref_width // int(s[1:]), c))
                   for s, c in FEATURE_CHANNELS.items() if s != "s4"})
    inputs["target_l4"] = rng.uniform(-1, 1, (batch, height // 4, width // 4, 1))
    inputs["reference_lab4"] = rng.uniform(-0.5, 0.5, (batch, ref_height // 4, ref_width // 4, 3))
    inputs["reference_hist"] = np.full((batch, hist_bins**2), 1.0 / hist_bins**2)
    inputs["reference_mask"] = np.ones((batch, 1))
    inputs["hist_mask"] = np.ones((batch, 1))
    return {key: value.astype(np.float32) for key, value in inputs.items()}


def test_hint_pool_gives_the_mean_of_hinted_cells_at_full_strength():
    ab = np.zeros((1, 8, 8, 2), np.float32)
    mask = np.zeros((1, 8, 8, 1), np.float32)
    ab[0, 1, 1], mask[0, 1, 1] = (0.5, -0.25), 1.0  # two hints in the top-left 4x4 block
    ab[0, 2, 3], mask[0, 2, 3] = (0.1, 0.25), 1.0
    out = np.asarray(HintPool(4)(ab, mask))  # (1, 2, 2, 3)
    np.testing.assert_allclose(out[0, 0, 0], [0.3, 0.0, 1.0], atol=1e-6)  # their mean, flag 1
    np.testing.assert_array_equal(out[0, 1, 1], [0.0, 0.0, 0.0])  # no hint: all zero
    np.testing.assert_array_equal(np.asarray(HintPool(1)(ab, mask))[..., 2:], mask)
    assert HintPool.from_config(HintPool(4).get_config()).factor == 4


@pytest.fixture(scope="module")
def hinted_head():
    keras.utils.set_random_seed(0)
    return ColorNet(width=8, num_classes=3, hist_bins=HIST_BINS, hints=True)


def _with_hints(inputs, ab4=None, mask4=None):
    batch, height, width = inputs["target_l4"].shape[:3]
    out = dict(inputs)
    out["hint_ab4"] = np.zeros((batch, height, width, 2), np.float32) if ab4 is None else ab4
    out["hint_mask4"] = np.zeros((batch, height, width, 1), np.float32) if mask4 is None else mask4
    return out



def _same_without_hints_not_with_one(before, after, hist_bins):
    """Two ColorNets give bitwise the same outputs without hints, and different colours with one hint.
    Returns the hinted inputs and ``after``'s prior logits for them."""
    inputs = _with_hints(color_net_inputs(64, 64, 64, 64, hist_bins=hist_bins))  # no hint
    without = [before(inputs), after(inputs)]
    for key in without[0]:
        np.testing.assert_array_equal(np.asarray(without[0][key]), np.asarray(without[1][key]), err_msg=key)
    ab4, mask4 = np.zeros((1, 16, 16, 2), np.float32), np.zeros((1, 16, 16, 1), np.float32)
    ab4[0, 5, 5], mask4[0, 5, 5] = (0.4, -0.3), 1.0
    hinted_inputs = _with_hints(inputs, ab4, mask4)
    hinted = [np.asarray(net(hinted_inputs)["prior_logits"]) for net in (before, after)]
    assert not np.array_equal(hinted[0], hinted[1])  # the hint input did learn
    return hinted_inputs, hinted[1]


def test_train_only_the_hint_kernels_leaves_every_output_without_hints_unchanged(tmp_path, write_class_photos):
    """train.train_only=HINT_KERNELS: only those kernels move, and a colorization without hints is bitwise the same."""
    data = tmp_path / "photos"
    write_class_photos(data, per_class=4)
    base = ["data.data_dir=" + str(data), "train.epochs=1", "train.steps_per_epoch=2", "train.run_eagerly=true"]
    tiny = config_lib.preset("tiny")
    first, _ = run.train(config_lib.override(tiny, base), tmp_path / "a", verbose=0)
    start = tmp_path / "a" / "checkpoints" / "generator_last.weights.h5"
    tuned = base + ["train.init_weights=" + str(start), "loss.hint_share=1", "loss.hint_share_free=1", "optim.lr=0.1",
                    "train.train_only=" + ",".join(HINT_KERNELS)]
    second, _ = run.train(config_lib.override(tiny, tuned), tmp_path / "b", verbose=0)
    assert sorted(v.path for v in second.generator.trainable_variables) == sorted(HINT_KERNELS)
    moved = {a.path for a, b in zip(first.generator.weights, second.generator.weights)
             if not np.array_equal(a.numpy(), b.numpy())}
    assert moved == set(HINT_KERNELS)
    for name in HINT_KERNELS:  # each is the projection of a HintPool's output
        layer = second.generator.get_layer(name.split("/")[0])
        assert type(layer.input._keras_history.operation).__name__ == "HintPool", name

    _same_without_hints_not_with_one(first.generator, second.generator, tiny.model.hist_bins)

    bad = config_lib.override(tiny, base + ["train.train_only=no_such/kernel"])
    with pytest.raises(ExemplarError, match="no_such/kernel"):
        run.train(bad, tmp_path / "c", verbose=0)

def test_hint_branch_is_exactly_zero_without_hints_and_round_trips():
    keras.utils.set_random_seed(3)
    branch = HintBranch(width=8, dilations=(1, 2), name="hint_branch")
    rng = np.random.default_rng(0)
    features = rng.uniform(0, 2, (2, 16, 16, 12)).astype(np.float32)
    ab4, mask4 = np.zeros((2, 16, 16, 2), np.float32), np.zeros((2, 16, 16, 1), np.float32)
    branch(features, ab4, mask4)
    branch.out.kernel.assign(rng.normal(size=branch.out.kernel.shape))  # fresh, it is zero by design
    branch.out.bias.assign(rng.normal(size=branch.out.bias.shape))
    ab4[1, 3, 4], mask4[1, 3, 4] = (0.5, -0.2), 1.0  # the second photo has one hint
    out = np.asarray(branch(features, ab4, mask4))
    assert out.shape == features.shape
    np.testing.assert_array_equal(out[0], 0.0)  # no hint: exactly zero, whatever the weights
    assert np.abs(out[1]).min() > 0  # a hint: a correction everywhere it reaches
    assert np.abs(out[1, 12:, 12:]).max() > 0  # ... 8 cells away too
    config = HintBranch.from_config(branch.get_config()).get_config()
    assert config["width"] == 8 and config["dilations"] == [1, 2]


def test_hint_branch_trained_alone_from_a_model_folder_leaves_outputs_without_hints_unchanged(tmp_path, write_class_photos):
    """A shipped model (.npz, no branch) + model.hint_branch + train.train_only=hint_branch: only the branch
    moves, every output without hints is bitwise the model's, and a hint now changes the colours."""
    data = tmp_path / "photos"
    write_class_photos(data, per_class=4)
    base = ["data.data_dir=" + str(data), "train.epochs=1", "train.steps_per_epoch=2", "train.run_eagerly=true"]
    tiny = config_lib.preset("tiny")
    first, _ = run.train(config_lib.override(tiny, base), tmp_path / "a", verbose=0)
    save_color_net(first.generator, tmp_path / "model")
    tuned = base + ["model.hint_branch=true", "train.init_weights=" + str(tmp_path / "model" / "default.npz"),
                    "loss.hint_share=1", "loss.hint_share_free=1", "optim.lr=0.01", "train.train_only=hint_branch"]
    second, _ = run.train(config_lib.override(tiny, tuned), tmp_path / "b", verbose=0)
    branch = sorted(v.path for v in second.generator.weights if v.path.startswith("hint_branch/"))
    assert branch and sorted(v.path for v in second.generator.trainable_variables) == branch
    before = {v.path: v.numpy() for v in first.generator.weights}
    for variable in second.generator.weights:
        if variable.path in before:
            np.testing.assert_array_equal(variable.numpy(), before[variable.path], err_msg=variable.path)
    assert np.abs(second.generator.get_layer("hint_branch").out.kernel.numpy()).max() > 0  # it learned

    hinted_inputs, hinted = _same_without_hints_not_with_one(first.generator, second.generator, tiny.model.hist_bins)

    save_color_net(second.generator, tmp_path / "branched")  # ships and loads like any model
    loaded, _ = load_color_net(tmp_path / "branched")
    assert loaded.hint_branch is True
    np.testing.assert_array_equal(np.asarray(loaded(hinted_inputs)["prior_logits"]), hinted)
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ExemplarError, match="broken.npz"):
        run.train(config_lib.override(tiny, base + ["train.init_weights=" + str(broken)]), tmp_path / "c", verbose=0)


def test_hints_reach_the_prior_far_from_the_click(hinted_head):
    inputs = _with_hints(color_net_inputs(64, 64, 32, 32, batch=1))
    plain = np.asarray(hinted_head(inputs)["prior_logits"])
    ab4, mask4 = np.zeros((1, 16, 16, 2), np.float32), np.zeros((1, 16, 16, 1), np.float32)
    ab4[0, 2, 2], mask4[0, 2, 2] = (0.6, 0.4), 1.0
    hinted = np.asarray(hinted_head(_with_hints(inputs, ab4, mask4))["prior_logits"])
    change = np.abs(hinted - plain).max(-1)[0]  # (16, 16)
    assert change[2, 2] > 1e-4 and change[12:, 12:].max() > 1e-5  # through the 1/32 level: the far corner too


def test_hinted_head_round_trips_and_loads_old_model_files(hinted_head, tmp_path):
    config = hinted_head.get_config()
    assert config["hints"] is True and config["encoder"] == "lite0"
    assert set(hinted_head.input) >= {"hint_ab4", "hint_mask4"}
    save_color_net(hinted_head, tmp_path)
    loaded, _ = load_color_net(tmp_path)
    inputs = _with_hints(color_net_inputs(32, 32, 32, 32, batch=1, seed=4))
    np.testing.assert_array_equal(np.asarray(loaded(inputs)["prior_logits"]),
                                  np.asarray(hinted_head(inputs)["prior_logits"]))


def test_model_args_default_for_files_without_hints(tmp_path):
    keras.utils.set_random_seed(1)
    old = ColorNet(width=8, hist_bins=HIST_BINS)
    save_color_net(old, tmp_path)
    text = (tmp_path / "default.json").read_text()
    text = text.replace(',\n    "encoder": "lite0"', "").replace(',\n    "hints": false', "")
    assert "hints" not in text and "encoder" not in text
    (tmp_path / "default.json").write_text(text)
    loaded, _ = load_color_net(tmp_path)
    assert loaded.hints is False and loaded.encoder == "lite0" and "hint_ab4" not in loaded.input


def test_simulated_hints_hold_the_truths_colour_on_a_share_of_examples():
    tf.random.set_seed(0)
    truth = tf.random.uniform((400, 16, 16, 2), -0.4, 0.4)
    hint_ab, mask = simulate_hints(truth, share=0.3, p=0.25, max_count=6, colourful=0.5)
    hint_ab, mask = hint_ab.numpy(), mask.numpy()
    cells = mask.sum(axis=(1, 2, 3))
    assert 0.22 < np.mean(cells > 0) < 0.38  # about `share` of the examples get hints
    assert set(np.unique(mask)) <= {0.0, 1.0}
    np.testing.assert_array_equal(hint_ab[mask[..., 0] == 0], 0.0)  # no colour where no hint
    assert cells.max() <= 6 * 9  # at most max_count points of at most 3x3 cells
    # Each hinted cell holds the truth there (single cells) or its 3x3 mean (patches).
    mean3 = tf.nn.avg_pool2d(truth, 3, 1, "SAME").numpy()
    hinted = mask[..., 0] > 0
    close_to_cell = np.abs(hint_ab - truth.numpy()).max(-1) < 1e-6
    close_to_mean = np.abs(hint_ab - mean3).max(-1) < 1e-6
    assert np.all((close_to_cell | close_to_mean)[hinted])
    none_hinted, _ = simulate_hints(truth, share=0.0)
    assert float(tf.reduce_max(tf.abs(none_hinted))) == 0.0

    # patch_share 0: every hint a single cell holding the truth there (a click), 1: every hint a 3x3 patch.
    single, single_mask = simulate_hints(truth, share=1.0, p=0.25, max_count=6, patch_share=0.0)
    hinted = single_mask.numpy()[..., 0] > 0
    np.testing.assert_allclose(single.numpy()[hinted], truth.numpy()[hinted], atol=1e-6)
    assert single_mask.numpy().sum(axis=(1, 2, 3)).max() <= 6
    _, patch_mask = simulate_hints(truth, share=1.0, p=0.25, max_count=6, patch_share=1.0)
    assert patch_mask.numpy().sum(axis=(1, 2, 3)).min() >= 4  # a 3x3 patch keeps at least a corner's 2x2


def test_colourful_positions_are_preferred():
    tf.random.set_seed(1)
    truth = np.zeros((200, 16, 16, 2), np.float32)
    truth[:, :, 8:] = 0.5  # the right half is colourful, the left grey
    _, mask = simulate_hints(tf.constant(truth), share=1.0, p=0.5, max_count=4, colourful=1.0)
    right, left = mask.numpy()[:, :, 9:].sum(), mask.numpy()[:, :, :7].sum()
    assert right > 10 * max(left, 1.0)


def test_hint_maps_put_each_hint_in_a_patch_around_its_cell_and_its_region_stops_at_edges():
    from exemplar.methods.net_colorizer import HINT_PATCH

    assert HINT_PATCH == 3
    l4 = np.full((8, 16), 40.0, np.float32)
    l4[:, 12:] = 90.0  # an edge between columns 11 and 12
    l_full = np.kron(l4, np.ones((4, 4), np.float32))  # the working size, whose outline is sharp
    hints = [(0.0, 0.0, (22.0, -11.0)), (0.99, 0.5, (0.0, 55.0))]
    ab, mask, region, colour, anchor = hint_maps(hints, l4, l_full)
    # the network's input: 3 x 3 cells around each hinted cell (2 x 2 in the corner, 3 x 2 at the right side)
    assert mask.sum() == 4 + 6 and mask[:2, :2].min() == 1 and mask[3:6, 14:].min() == 1
    np.testing.assert_allclose(ab[:2, :2].reshape(-1, 2), [[0.2, -0.1]] * 4, atol=1e-6)
    np.testing.assert_allclose(ab[3:6, 14:].reshape(-1, 2), [[0.0, 0.5]] * 6, atol=1e-6)
    assert np.abs(ab[mask[..., 0] == 0]).max() == 0.0
    near = hint_maps([(0.3, 0.5, (44.0, 0.0)), (0.4, 0.5, (0.0, 22.0))], l4, l_full)[0]  # cells 4 and 6 of row 4
    np.testing.assert_allclose(near[4, 5], [0.2, 0.1], atol=1e-6)  # where patches overlap: the mean of the two
    np.testing.assert_allclose(near[4, 3], [0.4, 0.0], atol=1e-6)
    assert region[0, 0, 0] == 1 and region[4, 15, 0] == 1  # the hinted cells
    assert region[4, 4, 0] > 0.5  # half the picture's height away on flat ground: well reached
    assert region[:, 12:].min() > 0.5  # the second hint's region, all of it
    np.testing.assert_allclose(colour[4, 4], [22.0, -11.0], atol=1e-4)  # each side its own hint's colour
    # b 55 is beyond sRGB at L 90: the colour keeps its hue, with the chroma the output can show there
    np.testing.assert_allclose(colour[0, 12], fit_ab_in_gamut(np.float32([[90.0]]), np.float32([[[0.0, 55.0]]]))[0, 0],
                               atol=1e-4)
    assert colour[0, 12, 0] == 0.0 and 30.0 < colour[0, 12, 1] < 55.0
    alone = hint_maps(hints[1:], l4, l_full)[2]
    assert alone[:, :12].max() < 1e-3  # with one hint, the other side of the edge is not reached
    # each cell's anchor is its own side's hinted cell (flat index row * 16 + col)
    assert (anchor[:, :12] == 0).all() and (anchor[:, 12:] == 4 * 16 + 15).all()


def test_the_spread_is_withheld_where_the_network_paints_unlike_the_click():
    from exemplar.methods.hint_spread import AGREE_FLOOR, network_agreement

    # the click at cell (0, 0), crimson as the network painted it; every cell's nearest click
    ab_net = np.float32([[[55, 30], [45, 24], [2, -3]], [[-10, -40], [55, 30], [-120, 60]]])
    agree = network_agreement(ab_net, np.zeros((2, 3), np.intp))
    assert agree.shape == (2, 3, 1)
    assert agree[0, 0, 0] == 1.0 and agree[1, 1, 0] == 1.0  # painted as the click: the whole spread
    assert 0.9 < agree[0, 1, 0] < 1.0  # 12 ab units off: nearly all of it
    assert agree[0, 2, 0] < 0.4 and agree[1, 0, 0] < 0.3  # the grey stairs behind the jacket, a blue coat: little
    assert agree[1, 2, 0] >= AGREE_FLOOR and agree.min() >= AGREE_FLOOR  # never less than the floor


def test_a_hint_fades_over_a_soft_edge_to_another_l():
    # A soft edge: L falls from 60 to 20 over 8 cells, no pixel step near an outline. The path cost
    # alone lets the hint through; the range term (L against the hinted cell's) fades it there.
    from exemplar.methods.hint_spread import RANGE_L, REACH, SPAN_COST, outline_costs, spread_hints

    l4 = np.tile(np.interp(np.arange(32), [0, 12, 20, 31], [60.0, 60.0, 20.0, 20.0]).astype(np.float32), (32, 1))
    l_full = cv2.resize(l4, (128, 128), interpolation=cv2.INTER_LINEAR)
    region, colour, _ = spread_hints(l4, l_full, [(4, 2)], [(30.0, -20.0)])
    assert region[4, 2, 0] == 1.0 and region[:12, :12].min() > 0.9  # its own side, L 60
    distance, _ = geodesic_nearest(l4, [(4, 2)], SPAN_COST / 32, outlines=outline_costs(l_full))
    by_path = np.exp(-((distance / REACH) ** 2))
    assert by_path[4, 24] > 0.6  # the path alone would give the far side most of the hint
    np.testing.assert_allclose(region[..., 0], by_path / (1.0 + ((l4 - 60.0) / RANGE_L) ** 2), rtol=1e-5)
    assert region[4, 24, 0] < 0.5 * by_path[4, 24]  # 40 L darker: under a third of the path's weight
    # Its colour is the hint's in shade: chroma scaled by (L + 16) / (L_hint + 16) = 36 / 76, hue kept.
    np.testing.assert_allclose(colour[4, 24], np.float32([30.0, -20.0]) * 36.0 / 76.0, rtol=1e-5)
    np.testing.assert_allclose(colour[4, 5], [30.0, -20.0])  # the hint's own L: its own colour


def test_a_hint_s_chroma_falls_in_shade_and_never_rises_in_light():
    from exemplar.methods.hint_spread import spread_hints

    l4 = np.tile(np.linspace(20.0, 90.0, 16, dtype=np.float32), (8, 1))  # L rising to the right
    l_full = cv2.resize(l4, (64, 32), interpolation=cv2.INTER_LINEAR)
    colour = spread_hints(l4, l_full, [(4, 8)], [(40.0, 10.0)])[1]  # hinted where L is about 57
    chroma = np.hypot(colour[4, :, 0], colour[4, :, 1])
    assert np.all(np.diff(chroma[:9]) > 0) and chroma[0] < 0.6 * chroma[8]  # darker: less chroma
    np.testing.assert_allclose(colour[4, 8:], np.broadcast_to([40.0, 10.0], (8, 2)), rtol=1e-6)  # lighter: kept
    np.testing.assert_allclose(colour[4, :, 0] / colour[4, :, 1], 4.0, rtol=1e-5)  # hue unchanged


def test_spread_distances_are_shortest_paths():
    # The multi-source search against a plain Dijkstra from each seed on a smooth random L (paths
    # that turn): each cell's distance is the smallest, and its seed is the one that gives it.
    import heapq

    l4 = cv2.GaussianBlur(np.random.default_rng(0).random((20, 24)).astype(np.float32) * 300, (0, 0), 2)
    step, seeds = 0.5, [(3, 4), (15, 20), (10, 2)]
    got, nearest = geodesic_nearest(l4, seeds, step)
    each = []
    for seed in seeds:
        best = np.full(l4.shape, np.inf)
        best[seed], queue = 0.0, [(0.0, seed)]
        while queue:
            cost, (r, c) = heapq.heappop(queue)
            for rr, cc in ((r + 1, c), (r - 1, c), (r, c + 1), (r, c - 1)):
                if 0 <= rr < 20 and 0 <= cc < 24:
                    new = cost + step + ((l4[rr, cc] - l4[r, c]) / EDGE_L) ** 2
                    if new < best[rr, cc]:
                        best[rr, cc] = new
                        heapq.heappush(queue, (new, (rr, cc)))
        each.append(best)
    each = np.stack(each)
    np.testing.assert_allclose(got, each.min(0), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(np.take_along_axis(each, nearest[None], 0)[0], each.min(0), rtol=1e-4, atol=1e-3)
    assert set(np.unique(nearest)) == {0, 1, 2}


def _two_regions(height=64, width=64):
    """(H, W) L: a dark left half and a bright right half, a strong vertical edge between."""
    l = np.full((height, width), 30.0, np.float32)
    l[:, width // 2 :] = 75.0
    return l


@pytest.fixture(scope="module")
def hinted_net(tmp_path_factory):
    keras.utils.set_random_seed(2)
    folder = tmp_path_factory.mktemp("hinted_model")
    save_color_net(ColorNet(width=8, hist_bins=11, hints=True), folder)
    from exemplar.model.encoder import EfficientNetLite0

    return NetColorizer(folder, encoder=EfficientNetLite0(include_top=False, weights=None))


@pytest.mark.parametrize("mode", ["auto", "reference", "palette"])
def test_a_hint_is_honoured_at_its_point_and_stops_at_the_edge(hinted_net, mode):
    from exemplar.methods.palette import parse_palette

    l = _two_regions()
    hint = (0.25, 0.5, (45.0, 35.0))  # the middle of the dark half
    reference = np.dstack([l, np.full_like(l, -20.0), np.full_like(l, -30.0)])
    run = {
        "auto": lambda **kw: hinted_net.predict_ab_auto(l, **kw),
        "reference": lambda **kw: hinted_net.predict_ab(l, [reference], **kw),
        "palette": lambda **kw: hinted_net.predict_ab_palette(l, parse_palette("#3060c0,#d0a040"), **kw),
    }[mode]
    plain, hinted = run(), run(hints=[hint])
    assert hinted.shape == plain.shape == (64, 64, 2)
    np.testing.assert_allclose(hinted[32, 16], hint[2], atol=10.0)  # within 10 of the hint at its point
    # The other region (right of the edge, away from it) keeps its colour. With a reference, this
    # untrained network's gate moves a little where its random features resemble the hinted spot.
    np.testing.assert_allclose(hinted[:, 44:], plain[:, 44:], atol=10.0 if mode == "reference" else 3.0)


def test_hints_on_a_model_without_the_input_are_refused(tmp_path):
    from exemplar.model.encoder import EfficientNetLite0
    from exemplar.core.errors import ExemplarError

    save_color_net(ColorNet(width=8, hist_bins=11), tmp_path)
    net = NetColorizer(tmp_path, encoder=EfficientNetLite0(include_top=False, weights=None))
    with pytest.raises(ExemplarError, match="without the colour hint input"):
        net.predict_ab_auto(_two_regions(), hints=[(0.5, 0.5, (10.0, 10.0))])
