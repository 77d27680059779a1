"""Save the generator's weights (what inference needs) after every epoch, plus the best so far.

Files in ``directory``:
  generator_config.json            the generator's Keras config (rebuild it, then load_weights)
  generator_epoch{NNN}.weights.h5  after epoch NNN (1-based)
  generator_last.weights.h5        a copy of the newest epoch
  generator_best.weights.h5        the epoch with the lowest (or highest, mode="max") ``monitor``
  best.json                        {"epoch", "monitor", "value"}: survives a resume
``python -m training.export_model RUN_DIR OUT_DIR`` turns one of them into a shippable model.
Each file is written to a temporary name and renamed, so a run killed mid-write never leaves a
truncated checkpoint in place of a good one.
"""

import json
import math
import os
import shutil

import keras

from training.nan_guard import check_finite


class GeneratorCheckpoint(keras.callbacks.Callback):
    """Per-epoch and best generator checkpoints of a ColorizationGAN (``model.generator``).

    resume: keep the best value recorded in best.json (a resumed run); False starts it afresh.
    """

    def __init__(self, directory, monitor="l1", mode="min", resume=False):
        super().__init__()
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.directory = str(directory)
        self.monitor = monitor
        self.mode = mode
        self.resume = resume
        self.best = None

    def on_train_begin(self, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        generator = self.model.generator
        generator_config = keras.saving.serialize_keras_object(generator)
        _write_text(self._path("generator_config.json"), json.dumps(generator_config, indent=2))
        self.best = None
        best_path = self._path("best.json")
        if self.resume and os.path.exists(best_path):
            with open(best_path, encoding="utf-8") as file:
                self.best = json.load(file)["value"]

    def on_epoch_end(self, epoch, logs=None):
        generator = self.model.generator
        check_finite(generator.weights, "generator", f"after epoch {epoch + 1}")
        epoch_path = self._path(f"generator_epoch{epoch + 1:03d}.weights.h5")
        _save_weights(generator, epoch_path)
        _copy(epoch_path, self._path("generator_last.weights.h5"))
        value = (logs or {}).get(self.monitor)
        if value is None or not math.isfinite(float(value)):
            return
        value = float(value)
        if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
            self.best = value
            _copy(epoch_path, self._path("generator_best.weights.h5"))
            record = {"epoch": epoch + 1, "monitor": self.monitor, "value": value}
            _write_text(self._path("best.json"), json.dumps(record, indent=2))

    def _path(self, name):
        return os.path.join(self.directory, name)


def _save_weights(model, path):
    temporary = path[: -len(".weights.h5")] + ".partial.weights.h5"  # Keras wants the suffix
    model.save_weights(temporary)
    os.replace(temporary, path)


def _copy(source, destination):
    temporary = destination + ".partial"
    shutil.copyfile(source, temporary)
    os.replace(temporary, destination)


def _write_text(path, text):
    temporary = path + ".partial"
    with open(temporary, "w", encoding="utf-8") as file:
        file.write(text + "\n")
    os.replace(temporary, path)
