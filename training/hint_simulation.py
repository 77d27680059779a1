"""Simulated colour hints for training (Zhang et al. 2017, "Real-Time User-Guided Image Colorization
with Learned Deep Priors"): the network learns to spread a few user clicks by seeing the truth's own
colour at a few random points.

Per example, at 1/4 of the crop:
- whether it gets hints at all (``share``; the rest train the no-hint case, the common one);
- how many: 1 + a geometric draw (success probability ``p``, mean 1/p), at most ``max_count``;
- where: ``colourful`` of the positions drawn in proportion to the truth's chroma (users click
  where colour matters: a red car, a blue dress), the rest uniformly;
- how big: one 1/4 cell (a 4x4 pixel block, as a click arrives at inference) or, for ``patch_share``
  of the examples (half by default), 3x3 cells, holding the truth's mean colour there (a user's
  colour is one value for a small region, not a texture).
"""

import tensorflow as tf


def simulate_hints(truth_ab, share=0.3, p=0.125, max_count=24, colourful=0.5, patch_share=0.5):
    """truth_ab (B, h, w, 2) ab/110 -> (hint_ab (B, h, w, 2) ab/110, zero where no hint,
    hint_mask (B, h, w, 1) in {0, 1}). share: one number, or (B,) per example."""
    truth_ab = tf.cast(truth_ab, tf.float32)
    shape = tf.shape(truth_ab)
    batch, cells = shape[0], shape[1] * shape[2]
    # Counts: 0 for unhinted examples, else 1 + floor(log U / log(1 - p)) (geometric), capped.
    hinted = tf.random.uniform((batch,)) < share
    draw = tf.math.floor(tf.math.log(tf.random.uniform((batch,), 1e-6, 1.0)) / tf.math.log(1.0 - min(p, 0.999)))
    count = tf.where(hinted, tf.minimum(1.0 + draw, float(max_count)), 0.0)  # (B,)
    # Positions: max_count candidates per example, each from the chroma-weighted or the uniform law.
    chroma = tf.reshape(tf.norm(truth_ab, axis=-1), (batch, cells))  # (B, h*w), ab/110 units
    by_colour = tf.random.categorical(tf.math.log(chroma + 0.02), max_count)  # (B, K)
    uniform = tf.random.categorical(tf.zeros_like(chroma), max_count)
    position = tf.where(tf.random.uniform((batch, max_count)) < colourful, by_colour, uniform)
    active = tf.cast(tf.range(max_count)[None, :] < tf.cast(count[:, None], tf.int32), tf.float32)  # (B, K)
    points = tf.reduce_max(tf.one_hot(position, cells) * active[..., None], axis=1)  # (B, h*w)
    mask = tf.reshape(points, (batch, shape[1], shape[2], 1))
    # patch_share of the examples: 3x3-cell patches holding the truth's 3x3 mean; the others single cells.
    patch = tf.random.uniform((batch, 1, 1, 1)) < patch_share
    grown = tf.nn.max_pool2d(mask, 3, 1, "SAME")
    mean3 = tf.nn.avg_pool2d(truth_ab, 3, 1, "SAME")
    mask = tf.where(patch, grown, mask)
    hint_ab = tf.where(patch, mean3, truth_ab) * mask
    return hint_ab, mask
