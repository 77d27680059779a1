"""How far reference mode follows a weaker match: the reference as a whole, and the network, must agree.

The net method follows the reference's warped colour outright wherever the best match is confident
(net_colorizer.FOLLOW_CONFIDENCE, cosine 0.3 to 0.5). Below that the learned gate decides, and on
a photo of the same kind of scene it follows less than training-free ``match`` does (histogram
intersection with the reference, issue 18). Following every weaker match (cosine 0.2 to 0.4) closes
that gap but copies colours the network would never paint (a doughnut blue-pink from a plate of
blueberries) and, with an unrelated reference, puts the output below the grey photo (docs/model.md,
ninth session). So a weaker match is followed where both hold:

- the reference matches the target as a whole: the mean best-match cosine over the target's cells,
  ramped over FOLLOW_OVERALL. Measured at 1/8 with the shipped model on 90 val pairs each: the most
  similar photo of the same folder scores 0.38 to 0.58 (10th to 90th percentile), a random photo of
  another folder 0.31 to 0.36;
- the network finds the warped colour plausible there: its prior's mass near the colour (each bin
  weighted exp(-d^2 / 2 PLAUSIBLE_AB^2) by its ab distance d to it), ramped over PLAUSIBLE_MASS.

Off by default (``NetColorizer.follow_weak`` = OFF): on the whole val sets it follows a same-kind reference at
least as much as ``match`` on 6 of 9 folders (1 off) and keeps a random reference's output above the grey photo,
but costs PSNR and top-1 agreement on some folders, and looked at, a lawn can take a reference's grey rocks.

Shapes: confidence (B, h, w, 1) best cosine in [-1, 1]; reference_ab (B, h, w, 2) Lab units;
prior (B, h, w, Q) probabilities over the bins' centres (Q, 2).
"""

import keras

FOLLOW_WEAK = (0.2, 0.4)  # best-match cosine over which a weaker match's floor ramps from 0 to 1
FOLLOW_OVERALL = (0.33, 0.38)  # mean best-match cosine over which the reference counts as matching
PLAUSIBLE_MASS = (0.05, 0.15)  # prior mass near the warped colour over which it counts as plausible
PLAUSIBLE_AB = 15.0  # ab units: how near a bin must be to the warped colour to lend it its mass
OFF = (2.0, 3.0, 2.0, 3.0)  # above every cosine: no weaker match is followed (the decode skips the floor)


def ramp(x, low, high):
    """0 at ``low`` or below, 1 at ``high`` or above, linear between."""
    return keras.ops.clip((x - low) / (high - low), 0.0, 1.0)


def weak_match_floor(confidence, overall, reference_ab, prior, centres, band):
    """The gate's floor from weaker matches -> (B, h, w, 1) in [0, 1].

    overall: (B, 1, 1, 1) mean best-match cosine of each photo; band: (4,) FOLLOW_WEAK + FOLLOW_OVERALL
    (OFF: zero everywhere); the rest as in the module docstring.
    """
    distance2 = keras.ops.sum(keras.ops.square(reference_ab[..., None, :] - centres), axis=-1)  # (B, h, w, Q)
    mass = keras.ops.sum(prior * keras.ops.exp(-distance2 / (2.0 * PLAUSIBLE_AB**2)), axis=-1, keepdims=True)
    return (ramp(confidence, band[0], band[1]) * ramp(overall, band[2], band[3])
            * ramp(mass, PLAUSIBLE_MASS[0], PLAUSIBLE_MASS[1]))
