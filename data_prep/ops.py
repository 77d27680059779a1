"""Per-example ops of the tf.data input pipeline, big_vision style.

Every op is made by a factory that takes the op's parameters and returns ``op(example) -> example``
on a dict of tensors, so the same op runs eagerly (tests, scans) and inside ``Dataset.map``.
Keys used along the pipeline:

- ``path`` (string) or ``image_bytes`` (string, encoded image): where the photo comes from;
- ``name`` (string): the file name, for reports and to tell one photo from another;
- ``label`` (int32 scalar): class index, -1 = unlabelled;
- ``rng`` (int64 (2,)): per-example seed of the stateless random ops. Each random op splits it,
  uses one half and writes the other back, so ops never share randomness and a pipeline with a
  fixed seed is reproducible;
- ``image`` (uint8 (H, W, 3) sRGB) and, for pairs, ``other_image``.
"""

import math

import tensorflow as tf

from exemplar.core.color import AB_SCALE, L_CENTER, tf_rgb_to_lab

# The record layout of our TFRecord shards (tfrecords.py writes it, parse_shard reads it).
SHARD_FEATURES = {
    "image": tf.io.FixedLenFeature([], tf.string),  # encoded JPEG
    "label": tf.io.FixedLenFeature([], tf.int64),  # -1 = unlabelled
    "name": tf.io.FixedLenFeature([], tf.string),  # source file, relative to the folder
}


def compose(*ops):
    """Chain ops into one op (one ``Dataset.map`` stage instead of many)."""

    def op(example):
        for each in ops:
            example = each(example)
        return example

    return op


def split_rng(example):
    """Split the example's rng: returns (example with a new rng, a (2,) int64 seed for one op)."""
    seeds = tf.random.experimental.stateless_split(example["rng"], num=2)  # (2, 2) int64
    return {**example, "rng": seeds[0]}, seeds[1]


def _as_float(image):
    """uint8 [0, 255] or float [0, 1] -> float32 [0, 1]."""
    return tf.image.convert_image_dtype(image, tf.float32)


def _as_uint8(image):
    """float32 [0, 1] -> uint8 (rounded, saturating)."""
    return tf.image.convert_image_dtype(tf.clip_by_value(image, 0.0, 1.0), tf.uint8, saturate=True)


def parse_shard():
    """``serialized`` (a tf.train.Example of our shards) -> image_bytes, label (int32), name."""

    def op(example):
        parsed = tf.io.parse_single_example(example["serialized"], SHARD_FEATURES)
        return {"image_bytes": parsed["image"], "label": tf.cast(parsed["label"], tf.int32), "name": parsed["name"]}

    return op


def decode():
    """``image_bytes`` (or, if absent, the file at ``path``) -> ``image`` uint8 (H, W, 3).

    Grey and RGBA files become 3-channel RGB, 16-bit PNGs 8-bit, animated GIFs their first frame.
    A corrupt or unreadable file raises here: the pipeline drops it with ``ignore_errors``.
    """

    def op(example):
        data = example["image_bytes"] if "image_bytes" in example else tf.io.read_file(example["path"])
        image = tf.io.decode_image(data, channels=3, dtype=tf.uint8, expand_animations=False)
        image = tf.ensure_shape(image, [None, None, 3])
        out = {k: v for k, v in example.items() if k not in ("image_bytes", "path")}
        return {**out, "image": image}

    return op


def resize_shorter(size, *, upscale=True, key="image"):
    """Resize ``key`` so its shorter side is ``size`` (never enlarged when ``upscale=False``)."""

    def op(example):
        image = example[key]
        shape = tf.shape(image)[:2]
        scale = tf.cast(size, tf.float32) / tf.cast(tf.reduce_min(shape), tf.float32)
        if not upscale:
            scale = tf.minimum(scale, 1.0)
        # ceil keeps the shorter side at least ``size`` despite float rounding.
        new_shape = tf.cast(tf.math.ceil(tf.cast(shape, tf.float32) * scale - 1e-3), tf.int32)
        resized = tf.cond(
            tf.reduce_all(tf.equal(new_shape, shape)),
            lambda: image,
            lambda: _as_uint8(tf.image.resize(_as_float(image), new_shape, antialias=True)),
        )
        return {**example, key: resized}

    return op


def mean_chroma(key="image"):
    """Add ``chroma``: the mean Lab chroma sqrt(a^2 + b^2) of ``key`` (0 for grey, ~20-40 for photos).

    Measured on every k-th pixel, k = shorter side // 64 (at least 64x64 samples): Lab conversion
    of the whole photo would cost more than the rest of decoding, and a mean needs no more.
    """

    def op(example):
        image = example[key]
        step = tf.maximum(tf.reduce_min(tf.shape(image)[:2]) // 64, 1)
        sample = tf.ensure_shape(image[::step, ::step], [None, None, 3])
        lab = tf_rgb_to_lab(_as_float(sample))
        return {**example, "chroma": tf.reduce_mean(tf.norm(lab[..., 1:], axis=-1))}

    return op


def is_colourful(threshold=4.0):
    """Predicate for ``Dataset.filter``: keep examples whose mean chroma is at least ``threshold``."""

    def predicate(example):
        return example["chroma"] >= threshold

    return predicate


def random_crop(size, key="image"):
    """Crop a random (size, size) square out of ``key`` (its shorter side must be >= size)."""

    def op(example):
        example, seed = split_rng(example)
        image = example[key]
        crop = tf.image.stateless_random_crop(image, [size, size, tf.shape(image)[2]], seed=seed)
        return {**example, key: crop}

    return op


def center_crop(size, key="image"):
    """Crop the central (size, size) square out of ``key`` (shorter side >= size)."""

    def op(example):
        image = example[key]
        top = (tf.shape(image)[0] - size) // 2
        left = (tf.shape(image)[1] - size) // 2
        crop = tf.ensure_shape(image[top : top + size, left : left + size], [size, size, None])
        return {**example, key: crop}

    return op


def random_flip(key="image"):
    """Mirror ``key`` left-right with probability 1/2."""

    def op(example):
        example, seed = split_rng(example)
        image = example[key]
        # (tf.image.stateless_random_flip_left_right costs ~10x more: it flips via a batched select.)
        flip = tf.random.stateless_uniform([], seed=seed) < 0.5
        return {**example, key: tf.cond(flip, lambda: image[:, ::-1], lambda: image)}

    return op


def random_resized_crop(size, *, scale=(0.35, 1.0), ratio=(3 / 4, 4 / 3), key="image", out_key=None):
    """Crop a random box covering ``scale`` of the area with aspect in ``ratio``; resize to (size, size).

    The output (uint8) goes to ``out_key`` (default: replaces ``key``).
    """

    def op(example):
        example, seed = split_rng(example)
        image = example[key]
        begin, extent, _ = tf.image.stateless_sample_distorted_bounding_box(
            tf.shape(image),
            bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
            seed=seed,
            min_object_covered=0.0,
            aspect_ratio_range=ratio,
            area_range=scale,
            max_attempts=20,
            use_image_if_no_bounding_boxes=True,
        )
        box = tf.slice(image, begin, extent)
        out = _as_uint8(tf.image.resize(_as_float(box), [size, size], antialias=True))
        return {**example, out_key or key: out}

    return op


def random_affine(*, max_rotation=15.0, max_shear=0.15, scale=(0.9, 1.15), max_translate=0.08, key="image"):
    """Random rotation (degrees), shear, zoom and shift of ``key``; borders are filled by reflection.

    Each parameter is drawn uniformly in [-max, max] (zoom in ``scale``; translate as a fraction of
    the side). All zero / (1, 1) gives back the image unchanged.
    """

    def op(example):
        example, seed = split_rng(example)
        u = tf.random.stateless_uniform([5], seed=seed, minval=-1.0, maxval=1.0)  # (5,) in [-1, 1]
        angle = u[0] * max_rotation * math.pi / 180.0
        shear = u[1] * max_shear
        zoom = scale[0] + (u[2] + 1.0) * 0.5 * (scale[1] - scale[0])
        image = _as_float(example[key])
        h = tf.cast(tf.shape(image)[0], tf.float32)
        w = tf.cast(tf.shape(image)[1], tf.float32)
        shift_x, shift_y = u[3] * max_translate * w, u[4] * max_translate * h
        # Output pixel (x, y) samples input c + M (p - c) + t, M = rotation @ shear / zoom:
        # the transform ImageProjectiveTransformV3 wants is this output -> input map.
        cos, sin = tf.cos(angle), tf.sin(angle)
        m00, m01 = cos / zoom, (cos * shear - sin) / zoom
        m10, m11 = sin / zoom, (sin * shear + cos) / zoom
        cx, cy = (w - 1.0) / 2.0, (h - 1.0) / 2.0
        tx = cx - m00 * cx - m01 * cy + shift_x
        ty = cy - m10 * cx - m11 * cy + shift_y
        transform = tf.stack([m00, m01, tx, m10, m11, ty, 0.0, 0.0])[None]  # (1, 8)
        warped = tf.raw_ops.ImageProjectiveTransformV3(
            images=image[None],
            transforms=transform,
            output_shape=tf.shape(image)[:2],
            fill_value=0.0,
            interpolation="BILINEAR",
            fill_mode="REFLECT",
        )[0]
        return {**example, key: _as_uint8(warped)}

    return op


def colour_jitter(*, max_hue=0.03, saturation=(0.85, 1.15), key="image"):
    """Mild random hue shift (fraction of the colour wheel) and saturation factor of ``key``."""

    def op(example):
        example, seed = split_rng(example)
        seeds = tf.random.experimental.stateless_split(seed, num=2)
        image = _as_float(example[key])
        if max_hue > 0:
            image = tf.image.stateless_random_hue(image, max_hue, seed=seeds[0])
        if saturation != (1.0, 1.0):
            image = tf.image.stateless_random_saturation(image, saturation[0], saturation[1], seed=seeds[1])
        return {**example, key: _as_uint8(image)}

    return op


def to_lab(key, prefix):
    """``key`` sRGB (H, W, 3) -> ``{prefix}_l`` (H, W, 1) = L/50-1 in [-1, 1] and
    ``{prefix}_ab`` (H, W, 2) = ab/110 in about [-1, 1], both float32; ``key`` is removed."""

    def op(example):
        lab = tf_rgb_to_lab(_as_float(example[key]))
        out = {k: v for k, v in example.items() if k != key}
        out[f"{prefix}_l"] = lab[..., :1] / L_CENTER - 1.0
        out[f"{prefix}_ab"] = lab[..., 1:] / AB_SCALE
        return out

    return op


def encode_jpeg(quality=95, key="image"):
    """``key`` uint8 (H, W, 3) -> ``image_bytes`` JPEG string (``key`` is removed)."""

    def op(example):
        data = tf.io.encode_jpeg(example[key], quality=quality, chroma_downsampling=False)
        return {**{k: v for k, v in example.items() if k != key}, "image_bytes": data}

    return op


def keep(*keys):
    """Drop every key but ``keys``."""

    def op(example):
        return {k: example[k] for k in keys}

    return op
