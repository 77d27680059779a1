"""Palette colorization through the network: each palette colour goes where the network finds it plausible.

A palette (a few colours with weights) says what the picture should look like; the network says
what each region could be. The network's palette-conditioned colour distribution at each pixel
scores every palette colour, a tone term prefers dark colours in dark regions, and Sinkhorn
balancing (optimal transport with entropy, Cuturi 2013) makes each colour cover its weight's
share of the picture, so the output's colours are the palette's, in the palette's proportions:

  score(x, k) = (sum_q prior_q(x) * exp(-|c_q - ab_k|^2 / 2 s^2)) * exp(-(r(x) - r_k)^2 / 2 t^2)
  (r(x): the pixel's L rank in the photo, 0..100; r_k: the centre of colour k's slice of the tone
  scale when the colours are sorted dark to light, each slice as wide as its weight)
  P = sinkhorn(score): rows (pixels) sum to 1, columns (colours) to weight_k * N
  ab(x) = sum_k softmax_k(log P(x, k) / T) * ab_k          (T = 1 - vividness, as for the prior)

Tone assignment alone (``Palette.assign_ab``, the ``match`` method's) uses only the tone term.
"""

import cv2
import numpy as np

COLOUR_SPREAD = 12.0  # ab units: how near a bin must be to count for a palette colour
TONE_SPREAD = 12.0  # L units: how strongly dark colours prefer dark regions
ITERATIONS = 20
CHOICE_SHARPNESS = 0.1  # the choice between colours is 10x sharper than the prior's annealing:
# a blend of two palette colours is a colour the palette does not have (and a duller one)


def assign_palette(prior, l, palette, centres, temperature, iterations=ITERATIONS):
    """prior (h4, w4, Q) probabilities over bins with ``centres`` (Q, 2), at the network's 1/4;
    l (h, w) L in [0, 100] at the working size; palette: :class:`exemplar.palette.Palette`
    -> (h, w, 2) ab (Lab units) at the working size, palette colours only.

    The plausibility of each colour (K maps) is brought up to the working size and the transport
    runs there, so colour boundaries follow the photo's tones at full working resolution."""
    h, w = l.shape
    colours = np.asarray(palette.lab, np.float64)  # (K, 3)
    d2 = ((centres[:, None, :] - colours[None, :, 1:]) ** 2).sum(-1)  # (Q, K)
    low = prior.reshape(-1, prior.shape[-1]).astype(np.float32) @ np.exp(-d2 / (2 * COLOUR_SPREAD**2)).astype(np.float32)
    low = low.reshape(prior.shape[0], prior.shape[1], -1)  # (h4, w4, K)
    plausible = cv2.resize(low, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h * w, -1).astype(np.float64)
    # Ranks rather than L values, as the tone assignment does: an under-exposed photo still uses
    # the palette's light colours somewhere.
    ranks = np.argsort(np.argsort(l.reshape(-1))) / max(l.size - 1, 1) * 100.0  # (N,)
    weights = np.asarray(palette.weights, np.float64)
    order = np.argsort(colours[:, 0])
    slots = np.empty(len(colours))
    slots[order] = (np.cumsum(weights[order]) - weights[order] / 2) * 100.0  # (K,) tone slot centres
    tone = np.exp(-((ranks[:, None] - slots[None]) ** 2) / (2 * TONE_SPREAD**2))  # (N, K)
    plan = plausible * tone + 1e-12  # (N, K)
    column_mass = weights * len(plan)
    for _ in range(iterations):
        plan /= plan.sum(1, keepdims=True)  # each pixel's choice sums to 1
        plan *= column_mass / plan.sum(0)  # each colour covers its share
    plan /= plan.sum(1, keepdims=True)
    logits = np.log(plan) / max(temperature * CHOICE_SHARPNESS, 1e-3)
    choice = np.exp(logits - logits.max(1, keepdims=True))
    choice /= choice.sum(1, keepdims=True)
    return (choice @ colours[:, 1:]).reshape(h, w, 2).astype(np.float32)
