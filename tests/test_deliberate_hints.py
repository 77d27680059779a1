"""benchmarks/deliberate_hints.py: the object a click recolours, and its recolouring."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def deliberate(load_benchmark):
    return load_benchmark("deliberate_hints")


def _photo():
    """(80, 100, 3) Lab: a grey ground, a red square (10% of the photo) and a textured green band (45%)."""
    lab = np.zeros((80, 100, 3), np.float32)
    lab[..., 0] = 60.0
    lab[20:40, 20:60] = (40.0, 30.0, 20.0)
    lab[44:80, :, 0] = 50.0 + 2.0 * np.sin(np.arange(100) / 2.0)  # within the fill's tolerance of itself
    lab[44:80, :, 1:] = (-25.0, 20.0)
    return lab


def test_an_object_is_a_connected_region_of_like_colour_of_2_to_40_percent(deliberate):
    lab = _photo()
    found = [deliberate.find_object(lab, np.random.default_rng(seed)) for seed in range(12)]
    for point, region in filter(None, found):
        x, y = point
        assert region[y, x] and 0.02 <= region.mean() <= 0.40
        square = np.zeros(region.shape, bool)
        square[20:40, 20:60] = True
        np.testing.assert_array_equal(region, square)  # the ground (45%) and the band (45%) are too large
    assert any(f is not None for f in found)


def test_recolouring_turns_the_object_s_hue_keeps_its_l_and_leaves_the_rest(deliberate):
    lab = _photo()
    region = np.zeros(lab.shape[:2], bool)
    region[20:40, 20:60] = True
    out, new = deliberate.recolour(lab, region, (30, 30), turn=120.0, min_chroma=30.0)
    chroma, hue = np.hypot(30.0, 20.0), np.degrees(np.arctan2(20.0, 30.0)) + 120.0
    np.testing.assert_allclose(new, [chroma * np.cos(np.radians(hue)), chroma * np.sin(np.radians(hue))], rtol=1e-5)
    np.testing.assert_allclose(out[region, 1:], np.broadcast_to(new, (region.sum(), 2)), rtol=1e-5)
    np.testing.assert_array_equal(out[..., 0], lab[..., 0])
    np.testing.assert_array_equal(out[~region], lab[~region])
    _, dull = deliberate.recolour(lab, region, (30, 30), turn=0.0, min_chroma=50.0)
    assert np.hypot(*dull) == pytest.approx(50.0)  # a dull object gets a colour a user would click
