"""keras.callbacks.BackupAndRestore that resumes a killed run at the step where it stopped.

Stock BackupAndRestore (Keras 3) saves every ``save_freq`` steps but on restart restores only the
weights and the epoch number: the interrupted epoch then runs all its steps again, and, because it
sets its epoch counter only at epoch ends, a backup taken during that first resumed epoch records
epoch 0. This subclass:
  - records ``steps_done`` (steps finished in the current epoch) next to ``epoch`` in the metadata,
    so the caller (training.run) can first finish the interrupted epoch with a short fit();
  - keeps its epoch counter right from on_epoch_begin;
  - also saves at every epoch end (a clean resume point), but not after the epoch's last step,
    which the epoch-end save follows anyway;
  - refuses to save non-finite weights (the previous, good backup stays);
  - writes to temporary files and renames them, so a kill mid-write never corrupts the backup;
  - keeps the backup when fit() returns (delete_checkpoint=False): training.run deletes it once
    the whole run has finished, so a kill between two fit() calls loses nothing.
The model state saved is model.save_weights: both networks, the optimizers' slots and iterations,
and the loss trackers. Keras has no public hooks for this: the callback's private state and save
methods are reached through training.keras_compat.BackupAndRestoreState.
"""

import json
import os

from training.keras_compat import BackupAndRestoreState
from training.nan_guard import check_finite


class ResumableBackup(BackupAndRestoreState):
    """BackupAndRestore(backup_dir, save_freq=steps) with mid-epoch resume; see the module docstring.

    batch_offset: steps of the current epoch done before this fit() started (set by training.run
    for the short fit that finishes an interrupted epoch), so the metadata counts from epoch start.
    """

    def __init__(self, backup_dir, save_freq):
        super().__init__(str(backup_dir), save_freq=save_freq, double_checkpoint=False, delete_checkpoint=False)
        self.batch_offset = 0
        self.steps_done = 0  # steps finished in the current epoch, as the metadata records them

    @staticmethod
    def resume_point(backup_dir):
        """(epoch, steps_done) of the newest backup in backup_dir (0-based epoch), or None."""
        metadata = os.path.join(str(backup_dir), "training_metadata.json")
        weights = os.path.join(str(backup_dir), "latest.weights.h5")
        if not (os.path.exists(metadata) and os.path.exists(weights)):
            return None
        with open(metadata, encoding="utf-8") as file:
            values = json.load(file)
        return int(values["epoch"]), int(values.get("steps_done", 0))

    def on_epoch_begin(self, epoch, logs=None):
        self.current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.steps_done = self.batch_offset + batch + 1
        last_step = self.params.get("steps") is not None and batch + 1 >= self.params["steps"]
        if self.should_save_on_batch(batch) and not last_step:
            self.save_backup()

    def on_epoch_end(self, epoch, logs=None):
        self.current_epoch = epoch + 1
        self.last_batch_seen = 0
        self.steps_done = 0
        self.batch_offset = 0
        self.save_backup()

    def save_backup(self):
        check_finite(self.model.weights, "model", "at the backup point")
        os.makedirs(self.backup_dir, exist_ok=True)
        # Write to temporary names, then rename (atomic): a kill mid-write leaves the previous backup.
        # A kill between the two renames pairs new weights with the previous metadata: the resumed
        # run then counts up to save_freq steps too many, which is harmless.
        weights_tmp = self.weights_path[: -len(".weights.h5")] + ".partial.weights.h5"
        self.model.save_weights(filepath=weights_tmp, overwrite=True)
        metadata = {"epoch": self.current_epoch, "batch": self.last_batch_seen, "steps_done": self.steps_done}
        metadata_tmp = self.metadata_path + ".partial"
        with open(metadata_tmp, "w", encoding="utf-8") as file:
            json.dump(metadata, file)
        os.replace(weights_tmp, self.weights_path)
        os.replace(metadata_tmp, self.metadata_path)
