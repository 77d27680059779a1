"""Target/reference pairs for training the colorizer.

Two kinds of pair (``pair_kind`` in the batches):

- 0, self-augmented: the reference is the target photo itself after a strong geometric change
  (random resized crop, flip, affine warp) and a mild colour jitter. Its colours are the ground
  truth's, so a pixel loss against the target's ab is meaningful, while the network must still
  *find* each colour (the reference is not aligned with the target).
- 1, same-class: the reference is another photo of the same class (labelled data only), which
  teaches semantic transfer between different photos, as in real use.

``pair_up`` chooses partners on the stream of decoded examples; ``make_pair`` then crops both
images and converts them to the normalised Lab the network sees.
"""

import tensorflow as tf

from data_prep import ops

# Salt folded into an example's rng to decide its pair kind (kept apart from the ops' splits).
_KIND_SALT = 7919


def _wants_partner(example, same_class_fraction):
    """bool scalar: this labelled example is drawn (with probability same_class_fraction) for a same-class pair."""
    seed = tf.random.experimental.stateless_fold_in(example["rng"], _KIND_SALT)
    draw = tf.random.stateless_uniform([], seed=seed)
    return tf.logical_and(example["label"] >= 0, draw < same_class_fraction)


def pair_up(dataset, same_class_fraction=0.0):
    """Stream of examples (``image``, ``label``, ``name``, ``rng``) -> the same plus ``other_image``, ``other_name``.

    A drawn labelled example waits (``group_by_window``, at most one per class) for the next drawn
    example of its class; the two then serve as each other's reference, so about
    ``same_class_fraction`` of the labelled examples get a same-class partner. Everything else,
    unlabelled photos and a partner-less example left at the end of a finite stream, is paired with
    itself (``other_name == name``), which ``make_pair`` turns into a self-augmented pair.
    """

    def with_itself(example):
        return {**example, "other_image": example["image"], "other_name": example["name"]}

    if same_class_fraction <= 0.0:
        return dataset.map(with_itself, num_parallel_calls=tf.data.AUTOTUNE)

    def key(example):
        # label >= 0 for drawn examples (a window of 2); -1 for the rest (a window of 1).
        return tf.cast(tf.where(_wants_partner(example, same_class_fraction), example["label"], -1), tf.int64)

    def window_size(key):
        return tf.where(key >= 0, tf.constant(2, tf.int64), tf.constant(1, tf.int64))

    def partners(_, window):
        # [A, B] -> (A, B), (B, A); [A] -> (A, A). No padding: each element keeps its own shape.
        rotated = window.skip(1).concatenate(window.take(1))
        return tf.data.Dataset.zip(window, rotated).map(
            lambda a, b: {**a, "other_image": b["image"], "other_name": b["name"]}
        )

    return dataset.group_by_window(key, partners, window_size_func=window_size)


def self_reference(size, key="image", out_key="reference", *, crop_min=0.35, hue=0.03, saturation=0.15):
    """The self-augmented reference: ``key`` warped and jittered into ``out_key`` uint8 (size, size, 3).

    crop_min: smallest share of the photo's area the reference crop keeps (a small crop leaves most
    of the target without a match, so the network learns to colour from semantics too).
    hue: largest hue shift (fraction of the colour wheel); saturation: factor drawn in [1 - s, 1 + s]
    (a reference whose colours are off teaches the network not to copy them blindly).
    """
    return ops.compose(
        ops.random_resized_crop(size, scale=(crop_min, 1.0), key=key, out_key=out_key),
        ops.random_flip(out_key),
        ops.random_affine(key=out_key),
        ops.colour_jitter(max_hue=hue, saturation=(1.0 - saturation, 1.0 + saturation), key=out_key),
    )


def class_reference(size, key="other_image", out_key="reference"):
    """A same-class reference: a random crop (not warped: it already differs) of ``key``, flipped half the time."""
    return ops.compose(
        ops.random_resized_crop(size, scale=(0.5, 1.0), key=key, out_key=out_key),
        ops.random_flip(out_key),
    )


def make_pair(image_size, reference_size, *, training=True, self_augment=None):
    """Op: a paired example -> the training element (unbatched, float32 unless said).

    target_l (S, S, 1) L/50-1 in [-1, 1]; target_ab (S, S, 2) ab/110;
    reference_l (R, R, 1); reference_ab (R, R, 2); label () int32, -1 = none;
    pair_kind () int32, 0 = self-augmented, 1 = same-class.
    The target is a random crop + flip when training, the central crop otherwise; the images must
    have their shorter side >= max(S, R) (``ops.resize_shorter``).
    self_augment: keyword arguments of ``self_reference`` (crop_min, hue, saturation); None: its defaults.
    """
    if training:
        target_op = ops.compose(ops.random_crop(image_size), ops.random_flip())
    else:
        target_op = ops.center_crop(image_size)
    self_op = self_reference(reference_size, **(self_augment or {}))
    class_op = class_reference(reference_size)

    def op(example):
        target_rng, reference_rng = tf.unstack(tf.random.experimental.stateless_split(example["rng"], num=2))
        source = {**example, "rng": reference_rng}
        same_class = tf.not_equal(example["name"], example["other_name"])
        # Only the chosen branch runs; both give a uint8 (R, R, 3) reference.
        reference = tf.cond(
            same_class,
            lambda: class_op(source)["reference"],
            lambda: self_op(source)["reference"],
        )
        reference = tf.ensure_shape(reference, [reference_size, reference_size, 3])
        target = target_op({"image": example["image"], "rng": target_rng})["image"]
        target = tf.ensure_shape(target, [image_size, image_size, 3])  # uint8
        out = {"target": target, "reference": reference, "label": example["label"]}
        out = ops.to_lab("reference", "reference")(ops.to_lab("target", "target")(out))
        out["label"] = tf.cast(out["label"], tf.int32)
        out["pair_kind"] = tf.cast(same_class, tf.int32)
        return out

    return op
