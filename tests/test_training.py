"""GAN training: config parsing, the train step (images or cached features), NaN safety, and the
command on an image folder (killed, then resumed) and on a feature cache.

Speed on 2 cores: everything here runs eagerly (train.run_eagerly), because tracing the train step
into a tf.function costs ~15 s of CPU per model; tests/test_distributed.py covers the traced path.
"""

import csv
import dataclasses
import json
from pathlib import Path
import os
import subprocess
import sys
import textwrap

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner
from PIL import Image

from data_prep.cached_pairs import normalise_lab
from exemplar.cli.train import train as train_command
from exemplar.model.encoder import EfficientNetLite0
from exemplar.core.errors import ExemplarError
from exemplar.model.color_net_weights import load_color_net
from exemplar.model.color_net import ColorNet
from exemplar.model.patch_discriminator import PatchDiscriminator
from training import config as config_lib
from training import run
from training.colorization_gan import FEATURE_KEYS, LOSS_NAMES, ColorizationGAN
from training.export_model import export
from training.generator_checkpoint import GeneratorCheckpoint
from training.nan_guard import NanGuard, TrainingDiverged
from training.resumable_backup import ResumableBackup
from training.sample_sheet import render_sheet

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _batch(size=64, batch=4, seed=0):
    """A deterministic batch as data_prep yields it: smooth colour fields, mixed pair kinds and labels."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    fields = [np.stack([np.sin(3 * x + i), np.cos(2 * y - i)], -1) * 0.4 for i in range(batch)]
    return {
        "target_l": (np.stack([x + y - 1.0] * batch)[..., None] * 0.9).astype(np.float32),
        "target_ab": np.stack(fields).astype(np.float32),
        "reference_l": rng.uniform(-0.8, 0.8, (batch, size, size, 1)).astype(np.float32),
        "reference_ab": np.stack(fields[::-1]).astype(np.float32),
        "label": np.array([0, 1, -1, 0][:batch], np.int32),
        "pair_kind": np.array([0, 1, 0, 1][:batch], np.int32),
    }


@pytest.fixture(scope="module")
def tiny_gan():
    """The tiny preset's GAN (random-init encoder, images in), compiled, eager."""
    config = config_lib.preset("tiny")
    keras.utils.set_random_seed(0)
    model = run.compile_model(run.build_model(config, num_classes=2), config)
    model.run_eagerly = True
    return model


@pytest.fixture(scope="module")
def imagenet_encoder():
    return EfficientNetLite0(include_top=False, weights="imagenet")


# --------------------------------------------------------------------------- config


def test_presets_are_valid_and_round_trip_through_json(tmp_path):
    for name in config_lib.PRESETS:
        config = config_lib.preset(name)
        config_lib.check(config)
        config_lib.save(config, tmp_path / f"{name}.json")
        assert config_lib.load(tmp_path / f"{name}.json") == config
    assert config_lib.preset("places365").train.mixed_precision
    with pytest.raises(ExemplarError, match="unknown preset"):
        config_lib.preset("huge")


def test_overrides_are_parsed_by_field_type():
    config = config_lib.override(
        config_lib.preset("tiny"),
        ["optim.lr=1e-4", "train.mixed_precision=true", "data.classes=forest, sea", "data.limit=none", "train.epochs=7"],
    )
    assert config.optim.lr == 1e-4 and isinstance(config.optim.lr, float)
    assert config.train.mixed_precision is True and config.train.epochs == 7
    assert config.data.classes == ("forest", "sea") and config.data.limit is None
    assert config.model == config_lib.preset("tiny").model  # other sections untouched
    for bad in ["optim.learning_rate=1", "optim.lr=fast", "train.mixed_precision=maybe", "lr=1", "optim.lr"]:
        with pytest.raises(ExemplarError, match="bad override"):
            config_lib.override(config, [bad])
    with pytest.raises(ExemplarError, match="multiple of 32"):
        config_lib.check(dataclasses.replace(config, data=dataclasses.replace(config.data, image_size=50)))
    for bad in ["data.self_crop_min=0", "data.self_hue=0.7", "data.self_saturation=1", "loss.train_temperature=0",
                "model.width=12"]:
        with pytest.raises(ExemplarError, match=bad.split("=")[0]):
            config_lib.check(config_lib.override(config, [bad]))
    with pytest.raises(ExemplarError, match="palette_share and loss.auto_share"):
        config_lib.check(config_lib.override(config, ["loss.palette_share=0.6", "loss.auto_share=0.5"]))
    # The distribution network's options; the old network's are gone (a stale script fails loudly).
    new = config_lib.override(config, ["data.cache_dir=/tmp/cache", "loss.ce=2", "loss.auto_share=0"])
    assert new.data.cache_dir == "/tmp/cache" and new.loss.ce == 2.0 and new.loss.auto_share == 0.0
    assert config_lib.override(new, ["data.cache_dir=none"]).data.cache_dir is None
    for gone in ["model.trainable_encoder=true", "optim.encoder_lr_multiplier=0.1", "loss.palette_dropout=0"]:
        with pytest.raises(ExemplarError, match="no field"):
            config_lib.override(config, [gone])
    for width in (8, 16, 32):  # every width the check lets through builds
        config_lib.check(config_lib.override(config, [f"model.width={width}"]))
        ColorNet(width=width, hist_bins=5)


# --------------------------------------------------------------------------- the step


def test_train_steps_give_finite_losses_and_move_both_players(tiny_gan):
    generator, discriminator = tiny_gan.generator, tiny_gan.discriminator
    assert isinstance(generator, ColorNet) and not tiny_gan.encoder.trainable
    before_g = [v.numpy().copy() for v in generator.trainable_variables]
    before_d = [v.numpy().copy() for v in discriminator.trainable_variables]
    frozen = [v.numpy().copy() for v in tiny_gan.encoder.weights]
    data = tf.data.Dataset.from_tensors(_batch()).repeat()
    logs = tiny_gan.fit(data, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False).history

    assert set(logs) == set(LOSS_NAMES)
    assert all(np.isfinite(values[0]) for values in logs.values()), logs
    assert logs["ce"][0] > 0 and logs["hist"][0] > 0 and logs["cls"][0] > 0 and logs["l1"][0] >= 0
    assert 0.0 <= logs["gate"][0] <= 1.0
    changed_g = [not np.array_equal(a, v.numpy()) for a, v in zip(before_g, generator.trainable_variables)]
    changed_d = [not np.array_equal(a, v.numpy()) for a, v in zip(before_d, discriminator.trainable_variables)]
    assert np.mean(changed_g) > 0.9 and all(changed_d), (np.mean(changed_g), changed_d)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(frozen, tiny_gan.encoder.weights))  # frozen encoder
    assert int(tiny_gan.g_optimizer.iterations) == int(tiny_gan.d_optimizer.iterations) == 2

    # Validation (test_step): the same losses, no update.
    after = [v.numpy().copy() for v in tiny_gan.trainable_variables]
    scores = tiny_gan.evaluate(tf.data.Dataset.from_tensors(_batch()), verbose=0, return_dict=True)
    assert set(scores) == set(LOSS_NAMES) and all(np.isfinite(list(scores.values())))
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(after, tiny_gan.trainable_variables))


def test_features_encode_images_and_pass_cached_batches_through(tiny_gan):
    batch = _batch()
    features = tiny_gan.features(batch)
    assert set(features) >= set(FEATURE_KEYS) | {"target_lab4", "reference_lab4", "label", "pair_kind"}
    assert tuple(features["target_s4"].shape) == (4, 16, 16, 24) and tuple(features["target_s32"].shape) == (4, 2, 2, 320)
    lab = np.concatenate([batch["target_l"], batch["target_ab"]], -1)
    np.testing.assert_allclose(np.asarray(features["target_lab4"]), lab.reshape(4, 16, 4, 16, 4, 3).mean((2, 4)),
                               atol=1e-6)  # 4 x 4 block means of the normalised Lab
    cached = {key: np.asarray(value) for key, value in features.items()}
    assert tiny_gan.features(cached) is cached  # a features batch is not encoded again


def test_modes_set_the_masks_and_the_conditioning_histogram(tiny_gan):
    features = tiny_gan.features(_batch())
    inputs, reference_mask, hist_mask = tiny_gan.color_net_inputs(features)  # not training: reference mode
    assert np.all(reference_mask.numpy() == 1.0) and np.all(hist_mask.numpy() == 1.0)
    np.testing.assert_allclose(np.sum(inputs["reference_hist"], axis=-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(inputs["reference_hist"], tiny_gan.histogram(features["reference_lab4"][..., 1:]), atol=1e-6)
    shares = (tiny_gan.palette_share, tiny_gan.auto_share)
    try:
        tiny_gan.palette_share, tiny_gan.auto_share = 1.0, 0.0
        palette, reference_mask, hist_mask = tiny_gan.color_net_inputs(features, training=True)
        assert np.all(reference_mask.numpy() == 0.0) and np.all(hist_mask.numpy() == 1.0)
        assert np.all(palette["reference_mask"].numpy() == 0.0)
        hist = palette["reference_hist"].numpy()
        np.testing.assert_allclose(hist.sum(-1), 1.0, rtol=1e-5)
        own = tiny_gan.histogram(features["target_lab4"][..., 1:]).numpy()  # a palette from the target's own colours
        assert np.all((hist > 0).sum(-1) <= 8) and np.all(own[hist > 0] > 0)
        tiny_gan.palette_share, tiny_gan.auto_share = 0.0, 1.0
        auto, reference_mask, hist_mask = tiny_gan.color_net_inputs(features, training=True)
        assert np.all(reference_mask.numpy() == 0.0) and np.all(hist_mask.numpy() == 0.0)
        np.testing.assert_array_equal(auto["reference_hist"].numpy(), 0.0)
        outputs = tiny_gan.generator(auto)
        values, _ = tiny_gan._compute_losses(features, auto, outputs, reference_mask, hist_mask, training=False)
        assert float(values["hist"]) == 0.0 and float(values["l1"]) == 0.0  # nothing to match, no reference
        assert float(values["ce"]) > 0.0
        np.testing.assert_array_equal(outputs["gate"].numpy(), 0.0)
    finally:
        tiny_gan.palette_share, tiny_gan.auto_share = shares



def test_hints_go_to_examples_without_a_reference_at_their_own_share(tiny_gan):
    features = tiny_gan.features(_batch(batch=8))
    saved = (tiny_gan.palette_share, tiny_gan.auto_share, tiny_gan.hints)
    try:
        tiny_gan.hints = dict(saved[2], share=0.0, share_free=1.0)
        for palette_share, auto_share, hinted in ((0.0, 0.0, False), (0.0, 1.0, True), (1.0, 0.0, True)):
            tiny_gan.palette_share, tiny_gan.auto_share = palette_share, auto_share
            inputs, _, _ = tiny_gan.color_net_inputs(features, training=True)
            per_example = inputs["hint_mask4"].numpy().sum(axis=(1, 2, 3))  # (B,) hinted cells
            assert np.all(per_example > 0) if hinted else np.all(per_example == 0)
    finally:
        tiny_gan.palette_share, tiny_gan.auto_share, tiny_gan.hints = saved

def test_masks_pixel_and_class_losses(tiny_gan):
    batch = _batch()
    batch["pair_kind"][:] = 1  # no self-augmented pair: no pixel loss
    batch["label"][:] = -1  # no labelled photo: no class loss
    features = tiny_gan.features(batch)
    inputs, reference_mask, hist_mask = tiny_gan.color_net_inputs(features)
    outputs = tiny_gan.generator(inputs)
    values, d_loss = tiny_gan._compute_losses(features, inputs, outputs, reference_mask, hist_mask, training=False)
    assert float(values["l1"]) == 0.0 and float(values["cls"]) == 0.0
    assert float(values["hist"]) > 0 and float(values["ce"]) > 0 and np.isfinite(float(d_loss))
    batch["pair_kind"][0] = 0
    batch["label"][0] = 1
    values, _ = tiny_gan._compute_losses(tiny_gan.features(batch), inputs, outputs, reference_mask, hist_mask, False)
    assert float(values["l1"]) > 0.0 and float(values["cls"]) > 0.0
    # The regression ablation (loss.l1_all) counts every example, self pair or not.
    batch["pair_kind"][:] = 1
    tiny_gan.l1_all = True
    try:
        values, _ = tiny_gan._compute_losses(tiny_gan.features(batch), inputs, outputs, reference_mask, hist_mask, False)
    finally:
        tiny_gan.l1_all = False
    assert float(values["l1"]) > 0.0


def _feature_batch(encoder, batch):
    """The image batch as a feature cache would give it: float32 encoder features of the grey photo
    (L * 2.55, as data_prep.feature_cache feeds the encoder) and Lab area-averaged to 1/4."""
    import cv2

    out = {"label": batch["label"], "pair_kind": batch["pair_kind"]}
    for prefix, levels in (("target", ("s4", "s8", "s16", "s32")), ("reference", ("s8", "s16", "s32"))):
        lab = np.concatenate([(batch[f"{prefix}_l"] + 1.0) * 50.0, batch[f"{prefix}_ab"] * 110.0], -1)  # Lab units
        features = encoder(np.repeat(lab[..., :1] * 2.55, 3, axis=-1), training=False)
        for level in levels:
            out[f"{prefix}_{level}"] = np.asarray(features[level.replace("s", "stride")], np.float32)
        side = lab.shape[1] // 4
        out[f"{prefix}_lab4"] = normalise_lab(np.stack([cv2.resize(x, (side, side), interpolation=cv2.INTER_AREA)
                                                        for x in lab]))
    return out


def test_a_cached_feature_step_equals_the_step_on_images(imagenet_encoder):
    """One train step from precomputed features moves the ColorNet and discriminator exactly as the
    same step from images (encoded inside the step) does."""
    images = {key: tf.constant(value) for key, value in _batch().items()}  # as tf.data yields batches
    cached = {key: tf.constant(value) for key, value in _feature_batch(imagenet_encoder, _batch()).items()}
    weights = run.colour_weights([_batch()["target_ab"] * 110.0])  # non-uniform rebalancing

    def gan(encoder, start=None):
        keras.utils.set_random_seed(0)
        color_net = ColorNet(width=16, num_classes=2, hist_bins=11)
        discriminator = PatchDiscriminator(width=16, num_layers=2)
        # Every example in reference mode: no random mode draw can tell the two runs apart.
        model = ColorizationGAN(color_net, discriminator, weights, encoder=encoder, hist_bins=11, palette_share=0.0,
                                auto_share=0.0)
        discriminator.build((None, None, None, 3))
        if start is not None:
            color_net.set_weights(start[0])
            discriminator.set_weights(start[1])
        # SGD: Adam's first step is about lr * sign(gradient), which would hide a wrong gradient.
        model.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05), config_lib.LossConfig())
        return model

    from_images = gan(imagenet_encoder)
    start = (from_images.generator.get_weights(), from_images.discriminator.get_weights())
    from_cache = gan(None, start)
    logs = {}
    for name, model, batch in (("images", from_images, images), ("cache", from_cache, cached)):
        tf.random.set_seed(1)
        logs[name] = {key: float(value) for key, value in model.train_step(batch).items()}
    for key, value in logs["images"].items():
        np.testing.assert_allclose(logs["cache"][key], value, rtol=1e-4, atol=1e-6, err_msg=key)
    for part in ("generator", "discriminator"):
        before = start[0] if part == "generator" else start[1]
        after_images = getattr(from_images, part).get_weights()
        after_cache = getattr(from_cache, part).get_weights()
        update = np.array([np.abs(a - b).max() for a, b in zip(after_images, before)])
        diff = np.array([np.abs(a - c).max() for a, c in zip(after_images, after_cache)])
        assert np.mean(update > 1e-7) > 0.8, part  # the step moved (nearly) every variable
        assert np.all(diff <= 1e-3 * update + 1e-6), (part, float(np.max(diff - 1e-3 * update)))


def test_sample_sheet_rows_are_target_reference_output_truth():
    rng = np.random.default_rng(0)
    target = np.concatenate([rng.uniform(-0.6, 0.6, (2, 8, 12, 1)), rng.uniform(-0.3, 0.3, (2, 8, 12, 2))], -1)
    reference = np.concatenate([rng.uniform(-0.6, 0.6, (2, 4, 4, 1)), rng.uniform(-0.3, 0.3, (2, 4, 4, 2))], -1)
    sheet = render_sheet(target, reference, target[..., 1:], zoom=2)  # output = truth
    assert sheet.shape == (2 * 8 * 2, 4 * 12 * 2, 3) and sheet.dtype == np.uint8
    panels = np.split(sheet, 4, axis=1)
    np.testing.assert_array_equal(panels[2], panels[3])  # output panel equals truth panel
    assert np.abs(panels[0].astype(int).std(-1)).max() < 1  # the target panel is grey
    grey_out = render_sheet(target, reference, np.zeros_like(target[..., 1:]), zoom=1)
    np.testing.assert_array_equal(np.split(grey_out, 4, axis=1)[2], np.split(grey_out, 4, axis=1)[0])


class _Poison(keras.callbacks.Callback):
    """Set a generator variable to NaN after the first step of the second epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1 and batch == 0:
            variable = self.model.generator.trainable_variables[0]
            variable.assign(np.full(variable.shape, np.nan, np.float32))


def _h5_all_finite(path):
    """True if every float array in a Keras .weights.h5 file is finite (and there is at least one)."""
    arrays = []
    with h5py.File(path, "r") as file:
        file.visititems(lambda name, item: arrays.append(item[()]) if isinstance(item, h5py.Dataset) else None)
    floats = [a for a in arrays if np.issubdtype(np.asarray(a).dtype, np.floating)]
    return bool(floats) and all(np.isfinite(a).all() for a in floats)


def test_nan_guard_raises_on_a_non_finite_loss(tmp_path):
    guard = NanGuard(tmp_path)
    guard.on_train_batch_end(0, {"total": 1.5, "d": 2.0})  # finite: nothing happens
    with pytest.raises(TrainingDiverged, match=r"loss 'd' is nan at epoch 1, step 4.*backup"):
        guard.on_train_batch_end(3, {"total": 1.5, "d": float("nan")})


def test_non_finite_weights_never_overwrite_checkpoints(tiny_gan, tmp_path):
    # The loss of the poisoned step is still finite (computed before the poison): the weight check
    # of the epoch-end checkpoint must catch it, and the backup must keep the previous state.
    saved = tiny_gan.get_weights()
    backup = ResumableBackup(tmp_path / "backup", save_freq=1)
    callbacks = [NanGuard(tmp_path), GeneratorCheckpoint(tmp_path / "checkpoints"), backup, _Poison()]
    try:
        data = tf.data.Dataset.from_tensors(_batch()).repeat()
        with pytest.raises(TrainingDiverged, match="not finite"):
            tiny_gan.fit(data, epochs=2, steps_per_epoch=1, callbacks=callbacks, verbose=0, shuffle=False)
        with pytest.raises(TrainingDiverged):
            backup._save_model()  # a NaN model cannot become the backup either
    finally:
        tiny_gan.set_weights(saved)
    assert ResumableBackup.resume_point(tmp_path / "backup") == (1, 0)  # the end of epoch 1
    assert _h5_all_finite(tmp_path / "backup" / "latest.weights.h5")
    assert _h5_all_finite(tmp_path / "checkpoints" / "generator_epoch001.weights.h5")
    assert not (tmp_path / "checkpoints" / "generator_epoch002.weights.h5").exists()


def test_mixed_precision_step():
    # bfloat16 compute, float32 variables and float32 losses.
    config = config_lib.override(config_lib.preset("tiny"), ["train.mixed_precision=true", "train.precision=mixed_bfloat16"])
    keras.mixed_precision.set_global_policy(config.train.precision)
    try:
        model = run.compile_model(run.build_model(config, num_classes=2), config)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model.run_eagerly = True
    outputs = model(_batch())
    assert outputs["prior_logits"].dtype == "bfloat16"
    # The correspondence stays float32: bfloat16 cosines / temperature 0.01 would move its logits by up to 0.4.
    assert model.generator.get_layer("assign8").compute_dtype == "float32"
    assert all(v.dtype == "float32" for v in model.generator.weights + model.discriminator.weights)
    before = [v.numpy().copy() for v in model.generator.trainable_variables]
    logs = model.fit(tf.data.Dataset.from_tensors(_batch()), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    assert all(np.isfinite(values[0]) for values in logs.values()), logs
    assert np.mean([not np.array_equal(a, v.numpy()) for a, v in zip(before, model.generator.trainable_variables)]) > 0.9


# --------------------------------------------------------------------------- the command


_KILLED_RUN = textwrap.dedent(
    """
    import os, sys
    import keras
    from training import config as config_lib, run

    class Kill(keras.callbacks.Callback):  # a hard kill: no cleanup, no callbacks after it
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1 and batch == 0:
                os._exit(9)

    overrides = ["data.data_dir=" + sys.argv[1], "train.steps_per_epoch=2", "train.run_eagerly=true"]
    config = config_lib.override(config_lib.preset("tiny"), overrides)
    run.train(config, sys.argv[2], callbacks=[Kill()], verbose=0)
    """
)


def test_command_trains_and_resumes_a_killed_run_mid_epoch(tmp_path, write_class_photos):
    data, run_dir = tmp_path / "photos", tmp_path / "run"
    write_class_photos(data)
    (data / "sea" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")  # skipped, never fatal
    Image.fromarray(np.full((72, 80, 3), 120, np.uint8)).save(data / "sea" / "grey.png")
    env = dict(os.environ, PYTHONPATH=REPO)
    command = [sys.executable, "-c", _KILLED_RUN, str(data), str(run_dir)]
    killed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert killed.returncode == 9, killed.stderr[-3000:]
    assert ResumableBackup.resume_point(run_dir / "backup") == (1, 1)  # epoch 2, 1 step done
    with h5py.File(run_dir / "backup" / "latest.weights.h5", "r") as file:  # optimizer state included
        assert int(file["g_optimizer/vars/0"][()]) == int(file["d_optimizer/vars/0"][()]) == 3  # iterations
    report = json.loads((run_dir / "data_report.json").read_text())
    assert report["usable"] == 16 and [Path(p).name for p in report["corrupt"]] == ["broken.jpg"]
    assert [Path(p).name for p in report["near_grey"]] == ["grey.png"]
    first_checkpoint = run_dir / "checkpoints" / "generator_epoch001.weights.h5"
    first_mtime = os.path.getmtime(first_checkpoint)
    with open(run_dir / "log.csv") as file:
        first_rows = list(csv.DictReader(file))
    assert [row["epoch"] for row in first_rows] == ["0"]

    # Rerun the same command: it must finish epoch 2 (1 step left of 2), not start it or the run again.
    result = CliRunner().invoke(train_command, ["--preset", "tiny", "--data", str(data), "--run-dir", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output and "1/1 - " in result.output and "2/2 - " not in result.output
    with open(run_dir / "log.csv") as file:
        rows = list(csv.DictReader(file))
    assert [row["epoch"] for row in rows] == ["0", "1"] and rows[0] == first_rows[0]
    assert os.path.getmtime(first_checkpoint) == first_mtime  # epoch 1 was not trained again
    assert not (run_dir / "backup").exists()  # finished: nothing left to resume
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["preset"] == "tiny" and saved["train"]["steps_per_epoch"] == 2
    for name in ("epoch_001.png", "epoch_002.png"):
        sheet = np.asarray(Image.open(run_dir / "samples" / name))
        assert sheet.shape == (2 * 64, 4 * 64, 3) and sheet.std() > 5  # 2 rows x 4 panels, not blank

    # The saved generator rebuilds from its config and loads its weights: what inference does.
    checkpoints = run_dir / "checkpoints"
    best = json.loads((checkpoints / "best.json").read_text())
    assert best["monitor"] == "ce" and best["epoch"] in (1, 2)
    generator_config = json.loads((checkpoints / "generator_config.json").read_text())
    generator = keras.saving.deserialize_keras_object(generator_config)
    assert isinstance(generator, ColorNet) and generator.num_classes == 2  # two class folders
    generator.load_weights(checkpoints / "generator_best.weights.h5")
    # ... and training.export_model turns it into the shipped format (--method net --weights DIR).
    export(run_dir, tmp_path / "model")
    shipped, info = load_color_net(tmp_path / "model")
    assert info["checkpoint"] == "best" and info["epochs_run"] == 2 and info["preset"] == "tiny"
    assert [v.path for v in shipped.weights] == [v.path for v in generator.weights]
    for a, b in zip(shipped.weights, generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=b.path)
    assert (checkpoints / "generator_epoch002.weights.h5").exists() and (checkpoints / "generator_last.weights.h5").exists()


def test_init_weights_start_a_run_from_another_runs_generator(tmp_path, write_class_photos):
    data = tmp_path / "photos"
    write_class_photos(data, per_class=4)
    base = ["data.data_dir=" + str(data), "train.epochs=1", "train.steps_per_epoch=1", "train.run_eagerly=true"]
    first, _ = run.train(config_lib.override(config_lib.preset("tiny"), base), tmp_path / "a", verbose=0)
    start = tmp_path / "a" / "checkpoints" / "generator_last.weights.h5"
    # lr 0: the second run cannot move its generator, so it must end where the first one did.
    frozen = base + ["optim.lr=0", "train.init_weights=" + str(start), "data.seed=3", "train.seed=5"]
    second, _ = run.train(config_lib.override(config_lib.preset("tiny"), frozen), tmp_path / "b", verbose=0)
    assert [v.path for v in first.generator.weights] == [v.path for v in second.generator.weights]
    for a, b in zip(first.generator.weights, second.generator.weights):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-6, err_msg=a.path)
    missing = config_lib.override(config_lib.preset("tiny"), base + ["train.init_weights=" + str(tmp_path / "no.h5")])
    with pytest.raises(ExemplarError, match="no.h5"):
        run.train(missing, tmp_path / "c", verbose=0)


def test_command_help_and_bad_override(tmp_path):
    runner = CliRunner()
    result = runner.invoke(train_command, ["--help"])
    assert result.exit_code == 0
    options = ["--preset", "--data", "--run-dir", "--epochs", "--steps-per-epoch", "--batch-size", "--set"]
    for option in options + ["--places365-data-dir", "--cache", "--classes", "--limit"]:
        assert option in result.output
    preset_option = next(p for p in train_command.params if p.name == "preset")
    assert list(preset_option.type.choices) == list(config_lib.PRESETS)  # every preset reachable from the CLI
    result = runner.invoke(train_command, ["--preset", "tiny", "--run-dir", str(tmp_path / "r"), "--set", "optim.speed=2"])
    assert result.exit_code != 0 and "no field 'speed'" in result.output
    result = runner.invoke(train_command, ["--preset", "tiny", "--run-dir", str(tmp_path / "r")])
    assert result.exit_code != 0 and "--data" in result.output  # no data given
    result = runner.invoke(train_command, ["--preset", "gpu", "--run-dir", str(tmp_path / "g")])
    assert result.exit_code != 0 and "--data" in result.output  # the preset is accepted; only the data is missing


def test_command_trains_from_a_feature_cache(tmp_path, write_class_photos):
    """exemplar train --cache DIR: no encoder, no photo decoding; checkpoints, samples, exportable."""
    from data_prep import sources
    from data_prep.feature_cache import build_cache

    photos, cache, run_dir = tmp_path / "photos", tmp_path / "cache", tmp_path / "run"
    write_class_photos(photos, per_class=3)
    keras.utils.set_random_seed(0)
    build_cache(sources.image_folder(photos), cache, size=96, batch_size=8,
                encoder=EfficientNetLite0(include_top=False, weights=None), progress=None)
    args = ["--preset", "tiny", "--cache", str(cache), "--run-dir", str(run_dir), "--epochs", "1",
            "--steps-per-epoch", "2", "--set", "train.run_eagerly=true"]
    result = CliRunner().invoke(train_command, args)
    assert result.exit_code == 0, result.output
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["data"]["cache_dir"] == str(cache)
    with open(run_dir / "log.csv") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 1 and all(np.isfinite(float(rows[0][name])) for name in LOSS_NAMES)
    assert not (run_dir / "data_report.json").exists()  # no photo scan: the cache listed its skips
    sheet = np.asarray(Image.open(run_dir / "samples" / "epoch_001.png"))
    assert sheet.shape == (2 * 64, 4 * 64, 3) and sheet.std() > 5
    export(run_dir, tmp_path / "model", checkpoint="last")
    color_net, info = load_color_net(tmp_path / "model")
    assert color_net.num_classes == 2 and info["steps"] == 2

    # Several checkpoints are averaged weight by weight: a copy shifted by 2 averages to +1.
    for variable in color_net.weights:
        variable.assign(variable + 2.0)
    color_net.save_weights(run_dir / "checkpoints" / "generator_epoch002.weights.h5")
    export(run_dir, tmp_path / "average", checkpoint="epoch001,epoch002")
    average, info = load_color_net(tmp_path / "average")
    assert info["checkpoint"] == "epoch001,epoch002" and info["epochs"] == 2
    for shifted, averaged in zip(color_net.weights, average.weights):
        np.testing.assert_allclose(averaged.numpy(), shifted.numpy() - 1.0, atol=1e-5)


def test_cached_run_builds_no_encoder(tmp_path):
    config = config_lib.override(config_lib.preset("tiny"), ["data.cache_dir=" + str(tmp_path)])
    model = run.build_model(config, num_classes=0)
    assert model.encoder is None and "class_logits" not in model.generator.output
    assert run.build_model(config_lib.preset("tiny")).encoder is not None


def test_gpu_preset_code_path_trains_on_a_cpu(tmp_path, write_class_photos):
    """The gpu preset's own settings (bfloat16 compute, group shares, hints) on tiny shapes, so CI
    covers its code path without a GPU."""
    gpu = config_lib.preset("gpu")
    assert gpu.train.mixed_precision and gpu.train.precision == "mixed_bfloat16"
    assert gpu.data.group_shares == config_lib.WORLD_SHARES and gpu.train.batch_size >= 64
    data = tmp_path / "photos"
    write_class_photos(data)
    small = ["data.image_size=64", "data.reference_size=64", "model.width=16", "model.hist_bins=11",
             "model.encoder_weights=none", "model.disc_width=16", "model.disc_layers=2", "train.batch_size=4",
             "train.epochs=1", "train.steps_per_epoch=2", "train.sample_count=0", "data.source=folder",
             "data.data_dir=" + str(data)]
    config = config_lib.override(gpu, small)
    model, history = run.train(config, tmp_path / "run", verbose=0)
    assert all(np.isfinite(values[-1]) for values in history.values()), history
    assert (tmp_path / "run" / "checkpoints" / "generator_epoch001.weights.h5").exists()
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after the run


def test_cpu_runtime_defaults_are_set_before_tensorflow_only(monkeypatch):
    """training.cpu_runtime: the pooling allocator and oneDNN are defaults (a value in the environment
    wins), set only while TensorFlow has not started (here it has: nothing is set)."""
    import sys as sys_module

    from training import cpu_runtime

    assert cpu_runtime.configure() == []  # this test process imported TensorFlow already
    monkeypatch.delitem(sys_module.modules, "tensorflow")
    monkeypatch.setenv("TF_CPU_ALLOCATOR_USE_BFC", "false")  # recorded, so the test leaves the environment as it was
    monkeypatch.delenv("TF_CPU_ALLOCATOR_USE_BFC")
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    assert cpu_runtime.configure() == ["TF_CPU_ALLOCATOR_USE_BFC"]
    assert os.environ["TF_CPU_ALLOCATOR_USE_BFC"] == "true" and os.environ["TF_ENABLE_ONEDNN_OPTS"] == "0"


def test_has_bfloat16_reads_the_cpu_flags(tmp_path):
    from training import cpu_runtime

    with_bf16, without = tmp_path / "with", tmp_path / "without"
    with_bf16.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n\nprocessor\t: 1\n")
    without.write_text("processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_vnni\nbugs\t\t: amx_bf16_is_not_a_flag_here\n")
    assert cpu_runtime.has_bfloat16(with_bf16) is True
    assert cpu_runtime.has_bfloat16(without) is False
    assert cpu_runtime.has_bfloat16(tmp_path / "missing") is False


@pytest.mark.parametrize("has_bf16, extra, noted", [(True, [], True), (False, [], False),
                                                    (True, ["--set", "train.mixed_precision=true"], False)])
def test_train_command_notes_bfloat16_on_a_cpu_that_has_it(monkeypatch, tmp_path, has_bf16, extra, noted):
    from training import cpu_runtime

    monkeypatch.setattr(cpu_runtime, "has_bfloat16", lambda: has_bf16)
    seen = []
    monkeypatch.setattr(run, "train", lambda config, run_dir, verbose: seen.append(config) or (None, {}))
    data = tmp_path / "photos"
    data.mkdir()
    args = ["--preset", "tiny", "--data", str(data), "--run-dir", str(tmp_path / "run")] + extra
    result = CliRunner().invoke(train_command, args)
    assert result.exit_code == 0, result.output
    assert len(seen) == 1 and ("bfloat16 instructions" in result.output) == noted
