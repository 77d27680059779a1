"""The callback list of a training run, in the order that keeps bad weights out of every file.

Layout of a run folder:
  config.json                  the resolved ExperimentConfig (training.config)
  checkpoints/                 generator weights per epoch, last and best (GeneratorCheckpoint)
  backup/                      full training state every train.backup_every steps (ResumableBackup)
  samples/epoch_NNN.png        target | reference | output | truth (SampleSheet)
  logs/                        TensorBoard (when the tensorboard package is installed)
  log.csv                      one row of losses per epoch (CSVLogger)
"""

import importlib.util
import os

import keras

from training.generator_checkpoint import GeneratorCheckpoint
from training.nan_guard import NanGuard, TrainingDiverged, check_finite
from training.resumable_backup import ResumableBackup
from training.sample_sheet import SampleSheet

__all__ = [
    "GeneratorCheckpoint",
    "NanGuard",
    "ResumableBackup",
    "SampleSheet",
    "TrainingDiverged",
    "check_finite",
    "training_callbacks",
]


def training_callbacks(run_dir, config, sample_batch=None, resume=False, validation=False):
    """[NanGuard, GeneratorCheckpoint, SampleSheet, TensorBoard (if installed), CSVLogger, ResumableBackup].

    NanGuard comes first: Keras calls callbacks in list order, so a NaN loss raises before the
    checkpoint and backup callbacks of the same step or epoch run. ``resume``: the run continues an
    interrupted one (append to log.csv, keep the best value). ``validation``: monitor val_<metric>.
    """
    run_dir = str(run_dir)
    monitor = ("val_" if validation else "") + config.train.monitor
    callbacks = [
        NanGuard(run_dir),
        GeneratorCheckpoint(os.path.join(run_dir, "checkpoints"), monitor=monitor, resume=resume),
    ]
    if sample_batch is not None:
        callbacks.append(SampleSheet(os.path.join(run_dir, "samples"), sample_batch))
    if importlib.util.find_spec("tensorboard") is not None:  # tf.summary needs the tensorboard package
        callbacks.append(keras.callbacks.TensorBoard(os.path.join(run_dir, "logs"), write_graph=False, profile_batch=0))
    callbacks += [
        keras.callbacks.CSVLogger(os.path.join(run_dir, "log.csv"), append=resume),
        ResumableBackup(os.path.join(run_dir, "backup"), save_freq=config.train.backup_every),
    ]
    return callbacks
