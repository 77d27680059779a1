"""Stop a diverged run before any non-finite weights reach a checkpoint or the backup.

keras.callbacks.TerminateOnNaN only sets ``stop_training``: the epoch then still ends, and the
epoch-end checkpoint and backup callbacks would write the NaN weights over the last good ones.
NanGuard instead raises at once (it must come FIRST in the callback list, so later callbacks never
see the bad batch), and the savers call :func:`check_finite` on the weights before writing, which
also catches the rarer case of a finite loss whose update produced non-finite weights.
"""

import math

import keras
import numpy as np

from exemplar.core.errors import ExemplarError


class TrainingDiverged(ExemplarError):
    """A loss or a weight became NaN/inf; the run stopped without saving the bad state."""


def check_finite(variables, what, where):
    """Raise TrainingDiverged if any of ``variables`` holds a NaN or an infinity."""
    for variable in variables:
        if not np.isfinite(keras.ops.convert_to_numpy(variable)).all():
            raise TrainingDiverged(
                f"training diverged: {what} variable {variable.path!r} is not finite {where}; "
                "not saved, the last checkpoint and backup keep the last good weights"
            )


class NanGuard(keras.callbacks.Callback):
    """Raise TrainingDiverged as soon as a logged loss is NaN or infinite.

    run_dir: named in the message, where the last good checkpoints are.
    """

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir = str(run_dir)
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._check(logs, f"at epoch {self._epoch + 1}, step {batch + 1}")

    def on_epoch_end(self, epoch, logs=None):
        self._check(logs, f"at the end of epoch {epoch + 1}")  # validation losses too

    def _check(self, logs, where):
        for name, value in (logs or {}).items():
            if isinstance(value, (int, float, np.floating)) and not math.isfinite(float(value)):
                raise TrainingDiverged(
                    f"training diverged: loss {name!r} is {value} {where}. Stopped without saving; "
                    f"the last good generator weights are in {self.run_dir}/checkpoints and a restart "
                    f"resumes from the last good backup in {self.run_dir}/backup (lower optim.lr, or "
                    "set train.mixed_precision=false, before resuming)"
                )
