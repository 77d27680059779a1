"""Reference mode's weaker-match floor (exemplar.methods.follow_gate): followed only where the reference
matches the photo as a whole and the network finds the warped colour plausible; eager and traced."""

import numpy as np
import pytest
import tensorflow as tf

from exemplar.methods.follow_gate import FOLLOW_OVERALL, FOLLOW_WEAK, OFF, PLAUSIBLE_MASS, weak_match_floor
from exemplar.model.ab_bins import AbBins

BAND = np.float32(FOLLOW_WEAK + FOLLOW_OVERALL)


def _inputs(cosines, overall, colour, prior_at):
    """A (1, 1, N, ...) row of cells: best cosines, the photo's mean cosine, one warped colour for every cell,
    and a prior that puts all its mass on the bin nearest ``prior_at`` (ab)."""
    centres = AbBins().centres
    confidence = np.float32(cosines).reshape(1, 1, -1, 1)
    cells = confidence.shape[2]
    reference_ab = np.broadcast_to(np.float32(colour), (1, 1, cells, 2)).copy()
    prior = np.zeros((1, 1, cells, len(centres)), np.float32)
    prior[..., np.argmin(((centres - np.float32(prior_at)) ** 2).sum(-1))] = 1.0
    return confidence, np.full((1, 1, 1, 1), overall, np.float32), reference_ab, prior, centres


@pytest.mark.parametrize("traced", [False, True])
def test_a_weaker_match_is_followed_only_where_the_photo_matches_and_the_colour_is_plausible(traced):
    floor = tf.function(weak_match_floor) if traced else weak_match_floor
    cosines = [0.1, 0.2, 0.3, 0.4, 0.5]
    # The reference matches overall and the network would paint this colour itself: the cosine ramp.
    plausible = np.asarray(floor(*_inputs(cosines, 0.5, (30.0, 20.0), (30.0, 20.0)), BAND))[0, 0, :, 0]
    np.testing.assert_allclose(plausible, [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-5)
    # An unrelated reference (mean cosine under FOLLOW_OVERALL): nothing, however good a single match.
    unrelated = np.asarray(floor(*_inputs(cosines, FOLLOW_OVERALL[0] - 0.01, (30.0, 20.0), (30.0, 20.0)), BAND))
    assert unrelated.max() == 0.0
    # Half-way up the overall ramp: half the floor.
    half = np.asarray(floor(*_inputs(cosines, np.mean(FOLLOW_OVERALL), (30.0, 20.0), (30.0, 20.0)), BAND))[0, 0, :, 0]
    np.testing.assert_allclose(half, 0.5 * plausible, atol=1e-5)
    # A colour far from everything the network would paint there (blue where it is sure of orange): nothing.
    implausible = np.asarray(floor(*_inputs(cosines, 0.5, (-10.0, -40.0), (30.0, 20.0)), BAND))
    assert implausible.max() == 0.0
    # OFF follows no weaker match at all.
    assert np.asarray(floor(*_inputs(cosines, 0.9, (30.0, 20.0), (30.0, 20.0)), np.float32(OFF))).max() == 0.0


def test_plausibility_is_the_prior_s_mass_near_the_colour():
    # The prior's mass within a bin of the colour: 15 ab units away keeps exp(-1/2) of it, 10 apart (the
    # next bin) still counts fully over PLAUSIBLE_MASS's ramp, 40 apart none.
    for offset, expected in ((0.0, 1.0), (10.0, 1.0), (40.0, 0.0)):
        args = _inputs([0.5], 0.5, (30.0 + offset, 20.0), (30.0, 20.0))
        got = float(np.asarray(weak_match_floor(*args, BAND))[0, 0, 0, 0])
        assert got == pytest.approx(expected, abs=1e-4), (offset, got)
    assert PLAUSIBLE_MASS[1] < np.exp(-0.5 * (10.0 / 15.0) ** 2)  # why a neighbouring bin still counts fully
