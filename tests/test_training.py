"""GAN training: config parsing, train steps, NaN safety, and the command killed then resumed.

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

from exemplar.commands.train import train as train_command
from exemplar.errors import ExemplarError
from exemplar.generator_weights import load_generator, own_variables
from training import config as config_lib
from training import run
from training.colorization_gan import LOSS_NAMES, ColorizationGAN
from training.export_model import export
from training.generator_checkpoint import GeneratorCheckpoint
from training.nan_guard import NanGuard, TrainingDiverged
from training.resumable_backup import ResumableBackup

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


def _write_photos(root, per_class=8):
    """16 small colourful photos in two class folders."""
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:72, 0:80].astype(np.float32) / 72
    for c, name in enumerate(["forest", "sea"]):
        os.makedirs(root / name)
        for i in range(per_class):
            base = rng.uniform(0.25, 0.75, 3)
            waves = [0.3 * np.sin(3 * x + i), 0.3 * np.cos(4 * y + c), 0.2 * np.sin(x + y)]
            rgb = np.stack([base[k] + waves[k] for k in range(3)], -1)
            Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).save(root / name / f"{i}.png")


@pytest.fixture(scope="module")
def tiny_gan():
    config = config_lib.preset("tiny")
    keras.utils.set_random_seed(0)
    model = run.compile_model(run.build_model(config, num_classes=2), config)
    model.run_eagerly = True
    return model


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
    for bad in ["data.self_crop_min=0", "data.self_hue=0.7", "data.self_saturation=1"]:
        with pytest.raises(ExemplarError, match=bad.split("=")[0]):
            config_lib.check(config_lib.override(config, [bad]))


# --------------------------------------------------------------------------- the step


def test_train_steps_give_finite_losses_and_move_both_players(tiny_gan):
    generator, discriminator = tiny_gan.generator, tiny_gan.discriminator
    before_g = [v.numpy().copy() for v in generator.trainable_variables]
    before_d = [v.numpy().copy() for v in discriminator.trainable_variables]
    frozen = [v.numpy().copy() for v in generator.encoder.weights]
    # Two steps: the generator's ab heads start at zero (grey output), so the first step moves only
    # them; from the second on, gradients reach the whole decoder.
    data = tf.data.Dataset.from_tensors(_batch()).repeat()
    logs = tiny_gan.fit(data, epochs=1, steps_per_epoch=2, verbose=0, shuffle=False).history

    assert set(logs) == set(LOSS_NAMES)
    assert all(np.isfinite(values[0]) for values in logs.values()), logs
    assert logs["l1"][0] > 0 and logs["hist"][0] > 0 and logs["cls"][0] > 0
    changed_g = [not np.array_equal(a, v.numpy()) for a, v in zip(before_g, generator.trainable_variables)]
    changed_d = [not np.array_equal(a, v.numpy()) for a, v in zip(before_d, discriminator.trainable_variables)]
    assert np.mean(changed_g) > 0.9 and all(changed_d), (np.mean(changed_g), changed_d)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(frozen, generator.encoder.weights))  # frozen encoder
    assert int(tiny_gan.g_optimizer.iterations) == int(tiny_gan.d_optimizer.iterations) == 2

    # Validation (test_step): the same losses, no update.
    after = [v.numpy().copy() for v in tiny_gan.trainable_variables]
    scores = tiny_gan.evaluate(tf.data.Dataset.from_tensors(_batch()), verbose=0, return_dict=True)
    assert set(scores) == set(LOSS_NAMES) and all(np.isfinite(list(scores.values())))
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(after, tiny_gan.trainable_variables))


def test_masks_pixel_and_class_losses_and_drops_references(tiny_gan):
    batch = _batch()
    batch["pair_kind"][:] = 1  # no self-augmented pair: no pixel loss
    batch["label"][:] = -1  # no labelled photo: no class loss
    inputs = tiny_gan.generator_inputs(batch)
    values, d_loss = tiny_gan._compute_losses(batch, inputs, tiny_gan.generator(inputs))
    assert float(values["l1"]) == 0.0 and float(values["cls"]) == 0.0
    assert float(values["hist"]) > 0 and np.isfinite(float(d_loss))
    np.testing.assert_allclose(np.sum(inputs["reference_hist"], axis=-1), 1.0, rtol=1e-5)

    tiny_gan.palette_dropout = 1.0
    try:
        dropped = tiny_gan.generator_inputs(batch, drop_reference=True)["reference_mask"]
    finally:
        tiny_gan.palette_dropout = 0.1
    assert np.all(dropped.numpy() == 0.0) and np.all(inputs["reference_mask"].numpy() == 1.0)


def test_gan_config_round_trip(tiny_gan):
    clone = ColorizationGAN.from_config(tiny_gan.get_config())
    assert clone.hist_bins == tiny_gan.hist_bins and clone.palette_dropout == tiny_gan.palette_dropout
    assert [v.shape for v in clone.generator.weights] == [v.shape for v in tiny_gan.generator.weights]
    assert [v.shape for v in clone.discriminator.weights] == [v.shape for v in tiny_gan.discriminator.weights]


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


def test_mixed_precision_with_a_fine_tuned_encoder():
    # bfloat16 compute, float32 variables; the encoder trains with its own, lower-lr optimizer.
    config = config_lib.override(
        config_lib.preset("tiny"),
        ["train.mixed_precision=true", "train.precision=mixed_bfloat16", "model.trainable_encoder=true"],
    )
    keras.mixed_precision.set_global_policy(config.train.precision)
    try:
        model = run.compile_model(run.build_model(config, num_classes=2), config)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    model.run_eagerly = True
    assert model(_batch())["ab"].dtype == "bfloat16"  # the GAN computes the histogram, then runs the generator
    assert all(v.dtype == "float32" for v in model.generator.weights + model.discriminator.weights)
    encoder = model.generator.encoder
    before = [v.numpy().copy() for v in encoder.trainable_variables]
    logs = model.fit(tf.data.Dataset.from_tensors(_batch()), epochs=1, steps_per_epoch=1, verbose=0, shuffle=False).history
    assert all(np.isfinite(values[0]) for values in logs.values()), logs
    assert float(model.encoder_optimizer.learning_rate) == pytest.approx(config.optim.lr * config.optim.encoder_lr_multiplier)
    assert int(model.encoder_optimizer.iterations) == 1
    assert np.mean([not np.array_equal(a, v.numpy()) for a, v in zip(before, encoder.trainable_variables)]) > 0.9


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


def test_command_trains_and_resumes_a_killed_run_mid_epoch(tmp_path):
    data, run_dir = tmp_path / "photos", tmp_path / "run"
    _write_photos(data)
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
    assert best["monitor"] == "l1" and best["epoch"] in (1, 2)
    generator_config = json.loads((checkpoints / "generator_config.json").read_text())
    generator = keras.saving.deserialize_keras_object(generator_config)
    generator.load_weights(checkpoints / "generator_best.weights.h5")
    # ... and training.export_model turns it into the shipped format (--method net --weights DIR).
    export(run_dir, tmp_path / "model")
    shipped, info = load_generator(tmp_path / "model", encoder=generator.encoder)
    assert info["checkpoint"] == "best" and info["epochs_run"] == 2
    for path, variable in own_variables(generator).items():
        np.testing.assert_array_equal(own_variables(shipped)[path].numpy(), variable.numpy(), err_msg=path)
    assert (checkpoints / "generator_epoch002.weights.h5").exists() and (checkpoints / "generator_last.weights.h5").exists()


def test_init_weights_start_a_run_from_another_runs_generator(tmp_path):
    data = tmp_path / "photos"
    _write_photos(data, per_class=4)
    base = ["data.data_dir=" + str(data), "train.epochs=1", "train.steps_per_epoch=1", "train.run_eagerly=true"]
    first, _ = run.train(config_lib.override(config_lib.preset("tiny"), base), tmp_path / "a", verbose=0)
    start = tmp_path / "a" / "checkpoints" / "generator_last.weights.h5"
    # lr 0: the second run cannot move its generator, so it must end where the first one did.
    frozen = base + ["optim.lr=0", "train.init_weights=" + str(start), "data.seed=3", "train.seed=5"]
    second, _ = run.train(config_lib.override(config_lib.preset("tiny"), frozen), tmp_path / "b", verbose=0)
    first_vars, second_vars = own_variables(first.generator), own_variables(second.generator)
    assert first_vars.keys() == second_vars.keys()
    for path, variable in first_vars.items():
        np.testing.assert_allclose(second_vars[path].numpy(), variable.numpy(), atol=1e-6, err_msg=path)
    missing = config_lib.override(config_lib.preset("tiny"), base + ["train.init_weights=" + str(tmp_path / "no.h5")])
    with pytest.raises(ExemplarError, match="no.h5"):
        run.train(missing, tmp_path / "c", verbose=0)


def test_command_help_and_bad_override(tmp_path):
    runner = CliRunner()
    result = runner.invoke(train_command, ["--help"])
    assert result.exit_code == 0
    options = ["--preset", "--data", "--run-dir", "--epochs", "--steps-per-epoch", "--batch-size", "--set"]
    for option in options + ["--places365-data-dir", "--classes", "--limit"]:
        assert option in result.output
    result = runner.invoke(train_command, ["--preset", "tiny", "--run-dir", str(tmp_path / "r"), "--set", "optim.speed=2"])
    assert result.exit_code != 0 and "no field 'speed'" in result.output
    result = runner.invoke(train_command, ["--preset", "tiny", "--run-dir", str(tmp_path / "r")])
    assert result.exit_code != 0 and "--data" in result.output  # no data given
