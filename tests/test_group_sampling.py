"""Sampling training photos by group share (data_prep.group_sampling) and same-group references."""

import numpy as np
import pytest

from data_prep.cached_pairs import CachedPairs
from data_prep.group_sampling import parse_shares, photo_probabilities
from exemplar.core.errors import ExemplarError


def test_parse_shares_reads_entries_and_names_bad_ones():
    assert parse_shares(("people=0.5", " faces = 0.25")) == {"people": 0.5, "faces": 0.25}
    for bad in ("people", "=0.2", "people=-1", "people=lots"):
        with pytest.raises(ExemplarError, match="group share"):
            parse_shares((bad,))


def test_groups_are_drawn_by_share_not_by_size():
    groups = np.array([0] * 900 + [1] * 90 + [2] * 10)  # lopsided: 900, 90, 10 photos
    notes = []
    p = photo_probabilities(groups, ["big", "mid", "small"], ("big=0.5", "mid=0.25", "small=0.25", "absent=1"),
                            warn=notes.append)
    np.testing.assert_allclose(p.sum(), 1.0)
    drawn = np.random.default_rng(0).choice(len(p), 200_000, p=p)
    shares = np.bincount(groups[drawn], minlength=3) / len(drawn)
    np.testing.assert_allclose(shares, [0.5, 0.25, 0.25], atol=0.01)
    assert np.allclose(p[groups == 2], p[groups == 2][0])  # uniform within a group
    assert notes == []


def test_unnamed_groups_are_not_drawn_and_unknown_names_fall_back_to_proportional():
    groups = np.array([0, 0, 1, 1, 2])
    notes = []
    p = photo_probabilities(groups, ["a", "b", "c"], ("a=1", "b=1"), warn=notes.append)
    assert p[4] == 0.0 and "c" in notes[0]
    notes.clear()
    assert photo_probabilities(groups, ["a", "b", "c"], ("people=1",), warn=notes.append) is None
    assert "in proportion" in notes[0]
    assert photo_probabilities(groups, ["a", "b", "c"], ()) is None


class _Cache:
    """The parts of a FeatureCache that CachedPairs' sampling reads."""

    def __init__(self, labels, groups):
        self.labels = np.array(labels, np.int32)
        self.groups = np.array(groups, np.int32)
        self.size = 64

    def __len__(self):
        return len(self.labels)


def test_unlabelled_photos_take_references_from_their_group():
    # photos 0-1: class 0; photos 2-4: unlabelled group 1 ("faces"); photo 5: unlabelled group 2, alone
    pairs = CachedPairs(_Cache([0, 0, -1, -1, -1, -1], [0, 0, 1, 1, 1, 2]), 64, 64, same_class_fraction=1.0)
    rng = np.random.default_rng(0)
    assert {pairs.partner(2, rng) for _ in range(50)} == {3, 4}
    assert {pairs.partner(0, rng) for _ in range(20)} == {1}
    assert pairs.partner(5, rng) == 5  # no other photo in its group: a self pair
