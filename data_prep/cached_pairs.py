"""Training pairs from a feature cache (data_prep.feature_cache): no decoding, no encoder.

Every element is a dict (numpy per example, batched by the dataset):
  target_s4 (S/4, S/4, 24), target_s8, target_s16, target_s32      the target crop's features
  target_lab4 (S/4, S/4, 3)       [L/50 - 1, a/110, b/110]: the truth at 1/4
  reference_s8, reference_s16, reference_s32, reference_lab4 (R/4, R/4, 3)
  label () int32 (-1: none), pair_kind () int32 (0: self-augmented, 1: same-class)

Pairs, as data_prep.pairs makes them from images:
- self (pair_kind 0): the reference is the target photo's MIRROR image (its own encoder pass),
  cropped at an independent offset, its ab rotated (hue) and scaled (saturation) a little. The
  jitter changes only ab: the reference's L, hence its features, stay exact.
- same-class (1): another photo of the target's class (of its group for an unlabelled photo: another
  face, another ImageNet object), random crop and mirror.
Photos are drawn by group share when ``photo_probabilities`` is given (data_prep.group_sampling),
else each pass is a permutation of the whole cache.
Crops are whole stride-32 cells, so every feature level is cropped exactly (see FeatureCache.crop).
"""

import numpy as np

from exemplar.core.color import AB_SCALE, L_CENTER


def normalise_lab(lab):
    """(..., 3) Lab -> [L/50 - 1, a/110, b/110] float32."""
    return np.concatenate([lab[..., :1] / L_CENTER - 1.0, lab[..., 1:] / AB_SCALE], -1).astype(np.float32)


def jitter_ab(lab, rng, hue=0.02, saturation=0.1):
    """Rotate ab by up to ``hue`` of a turn and scale it by [1 - s, 1 + s]; L unchanged."""
    angle = rng.uniform(-hue, hue) * 2.0 * np.pi
    scale = rng.uniform(1.0 - saturation, 1.0 + saturation)
    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    a, b = lab[..., 1], lab[..., 2]
    return np.stack([lab[..., 0], cos * a - sin * b, sin * a + cos * b], -1)


class CachedPairs:
    """Make pairs from a FeatureCache. image_size / reference_size: crop sides in pixels (multiples of 32)."""

    def __init__(self, cache, image_size=128, reference_size=128, same_class_fraction=0.5, hue=0.02, saturation=0.1,
                 jitter_share=1.0, photo_probabilities=None):
        for name, value in (("image_size", image_size), ("reference_size", reference_size)):
            if value % 32 or value > cache.size:
                raise ValueError(f"{name}={value} must be a multiple of 32 and at most the cache's {cache.size}")
        self.cache = cache
        self.cells = image_size // 32
        self.reference_cells = reference_size // 32
        self.grid = cache.size // 32
        self.same_class_fraction = same_class_fraction
        self.hue = hue
        self.saturation = saturation
        self.jitter_share = jitter_share  # share of self references whose colours are jittered
        self.photo_probabilities = photo_probabilities  # (N,) or None: see batches
        labels = cache.labels
        self.by_class = {int(c): np.flatnonzero(labels == c) for c in np.unique(labels) if c >= 0}
        unlabelled = labels < 0
        self.by_group = {int(g): np.flatnonzero(unlabelled & (cache.groups == g)) for g in np.unique(cache.groups)}

    def partner(self, index, rng):
        """Index of the reference photo: another photo of the class, or of the group for an unlabelled
        photo (drawn), else ``index`` itself."""
        label = int(self.cache.labels[index])
        members = self.by_class.get(label) if label >= 0 else self.by_group.get(int(self.cache.groups[index]))
        if members is None or len(members) < 2 or rng.random() >= self.same_class_fraction:
            return index
        while True:
            other = int(members[rng.integers(len(members))])
            if other != index:
                return other

    def example(self, index, rng, training=True):
        """One pair for photo ``index``; ``training=False``: centre crops, self pair, no jitter."""
        span = self.grid - self.cells
        if training:
            mirror, top, left = int(rng.integers(2)), int(rng.integers(span + 1)), int(rng.integers(span + 1))
            other = self.partner(index, rng)
        else:
            mirror, top, left, other = 0, span // 2, span // 2, index
        target = self.cache.crop(index, mirror, top, left, self.cells)
        rspan = self.grid - self.reference_cells
        if other == index:  # self: the mirror image of the target's view, its own crop, colour jitter
            ref_mirror = 1 - mirror
            rtop, rleft = (int(rng.integers(rspan + 1)), int(rng.integers(rspan + 1))) if training else (rspan // 2,) * 2
        else:
            ref_mirror, rtop, rleft = int(rng.integers(2)), int(rng.integers(rspan + 1)), int(rng.integers(rspan + 1))
        reference = self.cache.crop(other, ref_mirror, rtop, rleft, self.reference_cells, levels=("s8", "s16", "s32"))
        ref_lab = reference["lab4"]
        # Jitter only a share: a reference that IS the scene (un-jittered) must teach the gate to
        # copy exact matches, while jittered ones teach it not to copy blindly.
        if other == index and training and rng.random() < self.jitter_share:
            ref_lab = jitter_ab(ref_lab, rng, self.hue, self.saturation)
        out = {f"target_{k}": v for k, v in target.items() if k != "lab4"}
        out.update({f"reference_{k}": v for k, v in reference.items() if k != "lab4"})
        out["target_lab4"] = normalise_lab(target["lab4"])
        out["reference_lab4"] = normalise_lab(ref_lab)
        out["label"] = np.int32(self.cache.labels[index])
        out["pair_kind"] = np.int32(other != index)
        return out

    def batches(self, batch_size, seed=0, training=True):
        """Endless batches (training: a fresh permutation per pass, or photos drawn by group share;
        else input order, one pass)."""
        rng = np.random.default_rng(seed)
        count = len(self.cache)
        while True:
            if training and self.photo_probabilities is not None:
                # Drawn with replacement, a pass' worth at a time (each example: a group, then a photo).
                order = rng.choice(count, size=count, p=self.photo_probabilities)
            else:
                order = rng.permutation(count) if training else np.arange(count)
            for start in range(0, count - batch_size + 1, batch_size):  # drop the remainder
                examples = [self.example(int(i), rng, training) for i in order[start : start + batch_size]]
                yield {key: np.stack([e[key] for e in examples]) for key in examples[0]}
            if not training:
                return


def make_cached_dataset(cache, *, image_size, reference_size, batch_size, same_class_fraction=0.5, hue=0.02,
                        saturation=0.1, jitter_share=1.0, training=True, seed=0, photo_probabilities=None):
    """tf.data.Dataset of batches from a FeatureCache (see module docstring for the keys).

    Order: shuffle (a permutation per pass) -> repeat (endless when training) -> map (pairs) ->
    batch (drop_remainder) all inside the generator, then prefetch so the next batch is assembled
    while the model trains (the generator's numpy slicing releases the GIL for its copies).
    """
    import tensorflow as tf

    pairs = CachedPairs(cache, image_size, reference_size, same_class_fraction, hue, saturation, jitter_share,
                        photo_probabilities)
    first = pairs.example(0, np.random.default_rng(0), training=False)
    signature = {
        key: tf.TensorSpec((batch_size,) + np.shape(value), tf.as_dtype(np.asarray(value).dtype))
        for key, value in first.items()
    }
    dataset = tf.data.Dataset.from_generator(
        lambda: pairs.batches(batch_size, seed, training), output_signature=signature
    )
    return dataset.prefetch(2)
