"""GAN training for exemplar's colorizer (TensorFlow backend; tf.distribute for scale-out).

- config: typed, frozen ExperimentConfig, presets (tiny, cpu, gpu, places365), dotted overrides
- colorization_gan: ColorizationGAN, the keras.Model whose train_step trains both players
- losses: the loss terms (each the mean over the local batch)
- callbacks: the run's callback list, from nan_guard (NanGuard), generator_checkpoint
  (GeneratorCheckpoint), sample_sheet (SampleSheet), resumable_backup (ResumableBackup)
- run: train(config, run_dir), which also resumes an interrupted run
- ``python -m training`` = ``exemplar train`` (exemplar/cli/train.py)

Importing this package is cheap; TensorFlow is imported by the modules that need it.
"""
