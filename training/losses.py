"""Training losses for Gray2ColorNet: pure functions of tensors, written with keras.ops.

Conventions: ab tensors are ab/110 in about [-1, 1]; histograms are (B, bins*bins) rows summing
to 1; logits are raw scores. Every function returns a scalar MEAN over the local batch (per
replica). Under ``tf.distribute`` the trainer must turn that into the global mean itself, e.g.
divide by ``strategy.num_replicas_in_sync`` before summing gradients across replicas (equal
per-replica batches), or weight by the local batch size; nothing here knows about replicas.
"""

import keras

# Weights of the three decoder outputs in the multi-scale loss: full resolution counts most,
# the coarse heads are deep supervision that speeds up learning of the global colours.
SCALE_WEIGHTS = {"ab": 1.0, "ab_half": 0.5, "ab_quarter": 0.25}


def smooth_l1(y_true, y_pred, delta=0.1):
    """Mean smooth-L1 (Huber / Fast R-CNN form): 0.5 x**2 / delta if |x| < delta, else |x| - delta/2.

    delta 0.1 in ab/110 units is 11 ab units: small errors get L2-like, well-behaved gradients,
    large ones L1 gradients, so an ambiguous object (a car that could be red or blue) is not
    pulled towards the grey average as hard as with L2.
    """
    x = keras.ops.abs(keras.ops.cast(y_pred, "float32") - keras.ops.cast(y_true, "float32"))
    loss = keras.ops.where(x < delta, 0.5 * keras.ops.square(x) / delta, x - 0.5 * delta)
    return keras.ops.mean(loss)


def multiscale_smooth_l1(true_ab_full, outputs, delta=0.1, scale_weights=None):
    """Weighted sum over ``outputs`` "ab", "ab_half", "ab_quarter" of smooth_l1 against the truth.

    true_ab_full: (B, H, W, 2) ab/110; the truth is area-averaged (average pooling, exact since
    H, W are multiples of 4) to each output's size. scale_weights: dict output name -> weight,
    default SCALE_WEIGHTS; outputs missing from ``outputs`` are skipped.
    """
    scale_weights = SCALE_WEIGHTS if scale_weights is None else scale_weights
    true_ab_full = keras.ops.cast(true_ab_full, "float32")
    height = true_ab_full.shape[1]
    total = 0.0
    for name, weight in scale_weights.items():
        if name not in outputs:
            continue
        pred = outputs[name]
        if height is not None and pred.shape[1] is not None:
            factor = height // pred.shape[1]
            truth = true_ab_full if factor == 1 else keras.ops.average_pool(true_ab_full, factor, factor)
        else:  # unknown static sizes: antialiased bilinear resize, close to an area average
            size = keras.ops.shape(pred)[1:3]
            truth = keras.ops.image.resize(true_ab_full, size, interpolation="bilinear", antialias=True)
        total = total + weight * smooth_l1(truth, pred, delta)
    return total


def histogram_loss(pred_hist, ref_hist, eps=1e-8):
    """Mean symmetric chi-squared distance 0.5 * sum((p - q)**2 / (p + q)), in [0, 1], 0 iff equal.

    Why chi-squared: each bin's squared difference is divided by its mass, so a small but vivid
    colour of the reference (a red scarf: 2% of the pixels) counts nearly as much as the large
    dull ones, where L1/L2 are dominated by the big bins; and unlike histogram intersection
    (sum of mins) it is smooth, with a gradient on both sides of every bin.
    """
    return keras.ops.mean(chi2_rows(pred_hist, ref_hist, eps))


def chi2_rows(pred_hist, ref_hist, eps=1e-8):
    """Per-row symmetric chi-squared distance (B,): histogram_loss before its mean, for masked means."""
    p = keras.ops.cast(pred_hist, "float32")
    q = keras.ops.cast(ref_hist, "float32")
    return 0.5 * keras.ops.sum(keras.ops.square(p - q) / (p + q + eps), axis=-1)


def tv_loss(ab):
    """Anisotropic total variation: mean |vertical difference| + mean |horizontal difference|.

    ab: (B, H, W, C). L1 (not squared) differences penalise colour noise and blotches but let
    real colour edges through.
    """
    ab = keras.ops.cast(ab, "float32")
    dy = keras.ops.abs(ab[:, 1:, :, :] - ab[:, :-1, :, :])
    dx = keras.ops.abs(ab[:, :, 1:, :] - ab[:, :, :-1, :])
    return keras.ops.mean(dy) + keras.ops.mean(dx)


def hinge_d_loss(real_logits, fake_logits):
    """Discriminator hinge loss (Lim & Ye 2017): mean relu(1 - real) + mean relu(1 + fake)."""
    real = keras.ops.cast(real_logits, "float32")
    fake = keras.ops.cast(fake_logits, "float32")
    return keras.ops.mean(keras.ops.relu(1.0 - real)) + keras.ops.mean(keras.ops.relu(1.0 + fake))


def hinge_g_loss(fake_logits):
    """Generator hinge loss: -mean(fake logits)."""
    return -keras.ops.mean(keras.ops.cast(fake_logits, "float32"))


def lsgan_d_loss(real_logits, fake_logits):
    """Least-squares GAN (Mao et al. 2017) discriminator loss: mean (real - 1)**2 + mean fake**2."""
    real = keras.ops.cast(real_logits, "float32")
    fake = keras.ops.cast(fake_logits, "float32")
    return keras.ops.mean(keras.ops.square(real - 1.0)) + keras.ops.mean(keras.ops.square(fake))


def lsgan_g_loss(fake_logits):
    """Least-squares GAN generator loss: mean (fake - 1)**2."""
    return keras.ops.mean(keras.ops.square(keras.ops.cast(fake_logits, "float32") - 1.0))


def classification_loss(labels, logits):
    """Mean sparse softmax cross-entropy over the rows whose label is known.

    labels: (B,) int class ids, -1 = unknown (ignored); logits: (B, num_classes).
    Returns 0.0 when no row is labelled (the sum is divided by max(count, 1)).
    """
    labels = keras.ops.cast(keras.ops.reshape(labels, (-1,)), "int32")
    known = keras.ops.cast(labels >= 0, "float32")  # (B,)
    safe = keras.ops.where(labels >= 0, labels, 0)  # any valid id; masked out below
    ce = keras.ops.sparse_categorical_crossentropy(safe, keras.ops.cast(logits, "float32"), from_logits=True)
    return keras.ops.sum(ce * known) / keras.ops.maximum(keras.ops.sum(known), 1.0)
