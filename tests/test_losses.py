"""Tests of training.losses on hand-made tensors with hand-computed values."""

import numpy as np
import pytest

from training.losses import (
    classification_loss,
    histogram_loss,
    hinge_d_loss,
    hinge_g_loss,
    lsgan_d_loss,
    lsgan_g_loss,
    multiscale_smooth_l1,
    smooth_l1,
    tv_loss,
)


def _value(x):
    return float(np.asarray(x))


def test_smooth_l1_quadratic_then_linear():
    # |x| = 0.05 < delta: 0.5 * 0.05**2 / 0.1 = 0.0125; |x| = 0.3: 0.3 - 0.05 = 0.25.
    got = smooth_l1(np.zeros(2, np.float32), np.float32([0.05, -0.3]), delta=0.1)
    assert _value(got) == pytest.approx((0.0125 + 0.25) / 2, abs=1e-6)
    assert _value(smooth_l1(np.ones(4, np.float32), np.ones(4, np.float32))) == 0.0


def test_multiscale_smooth_l1_weights_and_area_resize():
    truth = np.full((1, 8, 8, 2), 0.3, np.float32)
    outputs = {
        "ab": truth + 0.2,  # 0.2 - 0.05 = 0.15
        "ab_half": np.full((1, 4, 4, 2), 0.3, np.float32),  # 0
        "ab_quarter": np.full((1, 2, 2, 2), 0.35, np.float32),  # 0.5 * 0.05**2 / 0.1 = 0.0125
    }
    assert _value(multiscale_smooth_l1(truth, outputs)) == pytest.approx(0.15 + 0.25 * 0.0125, abs=1e-6)
    # A +-0.5 checkerboard averages to exactly 0 over 2x2 blocks: zero loss at 1/2, not at 1/1.
    checker = np.where((np.indices((8, 8)).sum(axis=0) % 2)[None, :, :, None] == 0, 0.5, -0.5)
    checker = np.repeat(checker, 2, axis=-1).astype(np.float32)
    assert _value(multiscale_smooth_l1(checker, {"ab_half": np.zeros((1, 4, 4, 2), np.float32)})) == pytest.approx(0.0)
    full = multiscale_smooth_l1(checker, {"ab": np.zeros((1, 8, 8, 2), np.float32)})
    assert _value(full) == pytest.approx(0.45, abs=1e-6)
    custom = multiscale_smooth_l1(checker, {"ab": np.zeros((1, 8, 8, 2), np.float32)}, scale_weights={"ab": 2.0})
    assert _value(custom) == pytest.approx(0.9, abs=1e-6)


def test_histogram_loss_chi_squared():
    p = np.zeros((2, 9), np.float32)
    q = np.zeros((2, 9), np.float32)
    p[0, :2] = 0.5
    q[0, 0] = 1.0
    p[1, 4] = q[1, 4] = 1.0  # identical row: 0
    # Row 0: 0.5 * (0.5**2 / 1.5 + 0.5**2 / 0.5) = 1/3; batch mean (1/3 + 0) / 2.
    assert _value(histogram_loss(p, q)) == pytest.approx(1.0 / 6.0, abs=1e-5)
    assert _value(histogram_loss(q, q)) == pytest.approx(0.0, abs=1e-7)
    disjoint = np.eye(9, dtype=np.float32)[[0]], np.eye(9, dtype=np.float32)[[3]]
    assert _value(histogram_loss(*disjoint)) == pytest.approx(1.0, abs=1e-5)  # the maximum


def test_tv_loss_hand_made_image():
    image = np.float32([[0, 1, 3], [1, 1, 1]])[None, :, :, None]  # (1, 2, 3, 1)
    # Vertical |differences| 1, 0, 2 -> mean 1; horizontal 1, 2, 0, 0 -> mean 0.75.
    assert _value(tv_loss(image)) == pytest.approx(1.75, abs=1e-6)
    assert _value(tv_loss(np.full((2, 4, 4, 2), 0.7, np.float32))) == 0.0


def test_gan_losses_hand_made_logits():
    real = np.float32([2.0, 0.5, -1.0])
    fake = np.float32([-2.0, 0.0, 1.0])
    # relu(1 - real) = 0, 0.5, 2 -> 5/6; relu(1 + fake) = 0, 1, 2 -> 1.
    assert _value(hinge_d_loss(real, fake)) == pytest.approx(5.0 / 6.0 + 1.0, abs=1e-6)
    assert _value(hinge_g_loss(fake)) == pytest.approx(1.0 / 3.0, abs=1e-6)
    # (real - 1)**2 = 0, 1 -> 0.5; fake**2 = 0, 4 -> 2.
    assert _value(lsgan_d_loss(np.float32([1.0, 0.0]), np.float32([0.0, 2.0]))) == pytest.approx(2.5, abs=1e-6)
    assert _value(lsgan_g_loss(np.float32([1.0, 3.0]))) == pytest.approx(2.0, abs=1e-6)


def _cross_entropy(logits, label):
    logits = np.asarray(logits, np.float64)
    return float(np.log(np.exp(logits - logits.max()).sum()) + logits.max() - logits[label])


def test_classification_loss_ignores_unknown_labels():
    logits = np.float32([[2.0, 0.5, -1.0], [100.0, -100.0, 0.0], [0.0, 1.0, 3.0]])
    labels = np.int32([1, -1, 0])
    expected = (_cross_entropy(logits[0], 1) + _cross_entropy(logits[2], 0)) / 2
    assert _value(classification_loss(labels, logits)) == pytest.approx(expected, rel=1e-5)
    # Changing the unlabelled row changes nothing.
    other = logits.copy()
    other[1] = [-50.0, 50.0, 3.0]
    assert _value(classification_loss(labels, other)) == pytest.approx(expected, rel=1e-5)
    assert _value(classification_loss(np.int32([-1, -1, -1]), logits)) == 0.0


def test_classification_loss_no_gradient_to_unlabelled_rows():
    import tensorflow as tf

    logits = tf.Variable(np.float32([[2.0, 0.5], [1.0, -1.0]]))
    with tf.GradientTape() as tape:
        loss = classification_loss(np.int32([0, -1]), logits)
    grad = tape.gradient(loss, logits).numpy()
    assert np.abs(grad[0]).max() > 0 and np.all(grad[1] == 0)
