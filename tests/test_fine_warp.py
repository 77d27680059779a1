"""exemplar.model.fine_warp: the reference's colours carried at 1/4, steered by luminance."""

import numpy as np
import tensorflow as tf

from exemplar.core.color import AB_SCALE
from exemplar.model.fine_warp import fine_warp


def _scene(rng, height=6, width=5, channels=16):
    """Distinct features per 1/8 cell and a 1/4 Lab image whose 2x2 sub-cells differ in L and ab."""
    features = rng.normal(size=(1, height, width, channels)).astype(np.float32)
    levels = rng.permuted(np.tile([-0.6, -0.2, 0.2, 0.6], (height * width, 1)), axis=1)  # L/50 - 1, 0.4 apart
    l4 = tf.nn.depth_to_space(levels.reshape(1, height, width, 4), 2).numpy()
    ab4 = rng.uniform(-0.5, 0.5, (1, 2 * height, 2 * width, 2))  # ab/110
    return features, np.concatenate([l4, ab4], -1).astype(np.float32)


def test_a_reference_identical_to_the_target_is_copied_sub_cell_by_sub_cell():
    features, lab4 = _scene(np.random.default_rng(0))
    ab, confidence = fine_warp(features, features, lab4[..., :1], lab4, sigma=0.01)
    assert ab.shape == (1, 12, 10, 2) and confidence.shape == (1, 6, 5, 1)
    np.testing.assert_allclose(ab.numpy(), lab4[..., 1:] * AB_SCALE, atol=0.5)  # at 1/4, not a 1/8 average
    np.testing.assert_allclose(confidence.numpy(), 1.0, atol=1e-4)


def test_sub_cells_follow_luminance_across_a_mirrored_reference():
    """A mirror swaps the sub-cells inside each cell: luminance, not position, puts colours back."""
    features, lab4 = _scene(np.random.default_rng(1))
    mirrored_lab, mirrored_features = lab4[:, :, ::-1], features[:, :, ::-1]
    ab, _ = fine_warp(features, mirrored_features, lab4[..., :1], mirrored_lab, sigma=0.01)
    np.testing.assert_allclose(ab.numpy(), lab4[..., 1:] * AB_SCALE, atol=0.5)
    # The 1/8 average of the matched cell is what the coarse warp would give: clearly worse.
    coarse = tf.nn.avg_pool2d(lab4[..., 1:], 2, 2, "VALID")
    coarse = np.repeat(np.repeat(coarse.numpy(), 2, 1), 2, 2) * AB_SCALE
    assert np.abs(coarse - lab4[..., 1:] * AB_SCALE).mean() > 10 * np.abs(ab.numpy() - lab4[..., 1:] * AB_SCALE).mean()


def test_reference_of_another_size_and_no_luminance_agreement():
    """Any reference size; where no candidate's L is near, the match weights alone decide (no NaN)."""
    rng = np.random.default_rng(2)
    target, _ = _scene(rng, 4, 7)
    reference, lab4 = _scene(rng, 5, 3)
    far_l = np.full((1, 8, 14, 1), 5.0, np.float32)  # no reference L is within sigma of it
    ab, confidence = fine_warp(target, reference, far_l, lab4, top_k=4, sigma=0.05)
    assert ab.shape == (1, 8, 14, 2) and confidence.shape == (1, 4, 7, 1)
    assert np.isfinite(ab.numpy()).all()
    assert np.abs(ab.numpy()).max() <= np.abs(lab4[..., 1:] * AB_SCALE).max() + 1e-3  # a convex mix
    assert (np.abs(confidence.numpy()) <= 1.0 + 1e-5).all()


def test_runs_inside_a_traced_function_with_unknown_sizes():
    spec = [tf.TensorSpec((1, None, None, 16)), tf.TensorSpec((1, None, None, 16)),
            tf.TensorSpec((1, None, None, 1)), tf.TensorSpec((1, None, None, 3))]
    traced = tf.function(lambda *a: fine_warp(*a, top_k=2)[0], input_signature=spec)
    features, lab4 = _scene(np.random.default_rng(3))
    eager = fine_warp(features, features, lab4[..., :1], lab4, top_k=2)[0]
    np.testing.assert_allclose(traced(features, features, lab4[..., :1], lab4).numpy(), eager.numpy(), atol=1e-5)
