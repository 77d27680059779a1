"""ReferenceTrust: identity when unfitted, the cell-sum loss, fitting, files, and its use by ``net``."""

import shutil

import cv2
import keras
import numpy as np
import pytest
from click.testing import CliRunner

from exemplar.encoder import EfficientNetLite0
from exemplar.generator_weights import load_trust, own_variables, save_generator, save_trust
from exemplar.net import Gray2ColorNet, ReferenceTrust
from exemplar.net.reference_trust import gain_offset
from training.fit_trust import cell_statistics, fit, gate_between, main, trust_loss


def _inputs(seed=0, batch=2, cells=(4, 6), features=8, top_k=4):
    rng = np.random.default_rng(seed)
    h, w = cells
    return {
        "features8": rng.normal(size=(batch, h, w, features)).astype("float32"),
        "similarities8": rng.uniform(0, 1, (batch, h, w, top_k)).astype("float32"),
        "ab": rng.uniform(-0.9, 0.9, (batch, 8 * h, 8 * w, 2)).astype("float32"),
    }


def test_unfitted_head_is_the_identity_and_round_trips(tmp_path):
    trust = ReferenceTrust(feature_dim=8, top_k=4, hidden=16, vividness=1.3, gate_centre=2.0)  # gate 1
    x = _inputs()
    np.testing.assert_allclose(np.asarray(trust(x)), x["ab"], atol=1e-6)
    for i, variable in enumerate(trust.weights):  # make it do something before saving
        variable.assign(np.random.default_rng(i).normal(0, 0.3, variable.shape).astype("float32"))
    out = np.asarray(trust(x))
    assert np.abs(out - x["ab"]).max() > 0.05 and np.abs(out).max() <= 1.0
    path = tmp_path / "trust.keras"
    trust.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(x)), out, atol=1e-6)
    assert loaded.get_config() == trust.get_config()


def test_cell_sums_give_the_exact_squared_error():
    rng = np.random.default_rng(1)
    ab, truth = rng.uniform(-1, 1, (2, 16, 24, 2)).astype("float32")
    params = rng.normal(0, 1, (2 * 3, 4)).astype("float32")  # one (gain, offset, gate) per 8x8 cell
    params[:, 3] = rng.uniform(0, 1, 6)  # the gate is a sigmoid output
    stats = cell_statistics(ab, truth)
    assert stats.shape == (6, 8) and np.all(stats[:, 0] == 64)
    gain, offset = (np.asarray(v) for v in gain_offset(params))
    per_pixel = lambda v: cv2.resize(v.reshape(2, 3, -1), (24, 16), interpolation=cv2.INTER_NEAREST).reshape(16, 24, -1)
    direct = np.mean(np.sum((truth - (per_pixel(gain) * ab + per_pixel(offset))) ** 2, -1))
    np.testing.assert_allclose(float(trust_loss(params, stats)), direct, rtol=1e-4)


def test_fit_learns_where_the_reference_is_reliable():
    """Cells of kind A: truth = generator's ab; kind B: truth = 0.4 * ab + 0.1 (a half-wrong reference)."""
    rng = np.random.default_rng(2)
    descriptors, sums = [], []
    for kind, (g, m) in enumerate([(1.0, 0.0), (0.4, 0.1)]):
        for _ in range(200):
            ab = rng.uniform(-0.6, 0.6, (8, 8, 2)).astype("float32")
            sums.append(cell_statistics(ab, g * ab + m))
            descriptors.append(np.eye(2, 7, dtype="float32")[kind][None])  # feature_dim 2 + top_k 4 + 1
    trust = ReferenceTrust(feature_dim=2, top_k=4, hidden=8)
    keras.utils.set_random_seed(0)
    history = fit(trust, np.concatenate(descriptors), np.concatenate(sums), epochs=300, learning_rate=3e-2,
                  batch_size=400, log=lambda _: None)
    assert history[-1] < 0.2 * history[0]
    gain, offset = (np.asarray(v) for v in gain_offset(trust.cell_model(np.eye(2, 7, dtype="float32"))))
    assert gain[0, 0] > 0.9 and abs(gain[1, 0] - 0.4) < 0.1
    np.testing.assert_allclose(offset[1], [0.1, 0.1], atol=0.05)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    generator = Gray2ColorNet(encoder=EfficientNetLite0(weights="imagenet"), width=8, hist_bins=11, top_k=4)
    for i, variable in enumerate(own_variables(generator).values()):
        if "delta" in variable.path:
            variable.assign(np.random.default_rng(i).normal(0, 0.01, variable.shape).astype("float32"))
    folder = tmp_path_factory.mktemp("model")
    save_generator(generator, folder)
    return folder


def test_trust_files_round_trip_and_are_optional(model_dir, tmp_path):
    assert load_trust(model_dir) is None
    trust = ReferenceTrust(feature_dim=472, top_k=4, hidden=4)
    trust.get_layer("params").bias.assign([-20.0, 0.0, 0.0])  # gain ~0, offset 0: grey
    save_trust(trust, tmp_path, info={"cells": 3})
    loaded = load_trust(tmp_path)
    assert loaded.hidden == 4
    np.testing.assert_array_equal(loaded.get_layer("params").bias.numpy(), [-20.0, 0.0, 0.0])


def test_net_uses_the_trust_head_unless_told_to_follow_the_reference(model_dir, tmp_path, photo_grey, photo_rgb):
    from exemplar.color import rgb_to_lab
    from exemplar.colorizer import Colorizer

    folder = tmp_path / "with_trust"
    shutil.copytree(model_dir, folder)
    trust = ReferenceTrust(feature_dim=472, top_k=4, hidden=4, gate_centre=2.0)  # gate 1 whatever the match
    trust.get_layer("params").bias.assign([-20.0, 0.0, 0.0])  # gain ~0, offset 0: no colour at all
    save_trust(trust, folder)
    chroma = lambda rgb: np.hypot(*np.moveaxis(rgb_to_lab(rgb)[..., 1:], -1, 0)).mean()
    trusted = Colorizer("net", size=64, weights=folder).colorize(photo_grey, [photo_rgb])
    raw = Colorizer("net", size=64, weights=folder, follow_reference=True).colorize(photo_grey, [photo_rgb])
    assert chroma(trusted) < 0.5 and chroma(raw) > 3
    palette = Colorizer("net", size=64, weights=folder, net_palette=True).colorize(photo_grey, palette="sepia")
    assert chroma(palette) > 3  # no reference image, so the head is not used


def test_fit_trust_command_on_a_tiny_folder(model_dir, tmp_path, photo_rgb):
    data = tmp_path / "photos"
    for name, shift in (("red", (60, 0, 0)), ("blue", (0, 0, 60))):
        (data / name).mkdir(parents=True)
        for i in range(3):
            rgb = np.clip(photo_rgb * 255 * (0.6 + 0.1 * i) + shift, 0, 255).astype("uint8")
            cv2.imwrite(str(data / name / f"{i}.png"), rgb[..., ::-1])
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    args = [str(folder), "--data", str(data), "--same-class", "4", "--self", "2", "--size", "64", "--epochs", "2",
            "--hidden", "4", "--cache", str(tmp_path / "cells.npz")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    trust = load_trust(folder)
    assert trust is not None and trust.hidden == 4
    import json
    info = json.loads((folder / "trust.json").read_text())["info"]
    assert info["same_class_pairs"] == 4 and len(info["loss_by_epoch"]) == 2 and info["cells"] == 6 * (64 // 8) * (96 // 8)  # 48x64 -> 64x85 -> 64x96
    assert trust.gate_centre == pytest.approx(info["gate_centre"], abs=1e-4)
    again = CliRunner().invoke(main, args + ["--vividness", "1.5"])  # refit from the cache
    assert again.exit_code == 0 and "cells of 6 pairs from" in again.output, again.output
    assert load_trust(folder).vividness == 1.5
    wrong = CliRunner().invoke(main, args + ["--self", "3"])  # the cache does not hold these pairs
    assert wrong.exit_code != 0 and "cells.npz: holds 6 pairs, not 7" in wrong.output


def test_gate_sits_between_self_and_other_pairs():
    centre, width = gate_between(np.linspace(0.55, 0.8, 50), np.linspace(0.3, 0.5, 50))
    assert 0.5 < centre < 0.56 and width > 0.0
    trust = ReferenceTrust(feature_dim=2, top_k=4, hidden=4, gate_centre=centre, gate_width=width)
    cells = np.zeros((2, 7), "float32")
    cells[:, -1] = [0.45, 0.6]  # the image mean similarity of another photo, and of a copy
    gate = np.asarray(trust.cell_model(cells))[:, 3]
    assert gate[0] > 0.95 and gate[1] < 0.05
    assert not trust.get_layer("image_gate").weights
