"""train(config, run_dir): strategy, data, models, compile, fit with callbacks, resume.

Resuming: a killed run leaves run_dir/backup (ResumableBackup, every train.backup_every steps).
Calling train() again on the same run_dir restores weights, optimizer state and loss trackers, then
first finishes the interrupted epoch with a short fit() (its remaining steps only), then runs the
remaining epochs. The backup is deleted only when all epochs are done. The command line re-reads
run_dir/config.json in that case (see resume_config) so the same model is rebuilt.

Several machines (TF_CONFIG, MultiWorkerMirroredStrategy): only the chief writes run_dir; the other
workers write their checkpoints and backup to a temporary folder of their own, and every worker
resumes from the chief's run_dir/backup, so run_dir must be one folder that all workers share.
"""

import os
import shutil
import tempfile

import keras
import tensorflow as tf

from exemplar.core.color import AB_SCALE
from exemplar.core.errors import ExemplarError
from training import config as config_lib
from training.callbacks import ResumableBackup, training_callbacks
from training.colorization_gan import ColorizationGAN


def resume_config(run_dir):
    """The config of an interrupted run in run_dir (config.json + a backup), else None."""
    path = os.path.join(str(run_dir), "config.json")
    if ResumableBackup.resume_point(os.path.join(str(run_dir), "backup")) is None or not os.path.exists(path):
        return None
    return config_lib.load(path)


def make_strategy(name="auto"):
    """auto: MultiWorkerMirroredStrategy when TF_CONFIG is set, MirroredStrategy with more than one
    GPU, else the default (single-device) strategy. Explicit: default | mirrored | multi_worker."""
    if name == "auto":
        if os.environ.get("TF_CONFIG"):
            name = "multi_worker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"unknown strategy {name!r}: use auto, default, mirrored or multi_worker")


def build_model(config, num_classes=0, class_weights=None):
    """ColorizationGAN of a ColorNet + PatchDiscriminator, as ``config.model`` describes.

    class_weights: (Q,) rebalancing weights (None: uniform, for a model that will only be loaded).
    The encoder is built only for image batches (no data.cache_dir): cached runs never need it.
    """
    import numpy as np

    from exemplar.model.ab_bins import AbBins
    from exemplar.model.color_net import ColorNet
    from exemplar.model.patch_discriminator import PatchDiscriminator
    from training.colorization_gan import ColorizationGAN

    model = config.model
    color_net = ColorNet(
        width=model.width,
        num_classes=num_classes if model.classifier else 0,
        hist_bins=model.hist_bins,
        temperature=model.temperature,
        top_k=model.top_k,
        encoder=model.encoder,
        hints=model.hints,
        hint_branch=model.hint_branch,
        name="generator",
    )
    if config.train.train_only:
        freeze_except(color_net, config.train.train_only)
    discriminator = PatchDiscriminator(width=model.disc_width, num_layers=model.disc_layers, name="discriminator")
    encoder = None
    if not config.data.cache_dir:
        from exemplar.model.encoder import build_encoder

        encoder = build_encoder(model.encoder, weights=model.encoder_weights)
        encoder.trainable = False
    if class_weights is None:
        class_weights = np.ones(AbBins().count, np.float32)
    loss = config.loss
    hints = dict(share=loss.hint_share, share_free=loss.hint_share_free, p=loss.hint_p, max_count=loss.hint_max,
                 colourful=loss.hint_colourful, patch_share=loss.hint_patch_share)
    return ColorizationGAN(color_net, discriminator, class_weights, encoder=encoder, hist_bins=model.hist_bins,
                           palette_share=loss.palette_share, auto_share=loss.auto_share,
                           train_temperature=loss.train_temperature, l1_all=loss.l1_all, hints=hints)


def freeze_except(color_net, paths):
    """Mark every ColorNet variable not named in ``paths`` untrainable (before compile: the optimizer
    then holds slots for the named ones only). An entry is a variable's path (``hint_skip32/kernel``)
    or a layer's name (``hint_branch``: every variable under it). Raises ExemplarError for an entry
    that names nothing in the model."""
    known = [variable.path for variable in color_net.weights]
    named = lambda path, entry: path == entry or path.startswith(entry + "/")  # noqa: E731
    unknown = [entry for entry in paths if not any(named(path, entry) for path in known)]
    if unknown:
        raise ExemplarError(f"train.train_only: the model has no variable {unknown[0]} (e.g. {sorted(known)[0]})")
    for variable in color_net.weights:
        variable.trainable = any(named(variable.path, entry) for entry in paths)


def compile_model(model, config):
    """Adam for the ColorNet and the discriminator.

    Under the mixed_float16 policy each optimizer gets its own dynamic loss scale
    (keras LossScaleOptimizer); mixed_bfloat16 has float32's range and needs none.
    """
    optim = config.optim

    def adam(lr):
        optimizer = keras.optimizers.Adam(lr, beta_1=optim.beta_1, beta_2=optim.beta_2, clipnorm=optim.clipnorm)
        if keras.mixed_precision.global_policy().name == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    model.compile(
        g_optimizer=adam(optim.lr),
        d_optimizer=adam(optim.d_lr),
        loss_weights=config.loss,
        run_eagerly=config.train.run_eagerly,
        jit_compile=config.train.jit_compile,
    )
    return model


def load_data(config, seed, sample_count=0, report_path=None):
    """Image batches: (train dataset, validation dataset or None, sample batch of numpy or None, num_classes).

    seed: the training stream's; validation and the sample batch always use data.seed, so they
    show the same examples before and after a resume.
    report_path: for an image folder, scan it once first and write what was skipped (corrupt,
    near-grey) there as JSON; the pipeline also drops such photos, but silently.
    """
    import data_prep

    data = config.data
    classes = list(data.classes) or None
    if data.group_shares:
        print("note: data.group_shares applies to a feature cache (--cache); these photos are drawn in "
              "proportion to the groups' sizes", flush=True)
    if data.source in ("folder", "shards") and not data.data_dir:
        raise ExemplarError(f"no training data: give --data DIR (data.data_dir) for data.source={data.source}")
    if data.source == "folder":
        records = data_prep.image_folder_records(data.data_dir, classes=classes, limit=data.limit, seed=data.seed)
        if report_path is not None:
            records = _scan_and_report(records, report_path)
    elif data.source == "shards":
        records = data_prep.shard_records(data.data_dir)
    elif data.source == "places365":
        if not data.places365_data_dir:
            raise ExemplarError("data.source=places365 needs --places365-data-dir (a prepared TFDS data_dir)")
        records = data_prep.places365_records(data.places365_data_dir, classes=classes, limit=data.limit, seed=data.seed)
    else:
        raise ExemplarError(f"unknown data.source {data.source!r}: use folder, shards or places365")
    val_records = None
    if data.val_data_dir:
        # The training run's class list, so that label i means the same class in both.
        val_records = data_prep.image_folder_records(data.val_data_dir, classes=list(records.class_names) or None)

    def dataset(recs, batch_size, training, repeat, seed):
        ds = data_prep.make_dataset(
            recs,
            image_size=data.image_size,
            reference_size=data.reference_size,
            batch_size=batch_size,
            same_class_fraction=data.same_class_fraction,
            self_augment=dict(crop_min=data.self_crop_min, hue=data.self_hue, saturation=data.self_saturation),
            training=training,
            seed=seed,
            repeat=repeat,
        )
        # Shard by element, not by file: the pipeline reads one list of paths, not one file per worker.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return ds.with_options(options)

    batch = config.train.batch_size
    train_ds = dataset(records, batch, training=True, repeat=True, seed=seed)
    val_ds = dataset(val_records, batch, training=False, repeat=True, seed=data.seed) if val_records is not None else None
    sample = None
    if sample_count:
        # Central crops in input order (training=False): the same examples every epoch.
        source = val_records if val_records is not None else records
        first = next(iter(dataset(source, sample_count, training=False, repeat=True, seed=data.seed)))
        sample = {key: value.numpy() for key, value in first.items()}
    return train_ds, val_ds, sample, len(records.class_names)


def load_cached_data(config, seed):
    """(train dataset, FeatureCache) for a run with data.cache_dir (see data_prep.cached_pairs)."""
    from data_prep.cached_pairs import make_cached_dataset
    from data_prep.feature_cache import FeatureCache

    from data_prep.group_sampling import photo_probabilities

    data = config.data
    cache = FeatureCache(data.cache_dir)
    if cache.encoder != config.model.encoder:
        raise ExemplarError(f"{data.cache_dir}: cached with the {cache.encoder} encoder, but model.encoder is "
                            f"{config.model.encoder} (build a cache with --encoder {config.model.encoder})")
    probabilities = photo_probabilities(cache.groups, cache.group_names, data.group_shares,
                                        warn=lambda text: print(f"note: {text}", flush=True))
    dataset = make_cached_dataset(
        cache,
        image_size=data.image_size,
        reference_size=data.reference_size,
        batch_size=config.train.batch_size,
        same_class_fraction=data.same_class_fraction,
        hue=data.self_hue,
        saturation=data.self_saturation,
        jitter_share=data.self_jitter_share,
        seed=seed,
        photo_probabilities=probabilities,
    )
    return dataset, cache


def _cached_sample(config, cache):
    """The sample sheet's batch: centre crops of photos spread over the cache (self pairs), or None."""
    import numpy as np

    from data_prep.cached_pairs import CachedPairs

    count = min(config.train.sample_count, len(cache))
    if count == 0:
        return None
    pairs = CachedPairs(cache, config.data.image_size, config.data.reference_size)
    examples = [pairs.example(int(i), np.random.default_rng(0), training=False)
                for i in np.linspace(0, len(cache) - 1, count).round()]
    return {key: np.stack([e[key] for e in examples]) for key in examples[0]}


def colour_weights(ab_arrays, max_pixels=400_000):
    """Class-rebalancing weights (Q,) from an iterable of (..., 2) ab arrays (Lab units).

    Pixels are subsampled evenly to at most ``max_pixels`` in all: the weights come from a
    distribution smoothed over neighbouring bins, which a few hundred thousand pixels pin down.
    """
    import numpy as np

    from exemplar.model.ab_bins import AbBins

    ab = np.concatenate([np.asarray(a, np.float32).reshape(-1, 2) for a in ab_arrays])
    ab = ab[:: max(1, len(ab) // max_pixels)]
    bins = AbBins()
    histogram = sum(bins.histogram(chunk) * len(chunk) for chunk in np.array_split(ab, max(1, len(ab) // 50_000)))
    return bins.rebalancing_weights(histogram)


def _scan_and_report(records, report_path):
    """Decode every photo once; log and save the skipped ones; return the usable records."""
    import json

    import data_prep
    from data_prep.sources import Records

    report = data_prep.scan_images(records)
    print(f"training photos: {report.summary()}", flush=True)
    with open(report_path, "w", encoding="utf-8") as file:
        json.dump({"usable": len(report.ok), "corrupt": report.corrupt, "near_grey": report.grey}, file, indent=2)
    return Records(report.ok, records.class_names)


def apply_precision(config):
    """Set Keras' global dtype policy as ``config.train`` asks (``precision`` when ``mixed_precision``,
    else unchanged); returns the policy that was in force, for the caller to restore."""
    previous = keras.mixed_precision.global_policy()
    if config.train.mixed_precision:
        keras.mixed_precision.set_global_policy(config.train.precision)
    return previous


def train(config, run_dir, *, callbacks=(), verbose="auto"):
    """Train (or resume) the run in ``run_dir``; returns (ColorizationGAN, history dict of lists).

    callbacks: extra keras callbacks, called after the built-in ones.
    """
    config_lib.check(config)
    run_dir = str(run_dir)
    os.makedirs(run_dir, exist_ok=True)
    keras.utils.set_random_seed(config.train.seed)
    previous_policy = apply_precision(config)
    try:
        return _train(config, run_dir, list(callbacks), verbose)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def _train(config, run_dir, extra_callbacks, verbose):
    strategy = make_strategy(config.train.strategy)
    replicas = strategy.num_replicas_in_sync
    if config.train.batch_size % replicas:
        raise ExemplarError(
            f"train.batch_size={config.train.batch_size} must be a multiple of the {replicas} replicas"
        )
    if _is_chief(strategy):
        return _train_worker(strategy, config, run_dir, run_dir, extra_callbacks, verbose)
    # Only the chief writes the run folder. The other workers of a multi-worker cluster run the same
    # callbacks (so that every worker does the same work between steps) but write their checkpoints,
    # backup, samples and logs to a private temporary folder, deleted when they stop (TF's
    # multi-worker guide); on a restart they resume from the chief's backup.
    scratch = tempfile.mkdtemp(prefix=f"exemplar_{_worker_name(strategy)}_")
    try:
        return _train_worker(strategy, config, run_dir, scratch, extra_callbacks, verbose)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _train_worker(strategy, config, run_dir, out_dir, extra_callbacks, verbose):
    """train() on one worker: out_dir is run_dir on the chief, a temporary folder on the others."""
    backup_dir = os.path.join(out_dir, "backup")
    # Every worker resumes from the chief's backup (run_dir must be a folder all workers share).
    point = ResumableBackup.resume_point(os.path.join(run_dir, "backup"))
    _check_same_resume_point(strategy, point)
    if point is not None and out_dir != run_dir:
        os.makedirs(backup_dir)  # restored from there by this worker's ResumableBackup
        for name in ("latest.weights.h5", "training_metadata.json"):
            shutil.copyfile(os.path.join(run_dir, "backup", name), os.path.join(backup_dir, name))
    steps = config.train.steps_per_epoch
    done_steps = 0 if point is None else point[0] * steps + point[1]
    config_path = os.path.join(run_dir, "config.json")
    if point is not None and os.path.exists(config_path) and config_lib.load(config_path).model != config.model:
        raise ExemplarError(
            f"{run_dir} holds an interrupted run of another model (see its config.json): resume it with "
            "its own config (exemplar train --run-dir DIR re-reads it) or train in a new --run-dir"
        )
    init_weights = config.train.init_weights if point is None else None  # a resumed run has its own
    if init_weights and not os.path.isfile(init_weights):
        # Before the data scan and model build (minutes on a large folder), not after them.
        raise ExemplarError(f"{init_weights}: train.init_weights names no file (give a generator .weights.h5 or a model .npz)")
    if out_dir == run_dir:  # the chief
        config_lib.save(config, config_path)

    # A different data seed after a resume: the restarted iterator does not replay the same batches.
    if config.data.cache_dir:
        train_ds, cache = load_cached_data(config, config.data.seed + done_steps)
        val_ds, num_classes = None, len(cache.class_names)
        sample = _cached_sample(config, cache)
        step = max(1, len(cache) // 4000)  # every photo's colours would only cost time: 4,000 suffice
        weights = colour_weights(cache.arrays["lab4"][i, ::2, ::2, 1:] for i in range(0, len(cache), step))
    else:
        report = os.path.join(out_dir, "data_report.json") if point is None else None  # scanned once per run
        train_ds, val_ds, sample, num_classes = load_data(
            config, config.data.seed + done_steps, config.train.sample_count, report_path=report
        )
        weights = colour_weights(batch["target_ab"].numpy() * AB_SCALE for batch in train_ds.take(20))
    with strategy.scope():
        model = compile_model(build_model(config, num_classes, weights), config)
    if init_weights:  # fine-tuning: start the generator from another run's weights
        _load_init_weights(model, init_weights)

    callbacks = training_callbacks(out_dir, config, sample, resume=point is not None, validation=val_ds is not None)
    callbacks += extra_callbacks
    backup = next(c for c in callbacks if isinstance(c, ResumableBackup))
    csv_logger = next(c for c in callbacks if isinstance(c, keras.callbacks.CSVLogger))
    validation_steps = config.train.validation_steps if val_ds is not None else None
    fit = dict(validation_data=val_ds, validation_steps=validation_steps, shuffle=False)
    history = {}

    first_epoch = 0
    if point is not None and 0 < point[1] < steps:
        # Finish the interrupted epoch first: its remaining steps only, as one short epoch.
        epoch, steps_done = point
        backup.batch_offset = steps_done
        result = model.fit(
            train_ds,
            epochs=epoch + 1,
            initial_epoch=epoch,
            steps_per_epoch=steps - steps_done,
            callbacks=callbacks,
            verbose=verbose,
            **fit,
        )
        _merge(history, result.history)
        csv_logger.append = True
        first_epoch = epoch + 1
    if first_epoch < config.train.epochs:
        # The backup callback restores the state and the epoch to start from (model._initial_epoch).
        result = model.fit(
            train_ds, epochs=config.train.epochs, steps_per_epoch=steps, callbacks=callbacks, verbose=verbose, **fit
        )
        _merge(history, result.history)
    shutil.rmtree(backup_dir, ignore_errors=True)  # finished: nothing to resume
    return model, history


def _load_init_weights(model, path):
    """A run's generator checkpoint (.weights.h5: the same architecture), or a model folder's weights
    (.npz, as exported: by variable path; variables it lacks, such as a HintBranch added to a shipped
    model, keep their fresh initialisation and are named in a message)."""
    if str(path).endswith(".npz"):
        _load_npz_by_path(model.generator, path)
        return
    try:
        model.generator.load_weights(path)
    except (ValueError, OSError) as error:
        raise ExemplarError(f"{path}: cannot start from these weights ({error})") from error


def _load_npz_by_path(color_net, path):
    from exemplar.model.color_net_weights import assign_npz

    fresh = assign_npz(color_net, path, missing_ok=True)
    if len(fresh) == len(color_net.weights):
        raise ExemplarError(f"{path}: no weights of this model in the file")
    if fresh:
        print(f"init_weights {path}: {len(fresh)} variables not in the file keep their initial values "
              f"({', '.join(fresh[:3])}{', ...' if len(fresh) > 3 else ''})")


def _merge(history, new):
    for key, values in new.items():
        history.setdefault(key, []).extend(values)


def _is_chief(strategy):
    """True unless this is a non-chief worker of a MultiWorkerMirroredStrategy cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (not has_chief and resolver.task_type == "worker" and resolver.task_id == 0)


def _check_same_resume_point(strategy, point):
    """Raise on every worker of a cluster unless all of them found the same backup. Workers that
    resumed from different points would train from different weights (weights loaded after the
    variables were made are not broadcast again) for different step counts: a silently wrong run,
    or one that ends waiting in a collective."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return
    mine = tf.constant([[-1.0, -1.0] if point is None else [float(point[0]), float(point[1])]])
    values = strategy.experimental_distribute_values_from_function(lambda context: mine)
    points = {(int(epoch), int(step)) for epoch, step in strategy.gather(values, axis=0).numpy().tolist()}
    if len(points) > 1:
        found = ["none" if epoch < 0 else f"epoch {epoch + 1} step {step}" for epoch, step in sorted(points)]
        raise ExemplarError(
            f"the workers found different backups to resume from ({', '.join(found)}): every worker "
            "resumes from the chief's RUN_DIR/backup, so give all of them the same --run-dir, on a shared file system"
        )


def _worker_name(strategy):
    resolver = strategy.cluster_resolver
    return f"{resolver.task_type}_{resolver.task_id}"
