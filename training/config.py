"""Typed, frozen experiment configuration: five small dataclasses composed into one ExperimentConfig.

A run is fully described by its ExperimentConfig; ``train`` writes it to ``run_dir/config.json`` and a
resumed run reads it back, so a restarted job trains the same model on the same data.

Presets are plain factories (``PRESETS[name]()``); command-line overrides are dotted keys parsed
against the field's declared type, e.g. ``optim.lr=1e-4``, ``train.mixed_precision=true``,
``data.classes=forest,sea``, ``data.limit=none``.
"""

import dataclasses
import json
import os
import types
import typing

from exemplar.model.ab_bins import DEFAULT_TEMPERATURE
from exemplar.core.errors import ExemplarError


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the photos come from and how training pairs are made (see data_prep.make_dataset)."""

    cache_dir: str | None = None  # frozen-encoder feature cache (python -m data_prep cache): when set,
    # training reads it instead of ``source`` and never runs the encoder (about 10x faster on a CPU)
    source: str = "folder"  # "folder": image folder (sub-folders = classes); "shards": TFRecord
    # shards (python -m data_prep shard); "places365": TFDS places365_small
    data_dir: str | None = None  # the image folder or shard folder
    places365_data_dir: str | None = None  # TFDS data_dir holding places365_small (no download)
    classes: tuple[str, ...] = ()  # keep only these class names (empty: all)
    limit: int | None = None  # use at most this many photos (None: all)
    val_data_dir: str | None = None  # optional image folder for validation (val_* metrics, "best")
    image_size: int = 128  # target crop, pixels (square); multiple of 32 for the encoder strides
    reference_size: int = 128  # reference crop, pixels
    same_class_fraction: float = 0.5  # share of pairs whose reference is another photo of the class
    # (of the group for unlabelled photos)
    # Sampling by group (a feature cache's top-level folders): "group=share" entries. Each example
    # draws its group by share, then a photo of it, so a small group is not drowned by a large one.
    # Empty: photos in proportion to the groups' sizes. Named groups missing from the data are
    # ignored; present groups left unnamed are not drawn (a warning lists them); when no named group
    # is present (another photo folder), sampling falls back to proportional.
    group_shares: tuple[str, ...] = ()
    # Self-augmented references (data_prep.pairs.self_reference):
    self_crop_min: float = 0.35  # smallest share of the photo's area kept by the reference crop
    self_hue: float = 0.02  # largest hue shift of the reference, fraction of the colour wheel
    self_saturation: float = 0.1  # reference saturation factor drawn in [1 - x, 1 + x]
    self_jitter_share: float = 0.5  # share of self references given that colour jitter (feature cache only)
    seed: int = 0  # shuffling / augmentation seed


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Colour network (ColorNet on the frozen encoder) and discriminator (PatchDiscriminator) sizes."""

    width: int = 32  # decoder channels at 1/4 (2x at 1/8 .. 1/32)
    hist_bins: int = 21  # ab histogram is hist_bins x hist_bins over ab/110 in [-1, 1]
    temperature: float = 0.01  # correspondence softmax temperature
    top_k: int = 4  # reference matches kept per target position
    encoder: str = "lite0"  # the frozen ImageNet encoder: EfficientNet-Lite "lite0", "lite1" or "lite2"
    encoder_weights: str | None = "imagenet"  # encoder init: "imagenet" or None (random)
    hints: bool = True  # colour hints input (hint_ab4, hint_mask4; Zhang et al. 2017)
    hint_branch: bool = False  # with hints: a HintBranch carries them over the head's features (zero without hints)
    classifier: bool = True  # class head + class loss when the data has class labels
    disc_width: int = 32  # discriminator channels of the first layer
    disc_layers: int = 2  # stride-2 layers of the discriminator (it sees 1/4-size Lab: 32 px for 128 px crops)


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Weights of the generator's loss terms (the discriminator has only its hinge loss), and the modes."""

    ce: float = 1.0  # class-rebalanced cross-entropy over ab bins (the main term)
    l1: float = 5.0  # smooth-L1 of the annealed-mean ab, self-augmented pairs in reference mode only
    adv: float = 0.01  # hinge generator loss
    hist: float = 0.5  # histogram of the output vs the conditioning (reference or palette) histogram
    cls: float = 0.01  # class logits vs the photo's class (labelled photos only)
    tv: float = 0.01  # total variation of the output ab
    palette_share: float = 0.2  # share of examples trained as palette colorization (histogram only)
    auto_share: float = 0.15  # share trained as automatic colorization (no reference, no histogram)
    # annealed-mean temperature of the ab that l1/hist/tv/adv see: the one inference decodes with by
    # default (exemplar.model.ab_bins, 1 - DEFAULT_VIVIDNESS), so training sees what users get
    train_temperature: float = DEFAULT_TEMPERATURE
    # Simulated colour hints (model.hints), in every mode: the share of reference examples that get any, their
    # count (1 + a geometric draw of success probability hint_p, at most hint_max), and the share of
    # positions drawn where the truth is colourful (the rest uniformly). Half the hints are 3x3 cells.
    hint_share: float = 0.3
    # The share for automatic and palette examples. A reference (half of them the photo itself) already
    # shows the network the truth's colours, so a hint there teaches it little about spreading a click:
    # the epoch-28 model, trained with 0.3 everywhere, coloured only the hinted 4x4 cell (issue 19).
    hint_share_free: float = 0.6
    hint_p: float = 0.125
    hint_max: int = 24
    hint_colourful: float = 0.5
    hint_patch_share: float = 0.5  # share of hinted examples whose hints are 3x3-cell patches (else single cells)
    # Ablation (issue 10): smooth-L1 on every example, not only self pairs. With ce=0 and
    # train_temperature=1 the ColorNet is a plain regression of ab (the mean of its distribution).
    l1_all: bool = False


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    """Adam for both players (GAN-style beta_1 = 0.5)."""

    lr: float = 2e-4  # generator learning rate
    d_lr: float = 2e-4  # discriminator learning rate
    beta_1: float = 0.5
    beta_2: float = 0.999
    clipnorm: float | None = None  # per-variable gradient norm clip (None: off)


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Loop, hardware and bookkeeping."""

    epochs: int = 10
    steps_per_epoch: int = 500
    batch_size: int = 16  # GLOBAL batch: split over the replicas of the strategy
    validation_steps: int = 10  # used only with data.val_data_dir
    strategy: str = "auto"  # auto | default | mirrored | multi_worker (auto: TF_CONFIG / GPUs decide)
    mixed_precision: bool = False  # GPU runs: compute in precision, keep float32 variables
    precision: str = "mixed_float16"  # or "mixed_bfloat16" (no loss scaling needed)
    backup_every: int = 50  # steps between BackupAndRestore saves (resume point of a killed run)
    sample_count: int = 4  # rows of the per-epoch sample sheet
    monitor: str = "ce"  # metric deciding the "best" checkpoint (val_ prefixed with validation data)
    seed: int = 0  # keras.utils.set_random_seed
    # Generator weights to start from: a run's checkpoint (.weights.h5) or a model folder's .npz (by variable
    # path; variables the file lacks, e.g. a new hint_branch, keep their initial values)
    init_weights: str | None = None
    # Train only these ColorNet variables (paths as in the .npz, e.g. hint_skip32/kernel, or layer names such as
    # hint_branch: all their variables); empty: all. With
    # exemplar.model.color_net.HINT_KERNELS and init_weights, a run teaches a trained model's hint input
    # without changing any output it gives without hints (those kernels multiply the hint maps, zero then).
    train_only: tuple[str, ...] = ()
    run_eagerly: bool = False  # debugging and tests: no tf.function (slower steps, but no ~15 s tracing)
    # XLA train step: slower on both 2-core CPUs measured (370 vs 282 ms a step of 16; on the AVX2 VM with
    # oneDNN 603 vs 521 ms, benchmarks/train_throughput.py idle); for GPUs
    jit_compile: bool = False


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    preset: str = "custom"
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    train: TrainConfig = TrainConfig()


def tiny():
    """Seconds on a laptop CPU: for tests and smoke runs (random encoder, 64 px, 2 x 3 steps)."""
    return ExperimentConfig(
        preset="tiny",
        data=DataConfig(image_size=64, reference_size=64),
        model=ModelConfig(width=16, hist_bins=11, encoder_weights=None, disc_width=16, disc_layers=2),
        train=TrainConfig(epochs=2, steps_per_epoch=3, batch_size=4, validation_steps=1, backup_every=1, sample_count=2),
    )


# The shipped model's groups (../shared/data/train, see its README): people and faces first (old
# photos are mostly portraits and family scenes), then what fills their backgrounds and lives.
# Small groups (bsds 197, cars 210 photos) get small shares: at 680,000 pairs a share of 0.05 is
# already 170 draws of each bsds photo (crops and mirrors differ).
WORLD_SHARES = (
    "people=0.14", "faces=0.12", "scenes=0.12", "objects=0.10", "animals=0.09", "food=0.07", "rooms=0.07",
    "houses=0.07", "vehicles=0.05", "flowers=0.05", "clothing=0.05", "bsds=0.05", "cars=0.02",
)


def cpu():
    """The default model's recipe on a 2-core machine: 128 px crops of a 160 px feature cache
    (data.cache_dir), frozen ImageNet encoder, batch 16, width 64, groups drawn by WORLD_SHARES."""
    return ExperimentConfig(
        preset="cpu",
        data=DataConfig(image_size=128, reference_size=128, group_shares=WORLD_SHARES),
        # Width 64 (was 32): after 1,000 equal steps on the 13 groups its cross-entropy was 2.50
        # against 2.62 at width 32 (and Lite2 features 2.62: no gain); see docs/model.md.
        model=ModelConfig(width=64, encoder_weights="imagenet", disc_width=32),
        optim=OptimConfig(lr=3e-4, d_lr=2e-4),
        # 85 x 500 x 16 = 680,000 pairs: about 30 passes over the 22,400 cached photos
        train=TrainConfig(epochs=85, steps_per_epoch=500, batch_size=16, backup_every=100),
    )


def gpu():
    """One large GPU (an H200 or an A100): the cpu recipe's data and shares, bigger crops and batch.

    224 px crops of a 256 px feature cache (python -m data_prep cache --size 256), batch 64,
    width 64, bfloat16 compute with float32 variables (no loss scaling needed). XLA is off: with
    bfloat16, TF 2.21's XLA refuses the gradient of the ColorNet's slice of the warped colours ("mixed
    precision is disallowed" in StridedSliceGrad), and on a CPU it measured slower anyway; try
    train.jit_compile=true with float32 on a GPU. The learning rates follow the 4x batch by the
    square-root rule (3e-4 -> 6e-4)."""
    return ExperimentConfig(
        preset="gpu",
        data=DataConfig(image_size=224, reference_size=224, group_shares=WORLD_SHARES),
        model=ModelConfig(width=64, encoder_weights="imagenet", disc_width=48, disc_layers=3),
        optim=OptimConfig(lr=6e-4, d_lr=4e-4),
        train=TrainConfig(epochs=40, steps_per_epoch=1000, batch_size=64, backup_every=200, mixed_precision=True,
                          precision="mixed_bfloat16", sample_count=8),
    )


def places365():
    """GPU scale: Places365 from TFDS, 256 px, global batch 64, mirrored over the GPUs, mixed precision."""
    return ExperimentConfig(
        preset="places365",
        data=DataConfig(source="places365", image_size=256, reference_size=256),
        model=ModelConfig(width=64, encoder_weights="imagenet"),
        optim=OptimConfig(lr=2e-4, d_lr=2e-4),
        train=TrainConfig(
            epochs=50,
            steps_per_epoch=2000,
            batch_size=64,
            validation_steps=50,
            strategy="auto",
            mixed_precision=True,
            backup_every=500,
            sample_count=8,
        ),
    )


PRESETS = {"tiny": tiny, "cpu": cpu, "gpu": gpu, "places365": places365}


def preset(name):
    """The ExperimentConfig of a named preset (see PRESETS)."""
    if name not in PRESETS:
        raise ExemplarError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]()


def override(config, assignments):
    """Apply ``["section.field=value", ...]`` to a config; values are parsed by the field's type.

    Returns a new config (dataclasses.replace); unknown keys or unparsable values raise ExemplarError.
    """
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        parts = key.strip().split(".")
        if not sep or len(parts) != 2:
            raise ExemplarError(f"bad override {assignment!r}: expected section.field=value, e.g. optim.lr=1e-4")
        section_name, field_name = parts
        section = _field_value(config, section_name, assignment)
        if not dataclasses.is_dataclass(section):
            raise ExemplarError(f"bad override {assignment!r}: {section_name!r} is not a config section")
        _field_value(section, field_name, assignment)  # existence check
        field_type = typing.get_type_hints(type(section))[field_name]
        try:
            value = _parse(text.strip(), field_type)
        except ValueError as error:
            raise ExemplarError(f"bad override {assignment!r}: {error}") from error
        config = dataclasses.replace(config, **{section_name: dataclasses.replace(section, **{field_name: value})})
    return config


def to_dict(config):
    return dataclasses.asdict(config)


def from_dict(values):
    """Inverse of to_dict; unknown keys raise (a config.json from another version is not silently half-read)."""
    return _build(ExperimentConfig, values)


def save(config, path):
    """Write config.json atomically (a temporary file renamed): the other workers of a cluster may be
    reading it at that moment, when they resume (a half-written file failed to parse)."""
    temporary = f"{path}.partial"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(to_dict(config), file, indent=2, sort_keys=True)
        file.write("\n")
    os.replace(temporary, path)


def load(path):
    try:
        with open(path, encoding="utf-8") as file:
            return from_dict(json.load(file))
    except (OSError, ValueError, TypeError) as error:
        raise ExemplarError(f"{path}: cannot read the run's config ({error})") from error


def check(config):
    """Raise ExemplarError for values no run can use (caught early, before TensorFlow starts)."""
    problems = []
    for name in ("image_size", "reference_size"):
        size = getattr(config.data, name)
        if size < 32 or size % 32:
            problems.append(f"data.{name}={size} must be a positive multiple of 32 (the encoder's stride)")
    if config.model.width < 8 or config.model.width % 8:  # ColorNet's GroupNormalization(8) at 1/4
        problems.append(f"model.width={config.model.width} must be a positive multiple of 8")
    for name in ("epochs", "steps_per_epoch", "batch_size", "backup_every"):
        if getattr(config.train, name) < 1:
            problems.append(f"train.{name} must be at least 1")
    shares = (config.loss.palette_share, config.loss.auto_share)
    if min(shares) < 0.0 or sum(shares) > 1.0:
        problems.append("loss.palette_share and loss.auto_share must be >= 0 and add up to at most 1")
    if not 0.0 <= config.loss.hint_share <= 1.0 or not 0.0 <= config.loss.hint_share_free <= 1.0:
        problems.append("loss.hint_share and loss.hint_share_free must be in [0, 1]")
    if not 0.0 < config.loss.hint_p <= 1.0:
        problems.append("loss.hint_p must be in (0, 1]")
    if config.loss.hint_max < 1 or not 0.0 <= config.loss.hint_colourful <= 1.0:
        problems.append("loss.hint_max must be at least 1 and loss.hint_colourful in [0, 1]")
    if not 0.0 <= config.loss.hint_patch_share <= 1.0:
        problems.append("loss.hint_patch_share must be in [0, 1]")
    if config.model.encoder not in ("lite0", "lite1", "lite2"):
        problems.append("model.encoder must be lite0, lite1 or lite2")
    for entry in config.data.group_shares:
        name, sep, share = entry.partition("=")
        try:
            ok = sep and name.strip() and float(share) >= 0.0
        except ValueError:
            ok = False
        if not ok:
            problems.append(f"data.group_shares entry {entry!r} must be group=share with a share >= 0")
    if config.loss.train_temperature <= 0.0:
        problems.append("loss.train_temperature must be > 0")
    if not 0.0 <= config.data.same_class_fraction <= 1.0:
        problems.append("data.same_class_fraction must be in [0, 1]")
    if not 0.0 < config.data.self_crop_min <= 1.0:
        problems.append("data.self_crop_min must be in (0, 1]")
    if not 0.0 <= config.data.self_hue <= 0.5:
        problems.append("data.self_hue must be in [0, 0.5]")
    if not 0.0 <= config.data.self_jitter_share <= 1.0:
        problems.append("data.self_jitter_share must be in [0, 1]")
    if not 0.0 <= config.data.self_saturation < 1.0:
        problems.append("data.self_saturation must be in [0, 1)")
    if config.train.precision not in ("mixed_float16", "mixed_bfloat16"):
        problems.append("train.precision must be mixed_float16 or mixed_bfloat16")
    if problems:
        raise ExemplarError("bad config: " + "; ".join(problems))


def _field_value(obj, name, assignment):
    if name not in {field.name for field in dataclasses.fields(obj)}:
        known = ", ".join(field.name for field in dataclasses.fields(obj))
        raise ExemplarError(f"bad override {assignment!r}: no field {name!r} (known: {known})")
    return getattr(obj, name)


def _build(cls, values):
    hints = typing.get_type_hints(cls)
    names = {field.name for field in dataclasses.fields(cls)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)} for {cls.__name__}")
    kwargs = {}
    for name, value in values.items():
        if dataclasses.is_dataclass(hints[name]):
            kwargs[name] = _build(hints[name], value)
        elif typing.get_origin(hints[name]) is tuple:
            kwargs[name] = tuple(value)  # JSON has lists only
        else:
            kwargs[name] = value
    return cls(**kwargs)


def _parse(text, field_type):
    """Parse a command-line string as ``field_type`` (int, float, bool, str, X | None, tuple[str, ...])."""
    origin = typing.get_origin(field_type)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(field_type) if arg is not type(None)]
        if text.lower() in ("none", "null", ""):
            return None
        return _parse(text, options[0])
    if origin is tuple:
        (item_type, _) = typing.get_args(field_type)
        return tuple(_parse(item.strip(), item_type) for item in text.split(",") if item.strip())
    if field_type is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{text!r} is not a boolean (true/false)")
    if field_type is int:
        return int(text)
    if field_type is float:
        return float(text)
    if field_type is str:
        return text
    raise ValueError(f"cannot parse fields of type {field_type}")
