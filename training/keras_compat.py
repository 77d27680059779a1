"""Every private Keras or TensorFlow name exemplar uses, in one place, checked at import.

Training leans on four pieces of Keras/TensorFlow internals. Each one is spelled only here; the
training classes get the behaviour from the mixins and functions below:

- ``keras.Model._maybe_symbolic_build`` (overridden, SkipSymbolicBuildWhenBuilt) with
  ``_flatten_layers()``: under a strategy Keras reduces a first batch across replicas to learn
  its shapes, which MultiWorkerMirroredStrategy cannot do for a dict of tensors, so fit() failed
  on every worker of a cluster (keras-team/keras#20329, open). ColorizationGAN is fully built
  before fit(), so it skips that step.
- ``tf.distribute.StrategyExtended._in_multi_worker_mode()`` (is_multi_worker): the test Keras
  itself uses (``_collective_all_reduce_multi_worker``) to choose how fit() reduces the logs of a
  train step; with several workers it takes ``strategy.reduce("MEAN", v, axis=0)``, which fails
  on the scalar losses ColorizationGAN logs, so they are logged with shape (1,) there. No upstream
  issue was found for this; it is Keras 3.15's code path, read in
  keras/src/backend/tensorflow/trainer.py (reduce_per_replica).
- ``keras.callbacks.BackupAndRestore._should_save_on_batch`` and ``._save_model`` and its private
  state ``_current_epoch``, ``_last_batch_seen``, ``_weights_path``, ``_training_metadata_path``
  (BackupAndRestoreState): training.resumable_backup resumes a killed run at the step it stopped,
  not at the start of the epoch, and writes the backup atomically. Stock BackupAndRestore restores
  only the weights and the epoch (its epoch restore was reported missing in Keras 3.0.1,
  keras-team/keras#19179, closed) and has no public hook for when or how it saves, so the
  subclass overrides the private ones. No upstream issue asking for a mid-epoch resume was found.

If Keras or TensorFlow renames one of these, an override would silently stop running (Keras would
call the new name, not ours). So importing this module checks that every name still exists and
raises ExemplarError naming the missing ones, the installed versions and the supported ranges.
SUPPORTED must match install_requires in setup.cfg (tests/test_keras_compat.py checks it).
"""

import keras
import tensorflow as tf

from exemplar.core.errors import ExemplarError

# The versions training was tested with; the same bounds as setup.cfg's install_requires.
SUPPORTED = {"keras": ">=3.15,<3.16", "tensorflow": ">=2.21,<2.22"}

_BACKUP = "keras.callbacks.BackupAndRestore"


_MULTI_WORKER_BUILD = "MultiWorkerMirroredStrategy fit, keras-team/keras#20329"
_LOG_REDUCTION = "multi-worker logs"
_RESUME = "mid-epoch resume"


def _private_names():
    """[(owner as the message spells it, the object to look on, private name, what needs it)]."""
    # A throwaway instance holds the callback's private state (its __init__ touches no file).
    backup = keras.callbacks.BackupAndRestore(backup_dir="keras_compat_check")
    return [
        ("keras.Model", keras.Model, "_maybe_symbolic_build", _MULTI_WORKER_BUILD),
        ("keras.Model", keras.Model, "_flatten_layers", _MULTI_WORKER_BUILD),
        ("tf.distribute.StrategyExtended", tf.distribute.StrategyExtended, "_in_multi_worker_mode", _LOG_REDUCTION),
        (_BACKUP, keras.callbacks.BackupAndRestore, "_should_save_on_batch", _RESUME),
        (_BACKUP, keras.callbacks.BackupAndRestore, "_save_model", _RESUME),
        (f"{_BACKUP}()", backup, "_current_epoch", _RESUME),
        (f"{_BACKUP}()", backup, "_last_batch_seen", _RESUME),
        (f"{_BACKUP}()", backup, "_weights_path", _RESUME),
        (f"{_BACKUP}()", backup, "_training_metadata_path", _RESUME),
    ]


def check_private_names():
    """Raise ExemplarError if the installed Keras/TensorFlow lacks a name this module relies on."""
    missing = [f"{owner}.{name} (for {use})" for owner, obj, name, use in _private_names() if not hasattr(obj, name)]
    if missing:
        wanted = " ".join(f'"{package}{bounds}"' for package, bounds in SUPPORTED.items())
        raise ExemplarError(
            f"exemplar's training relies on Keras/TensorFlow internals missing from the installed "
            f"Keras {keras.__version__} / TensorFlow {tf.__version__}: {', '.join(missing)}. Why each "
            f"is used: training/keras_compat.py. Supported: keras{SUPPORTED['keras']}, "
            f"tensorflow{SUPPORTED['tensorflow']}; install them with: pip install {wanted}"
        )


check_private_names()


class SkipSymbolicBuildWhenBuilt:
    """Mixin for a keras.Model whose layers and optimizer are all built before fit() (ColorizationGAN:
    __init__ builds the model, compile builds both optimizers): Keras's symbolic build is skipped.

    Under a strategy Keras (3.15) first takes a batch and reduces it across replicas to learn its
    shapes, which MultiWorkerMirroredStrategy cannot do for a dict of tensors
    (keras-team/keras#20329): fit() failed on every worker of a cluster. When something is still
    unbuilt, Keras's own build runs as before.
    """

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if all(layer.built for layer in self._flatten_layers()) and self.optimizer.built:
            return
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)


def is_multi_worker(strategy):
    """True for a MultiWorkerMirroredStrategy with more than one worker (Keras's own test, which
    decides how fit() reduces the logs)."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


class BackupAndRestoreState(keras.callbacks.BackupAndRestore):
    """keras.callbacks.BackupAndRestore with its private state and hooks under public names, for a
    subclass that changes when and how the backup is written (training.resumable_backup).

    Override ``save_backup`` (Keras's ``_save_model`` calls it); ``should_save_on_batch`` is Keras's
    save_freq counting, which also advances ``last_batch_seen``.
    """

    @property
    def current_epoch(self):
        """The epoch the backup records (0-based; Keras moves it to epoch + 1 at an epoch's end)."""
        return self._current_epoch

    @current_epoch.setter
    def current_epoch(self, value):
        self._current_epoch = value

    @property
    def last_batch_seen(self):
        return self._last_batch_seen

    @last_batch_seen.setter
    def last_batch_seen(self, value):
        self._last_batch_seen = value

    @property
    def weights_path(self):
        """backup_dir/latest.weights.h5: where Keras restores the weights from on_train_begin."""
        return self._weights_path

    @property
    def metadata_path(self):
        """backup_dir/training_metadata.json: where Keras reads the epoch to restart from."""
        return self._training_metadata_path

    def should_save_on_batch(self, batch):
        return self._should_save_on_batch(batch)

    def save_backup(self):
        """Write the backup: Keras's own way unless a subclass overrides this."""
        super()._save_model()

    def _save_model(self):
        self.save_backup()  # Keras's callers (on_epoch_end, on_train_batch_end) reach the override
