"""The training-free ``match`` method on the bundled demo photos (real ImageNet encoder)."""

from importlib.resources import files

import numpy as np
import pytest

from exemplar.core.color import rgb_to_lab
from exemplar.core.image_io import read_image
from exemplar.methods.match_colorizer import MatchColorizer, luminance_conditioned_ab


@pytest.fixture(scope="module")
def matcher():
    return MatchColorizer()


@pytest.fixture(scope="module")
def truth_lab():
    import cv2

    rgb = read_image(str(files("exemplar") / "demo" / "target_truth.jpg")).rgb
    return rgb_to_lab(cv2.resize(rgb, (144, 96), interpolation=cv2.INTER_AREA))  # (96, 144, 3)


def test_fallback_colour_depends_on_luminance():
    dark_blue = np.dstack([np.full((8, 8), 20.0), np.full((8, 8), 10.0), np.full((8, 8), -40.0)])
    bright_red = np.dstack([np.full((8, 8), 80.0), np.full((8, 8), 50.0), np.full((8, 8), 30.0)])
    reference = np.concatenate([dark_blue, bright_red]).astype(np.float32)
    ab = luminance_conditioned_ab(np.array([[20.0, 80.0]], np.float32), [reference])
    assert ab[0, 0, 1] < -25  # dark pixel: blue (b < 0)
    assert ab[0, 1, 0] > 35 and ab[0, 1, 1] > 15  # bright pixel: red


def test_self_reference_recovers_the_colours(matcher, truth_lab):
    """With the target's own colours (mirrored) as reference, ab must come out close to truth."""
    reference = truth_lab[:, ::-1]
    ab = matcher.predict_ab(truth_lab[..., 0], [reference])
    assert ab.shape == (96, 144, 2)
    error = np.abs(ab - truth_lab[..., 1:]).mean()
    error_of_mean = np.abs(truth_lab[..., 1:].mean(axis=(0, 1)) - truth_lab[..., 1:]).mean()
    assert error < 0.7 * error_of_mean  # clearly better than painting the average colour


def test_reference_of_other_size_and_several_references(matcher, truth_lab):
    tall = truth_lab[:, 20:84]  # (96, 64): another aspect ratio
    small = truth_lab[::2, ::2]  # (48, 72)
    ab = matcher.predict_ab(truth_lab[..., 0], [tall, small])
    assert ab.shape == (96, 144, 2) and np.isfinite(ab).all()
