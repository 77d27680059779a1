"""Sampling training photos by group share instead of in proportion to the groups' sizes.

A photo collection is usually lopsided (4,188 flowers beside 210 cars): drawn in proportion, the
network learns the big groups and little else. With shares, each example draws its group by share,
then a photo of that group uniformly; equivalently each photo is drawn with probability
share(group) / size(group), which is what ``photo_probabilities`` returns.
"""

import numpy as np

from exemplar.core.errors import ExemplarError


def parse_shares(entries):
    """("people=0.14", "faces=0.12", ...) -> {"people": 0.14, "faces": 0.12}; ExemplarError if malformed."""
    shares = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        try:
            share = float(value)
        except ValueError:
            share = -1.0
        if not sep or not name.strip() or share < 0.0:
            raise ExemplarError(f"group share {entry!r}: expected group=share with a share >= 0")
        shares[name.strip()] = share
    return shares


def photo_probabilities(groups, group_names, entries, warn=print):
    """(N,) probability of drawing each photo, or None to draw in proportion to the groups' sizes.

    groups: (N,) int group index of each photo into ``group_names``; entries: "group=share" strings.
    Named groups absent from the data are ignored; present groups left unnamed get no draws (and
    ``warn`` names them); if no named group is present at all, None (proportional), with a warning.
    """
    if not entries:
        return None
    shares = parse_shares(entries)
    counts = np.bincount(np.asarray(groups), minlength=len(group_names))
    present = {name: int(counts[i]) for i, name in enumerate(group_names) if counts[i] > 0}
    used = {name: share for name, share in shares.items() if name in present and share > 0}
    if not used:
        warn(f"none of the groups named in the shares ({', '.join(shares)}) is in the data "
             f"({', '.join(present) or 'none'}): drawing photos in proportion to the groups' sizes")
        return None
    unnamed = sorted(set(present) - set(shares))
    if unnamed:
        warn(f"groups without a share are not drawn: {', '.join(unnamed)}")
    total = sum(used.values())
    per_group = np.zeros(len(group_names))
    for i, name in enumerate(group_names):
        if name in used:
            per_group[i] = used[name] / total / present[name]
    probabilities = per_group[np.asarray(groups)]
    return probabilities / probabilities.sum()  # exact normalisation for rng.choice
