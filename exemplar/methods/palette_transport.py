"""Palette colorization through the network: each palette colour goes to the regions that can plausibly take it.

A palette (a few colours with weights) says what the picture should look like; the network says
what each region could be. Three looks (``Palette.mode``):

- ``semantic`` (default): plausibility first. At the network's 1/4 grid each palette colour k
  gets a score per cell,
    s(x, k) = -min(|m(x) - ab_k|, FAR)^2 / 2 s^2                  (how plausible the network finds it)
            - (l(x) - L_k)^2 / 2 t^2                               (light colours prefer light regions)
            + log weight_k                                          (the weights are a preference)
  with m(x) the network's own colour there (:func:`own_colour`), each distance capped at FAR (past
  it a colour is simply implausible, and tone and weight decide) and l(x) the region's calm L. The
  scores are smoothed with an edge-aware filter along the photo's L (a lawn's texture is averaged
  over, a face's outline is kept), a colour is chosen per cell by a softmax over them, and the ab
  is brought up to the working size with the guided filter, so colour follows regions, not grains.
  No quota: a colour nothing plausibly takes covers less than its weight, and a warning says so.
- ``strict``: the same calm regions, then Sinkhorn balancing (Cuturi 2013) of the smoothed scores
  so every colour covers its weight's share (the previous behaviour, without the grain).
- ``grade``: a colourist's split-toning, no semantics: shadows, midtones and highlights are toned
  by the palette's colours sorted dark to light (:func:`tone_slices` on the calm 1/4 L).

In semantic and grade, two protections follow the choice (:func:`protect`), both driven by the
network's own colour (:func:`own_colour`: its prior with no palette, ``own_prior``, which
NetColorizer computes in automatic mode for the same photo, decoded as the network decodes, so a
lawn under teal-orange is still green to it and a face is skin; without ``own_prior``, the
palette-conditioned prior divided by the palette's density, a weaker stand-in):
- skin: a skin-like region (own colour in skin's hue and chroma band) given a colour far from skin
  (a teal forehead, a yellow cheek) takes the network's skin colour instead; a colour it keeps from
  outside skin's hues (a summer palette's yellow or cream) is turned into skin's hue band
  (SKIN_TAKE_HUE) at no more than skin's chroma; and in semantic, skin-like regions prefer the
  palette's most skin-like colour;
- light neutrals: a light region the network paints near grey (snow, a white wall) keeps a light
  tint only, and the very lightest regions (a face mask, grey hair) lose chroma by L (HIGHLIGHT_L,
  HIGHLIGHT_CHROMA).
``strict`` keeps the palette's colours whole.
In semantic, before them, a region whose colour's hue clashes with the network's automatic colour
(more than HUE_CLASH degrees apart where the network's chroma is above HUE_SURE: a teal lawn, a blue
jacket it paints olive) can lean CLASH_BLEND of the way back to that colour (only with ``own_prior``;
off, 0, by default: measured on whole val it did not bring the looks to the issue's top-1 target and
cost the palettes' colours, docs/palettes.md).

The ``match`` method has no colour prior: its palette looks are tone only (``Palette.assign_ab``).
"""

import cv2
import numpy as np

from exemplar.core.guided_filter import guided_filter_coefficients, guided_upsample
from exemplar.methods.palette import MODES
COLOUR_SPREAD = 18.0  # ab units: how far from the network's colour a palette colour still fits
SURE_CHROMA = 30.0  # ab units: the network's colour this saturated says what a region is
FAR = 40.0  # ab units: a palette colour this far from the network's colour fits no better for being nearer
TONE_SPREAD = 22.0  # L units: a wide preference; plausibility, not tone, decides between light colours
REGION_RADIUS = 2  # cells of the 1/4 grid (8 working pixels): the smoothing window of the scores
REGION_EPS = 0.01  # (L/100)^2: L steps much above 0.1 (10 L) are region edges, texture below is averaged over
UPSAMPLE_EPS = 0.01  # (L/100)^2: the 1/4 -> working guided upsampling follows L steps above ~10 L, not grain
CHOICE_SHARPNESS = 0.6  # softmax temperature = vividness temperature * this, in log-score units
ITERATIONS = 20  # Sinkhorn iterations (strict)
TONE_SOFTNESS = {"strict": 0.03, "grade": 0.08}  # rank units: blends over about +-2.5 softness around slice edges
UNDER_COVERED = 0.5  # warn when a colour covers less than this share of its weight
FLOOR = 1e-6  # plausibility floor: log of 0 is -inf
UNPULL = 0.5  # the palette-conditioned prior divided by the palette's density to this power: the network's own colours
UNPULL_SPREAD = 15.0  # ab units: the palette's density, each colour a Gaussian this wide
UNPULL_FLOOR = 0.05  # of the density's peak: bins no palette colour is near are not blown up
SKIN_HUE = (30.0, 75.0)  # degrees in ab: the hue band of human skin (light to dark)
SKIN_EDGE = 12.0  # degrees: skin-likeness falls to 0 this far outside the band
SKIN_CHROMA = (7.0, 12.0, 38.0, 48.0)  # ab units: skin-likeness rises over the first two, falls over the last two
SKIN_MAX_CHROMA = 24.0  # ab units: the skin colour kept where no palette colour fits is no more saturated
SKIN_BONUS = 2.0  # log-score units: skin-like regions' preference for the palette's most skin-like colour
SKIN_SPREAD = 15.0  # ab units: how far from the skin colour a palette colour is still skin-compatible
SKIN_CLASH = (8.0, 22.0)  # ab units from the skin colour: the assigned colour starts/ends being a clash
MAX_HUE_SHIFT = 180.0  # degrees: where the network is sure, a region's hue turns at most this far to the palette's
HIGHLIGHT_L = (82.0, 98.0)  # calm L: highlights (snow, white walls, a face mask, grey hair) keep at most a light tint
HIGHLIGHT_CHROMA = (50.0, 6.0)  # ab units: the most chroma a region takes at HIGHLIGHT_L[0] and [1]
SKIN_TAKE_HUE = (35.0, 65.0)  # degrees: the hue band a skin-like region's colour is turned into (no yellow, no pink face)
FIT_FLOOR = 0.15  # chroma scale where even the palette's nearest colour is far from the network's: nearly neutral
NEUTRAL_GAIN = 1.0  # a light region the network paints near grey takes at most NEUTRAL_FLOOR + this x its chroma
NEUTRAL_FLOOR = 6.0  # ab units: the light tint a near-grey light region keeps
NEUTRAL_L = (60.0, 80.0)  # calm L over which that limit comes in (shadows may still be toned)
NEUTRAL_OWN = (8.0, 16.0)  # ab units: the network's own chroma over which a region stops being near grey
HUE_SURE = (3.0, 10.0)  # ab units: the network's own chroma over which its hue starts/ends counting
HUE_CLASH = (45.0, 100.0)  # degrees between a region's colour and the network's: start/end of a clash
CLASH_BLEND = 0.0  # share of the network's own colour a region whose hue clashes with it leans back to (0: off;
# 0.6 measured in docs/palettes.md, 2026-12-03 "Leaning back to the network's hue": not shipped)


def assign_palette(prior, l, palette, centres, temperature, iterations=ITERATIONS, mode=None, report=None,
                   own_prior=None):
    """prior (h4, w4, Q) probabilities over bins with ``centres`` (Q, 2), at the network's 1/4;
    l (h, w) L in [0, 100] at the working size; palette: :class:`exemplar.methods.palette.Palette`
    -> (h, w, 2) ab (Lab units) at the working size, palette colours and their blends.

    mode: ``semantic``, ``strict`` or ``grade``; None takes the palette's own (``palette.mode``).
    own_prior: (h4, w4, Q), the network's prior with no palette (its automatic mode, as
      NetColorizer passes it); when given, the looks ask it what each region is (the
      palette-conditioned prior is pulled towards the palette's colours and can put teal on a
      cheek); None: that prior divided by the palette's density stands in.
    report: a dict to receive ``coverage`` (K,), each colour's share of the picture; when None, a
      colour covering under half its weight is reported as an :class:`ExemplarWarning` instead.
    """
    mode = getattr(palette, "mode", "semantic") if mode is None else mode
    if mode not in MODES:
        from exemplar.core.errors import ExemplarError

        raise ExemplarError(f"unknown palette mode {mode!r}; choose one of: {', '.join(MODES)}")
    l = np.asarray(l, np.float32)
    h4, w4 = prior.shape[:2]
    l4 = cv2.resize(l, (w4, h4), interpolation=cv2.INTER_AREA)  # (h4, w4): texture averaged 4x4
    colours = np.asarray(palette.lab, np.float64)  # (K, 3)
    fit = np.ones(l4.shape)  # (h4, w4) chroma scale
    # The network's own colour: every look but grade scores with it, every look but strict protects with it.
    own = own_colour(prior if own_prior is None else own_prior, l4, palette, centres, temperature,
                     unpull=own_prior is None)
    skin, skin_ab = skin_prior(own)
    if mode == "grade":
        share = tone_slices(calm_l(l4), palette, TONE_SOFTNESS["grade"], by_rank=False)  # (h4, w4, K)
    else:
        score, fit = semantic_scores(own, l4, palette)
        if mode == "semantic":  # skin takes the palette's most skin-like colour where it has one
            score = score + SKIN_BONUS * skin[..., None] * np.exp(
                -((colours[None, None, :, 1:] - skin_ab[..., None, :]) ** 2).sum(-1) / (2 * SKIN_SPREAD**2))
        score = edge_aware_smooth(score, l4)
        score = score / max(temperature * CHOICE_SHARPNESS, 1e-3)
        # strict: the sharpened choice itself is balanced, so the shares hold after it
        share = np.exp(balanced(score, palette.weights, iterations)) if mode == "strict" else softmax(score)
    coverage = share.reshape(-1, len(colours)).mean(0)  # (K,) in [0, 1], sums to 1
    if report is not None:
        report["coverage"] = coverage
    elif mode == "semantic":
        warn_under_covered(palette, coverage)
    if mode == "strict":
        fit = np.ones(l4.shape)  # strict keeps the palette's colours whole
    ab4 = share @ colours[:, 1:]  # (h4, w4, 2)
    if mode == "semantic" and own_prior is not None and CLASH_BLEND > 0.0:
        # A colour whose hue clashes with the network's sure one (a teal bear, a blue lawn) leans back to it.
        # Not against the stand-in (the conditioned prior divided by the palette's density): dividing takes
        # the palette's own hues out of it, so every palette colour would clash with it.
        ab4 = ab4 + edge_aware_smooth((CLASH_BLEND * hue_clash(ab4, own))[..., None], l4) * (own - ab4)
    ab4 = ab4 * edge_aware_smooth(fit[..., None], l4)  # (h4, w4, 2)
    if mode != "strict":
        ab4 = protect(ab4, l4, skin, skin_ab, own)
    ab4 = ab4.astype(np.float32)
    return calm_upsample(in_gamut(ab4, l, (w4, h4)), l)


def hue_clash(ab4, own):
    """(h4, w4) in [0, 1]: 0 where the region's colour has the network's hue or the network has no hue
    there (near grey), 1 where the hues clash (a teal or blue animal the network paints a dull brown,
    a blue jacket it paints olive)."""
    cos = (ab4 * own).sum(-1) / np.maximum(np.linalg.norm(ab4, axis=-1) * np.linalg.norm(own, axis=-1), 1e-6)
    angle = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return smoothstep(angle, *HUE_CLASH) * smoothstep(np.linalg.norm(own, axis=-1), *HUE_SURE)


def skin_prior(own):
    """(h4, w4, 2) the network's own colour -> (h4, w4) skin-likeness in [0, 1] and (h4, w4, 2) skin's ab there.

    Skin-like: the own colour's hue in the skin band (SKIN_HUE, soft by SKIN_EDGE) and its chroma
    in SKIN_CHROMA (wood and sand pass too: they keep a natural colour as well). Skin's ab: the
    own colour with its chroma capped at SKIN_MAX_CHROMA."""
    hue = np.degrees(np.arctan2(own[..., 1], own[..., 0]))
    c = np.linalg.norm(own, axis=-1)
    outside = np.maximum(SKIN_HUE[0] - hue, hue - SKIN_HUE[1])  # degrees outside the band (< 0 inside)
    skin = (1.0 - smoothstep(outside, 0.0, SKIN_EDGE)) * smoothstep(c, SKIN_CHROMA[0], SKIN_CHROMA[1]) \
        * (1.0 - smoothstep(c, SKIN_CHROMA[2], SKIN_CHROMA[3]))
    return skin, own * np.minimum(1.0, SKIN_MAX_CHROMA / np.maximum(c, 1e-6))[..., None]


def protect(ab4, l4, skin, skin_ab, own):
    """Keep skin skin and highlights near neutral: (h4, w4, 2) ab -> the same.

    Where a region is skin-like and the colour it was given is far from the network's skin colour
    (a teal forehead, a lavender cheek), the skin colour takes its place; a region as light as snow
    or a white wall keeps at most a light tint of its colour (HIGHLIGHT_CHROMA by calm L)."""
    clash = smoothstep(np.linalg.norm(ab4 - skin_ab, axis=-1), *SKIN_CLASH)  # (h4, w4)
    pull = (skin * clash)[..., None]
    ab4 = (1.0 - pull) * ab4 + pull * skin_ab
    # A colour skin keeps from outside skin's hues is made skin-like: its hue turned into SKIN_TAKE_HUE
    # and its chroma no more than skin's (a summer palette's pure yellow becomes a light tan on a face,
    # not a yellow cheek); an orange or a peach is left as it is.
    hue = np.degrees(np.arctan2(ab4[..., 1], ab4[..., 0]))
    taken = np.clip(hue, *SKIN_TAKE_HUE)
    c = np.minimum(np.linalg.norm(ab4, axis=-1), SKIN_MAX_CHROMA)
    as_skin = np.stack([c * np.cos(np.radians(taken)), c * np.sin(np.radians(taken))], -1)
    turned = smoothstep(np.abs(hue - taken), 0.0, SKIN_EDGE)  # 0 for a skin hue, 1 from SKIN_EDGE outside
    ab4 = ab4 + (skin * turned)[..., None] * (as_skin - ab4)
    if MAX_HUE_SHIFT < 180.0:  # a region the network is sure of turns only so far towards the palette's hue
        own_c = np.linalg.norm(own, axis=-1)
        sure = smoothstep(own_c, 5.0, SURE_CHROMA)
        turn = np.angle(np.exp(1j * (np.arctan2(ab4[..., 1], ab4[..., 0]) - np.arctan2(own[..., 1], own[..., 0]))))
        allowed = np.radians(MAX_HUE_SHIFT + (180.0 - MAX_HUE_SHIFT) * (1.0 - sure))
        hue = np.arctan2(own[..., 1], own[..., 0]) + np.clip(turn, -allowed, allowed)
        c = np.linalg.norm(ab4, axis=-1)
        ab4 = np.stack([c * np.cos(hue), c * np.sin(hue)], -1)
    calm = calm_l(l4)
    cmax = HIGHLIGHT_CHROMA[0] + (HIGHLIGHT_CHROMA[1] - HIGHLIGHT_CHROMA[0]) * smoothstep(calm, *HIGHLIGHT_L)
    # Snow, a white wall: where the network paints a light region near grey, a light tint only.
    own_c = np.linalg.norm(own, axis=-1)
    neutral = NEUTRAL_FLOOR + NEUTRAL_GAIN * own_c
    light = smoothstep(calm, *NEUTRAL_L) * (1.0 - smoothstep(own_c, *NEUTRAL_OWN))
    cmax = np.minimum(cmax, light * np.minimum(cmax, neutral) + (1.0 - light) * cmax)
    c = np.linalg.norm(ab4, axis=-1)
    limit = np.where(c > cmax, cmax / np.maximum(c, 1e-6), 1.0)
    return ab4 * edge_aware_smooth(limit[..., None], l4)


def smoothstep(x, low, high):
    """0 below low, 1 above high, a smooth cubic between."""
    t = np.clip((np.asarray(x, np.float64) - low) / (high - low), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def calm_upsample(ab_low, l):
    """(h4, w4, 2) ab -> (h, w, 2) at the size of l (h, w), colour edges on the photo's L edges.
    The guide is an edge-preserving blur of L (5x5 median, then bilateral with a 12 L range): with L itself the guided
    filter's ab = A * L + B would print a lawn's grain into the colour wherever a window straddles
    a colour edge (a speckled halo around a face)."""
    h4, w4 = ab_low.shape[:2]
    guide = cv2.bilateralFilter(cv2.medianBlur(np.asarray(l, np.float32), 5), 9, 12.0, 3.0) / 100.0  # (h, w) in [0, 1]
    guide_low = cv2.resize(guide, (w4, h4), interpolation=cv2.INTER_AREA)
    return guided_upsample(guide_low, ab_low, guide, radius=2, eps=UPSAMPLE_EPS)


def in_gamut(ab4, l, size, iterations=6):
    """Scale the chroma of each 1/4 cell so that its colour fits sRGB at the lightest and darkest L
    around it (3x3 working pixels). Otherwise the final composition shrinks out-of-gamut chroma
    pixel by pixel, and a textured bright region (a sunlit lawn) turns back into colour grain.
    ab4 (h4, w4, 2), l (h, w) at the working size, size (w4, h4) -> (h4, w4, 2)."""
    kernel = np.ones((3, 3), np.uint8)
    bounds = [cv2.resize(op(l, kernel), size, interpolation=cv2.INTER_AREA) for op in (cv2.dilate, cv2.erode)]
    ab4 = np.asarray(ab4, np.float32)
    low, high = np.zeros(ab4.shape[:2] + (1,), np.float32), np.ones(ab4.shape[:2] + (1,), np.float32)
    for _ in range(iterations):  # bisection on the chroma scale: low always fits (0 is grey)
        mid = (low + high) / 2
        fits = fitting(ab4 * mid, bounds)
        low, high = np.where(fits, mid, low), np.where(fits, high, mid)
    return (ab4 * np.where(fitting(ab4, bounds), 1.0, low)).astype(np.float32)


def fitting(ab4, bounds):
    """(h4, w4, 1) bool: the cell's colour fits sRGB at every L in ``bounds``."""
    from exemplar.core.color import lab_to_linear_rgb

    ok = np.ones(ab4.shape[:2] + (1,), bool)
    for bound in bounds:
        linear = lab_to_linear_rgb(np.dstack([bound, ab4]))
        ok &= np.all((linear >= -1e-3) & (linear <= 1.0 + 1e-3), axis=-1, keepdims=True)
    return ok


def own_colour(prior, l4, palette, centres, temperature, unpull=True):
    """-> (h4, w4, 2) ab: the colour the network would paint with no palette, smoothed along regions.

    The palette-conditioned prior is pulled towards the palette's colours (the network was trained to
    reproduce a reference's histogram): dividing it by the palette's density to the power UNPULL
    takes most of that pull out, and decoding it as the network decodes (annealed mean at
    ``temperature``) gives its own colour: grass green under a teal-orange palette, skin skin."""
    centres = np.asarray(centres, np.float64)
    p = prior.reshape(-1, prior.shape[-1]).astype(np.float64)  # (N, Q)
    if unpull:
        colours = np.asarray(palette.lab, np.float64)[:, 1:]
        density = (np.exp(-((centres[:, None] - colours[None]) ** 2).sum(-1) / (2 * UNPULL_SPREAD**2))
                   * np.asarray(palette.weights, np.float64)[None]).sum(-1)  # (Q,)
        p = p / (density / density.max() + UNPULL_FLOOR) ** UNPULL
    logp = np.log(p + 1e-12) / max(float(temperature), 1e-2)
    annealed = np.exp(logp - logp.max(-1, keepdims=True))
    annealed /= annealed.sum(-1, keepdims=True)
    return edge_aware_smooth((annealed @ centres).reshape(l4.shape + (2,)), l4)  # (h4, w4, 2)


def semantic_scores(mean, l4, palette):
    """-> (h4, w4, K) log-scores and (h4, w4) chroma scale in [0.35, 1]. Log-scores: how near each colour is to
    what the network would paint (``mean``, :func:`own_colour`) + tone + log weight."""
    colours = np.asarray(palette.lab, np.float64)
    # Beyond FAR every colour is as implausible as any other: there tone and weight decide (an autumn
    # palette's sky takes its light gold, not its least saturated brown).
    # Where the network is unsure (its colour near grey, chroma under SURE_CHROMA) the palette colours
    # are shrunk towards its chroma before comparing, so an unsure cell does not favour the palette's
    # dullest colour (in teal-orange, the teals) over a warm one; where it is sure, chroma counts too
    # (skin at chroma 22 is nearer a peach than a saturated orange).
    chroma = np.linalg.norm(mean, axis=-1)[..., None]  # (h4, w4, 1) chroma of the network's colour
    sure = np.clip(chroma / SURE_CHROMA, 0.0, 1.0)
    reach = np.linalg.norm(colours[:, 1:], axis=-1)  # (K,)
    scale = sure + (1.0 - sure) * np.minimum(1.0, chroma / np.maximum(reach, 1e-3))  # (h4, w4, K)
    shrunk = colours[:, 1:] * scale[..., None]  # (h4, w4, K, 2)
    d2 = ((mean[..., None, :] - shrunk) ** 2).sum(-1)  # (h4, w4, K) ab units^2
    near = np.minimum(d2, FAR**2) / (2 * COLOUR_SPREAD**2)
    tone = (calm_l(l4)[..., None] - colours[:, 0]) ** 2 / (2 * TONE_SPREAD**2)  # (h4, w4, K)
    # Where even the nearest colour is far (a blue sky, an autumn palette), the colour is toned down:
    # full chroma up to FAR / 2, half at FAR, FIT_FLOOR from 1.35 FAR: what the palette cannot plausibly
    # paint goes nearly neutral rather than a wrong hue.
    fit = np.clip(1.5 - np.sqrt(d2.min(-1)) / FAR, FIT_FLOOR, 1.0)  # (h4, w4) in [FIT_FLOOR, 1]
    return -near - tone + np.log(np.asarray(palette.weights, np.float64)), fit


def calm_l(l4):
    """(h4, w4) L -> the same with texture flattened and edges kept: the tone that regions see.
    A bilateral (10 L range) and then a self-guided filter, which flattens windows whose L varies
    by less than about sqrt(REGION_EPS) * 100 = 10 L and keeps steps above that."""
    l4 = cv2.bilateralFilter(np.asarray(l4, np.float32), 5, 10.0, 2.0)
    return edge_aware_smooth(l4[..., None], l4)[..., 0].astype(np.float32)


def edge_aware_smooth(values, guide_l, radius=REGION_RADIUS, eps=REGION_EPS):
    """Guided filter of (h, w, C) values along (h, w) L in [0, 100]: flat within regions, steps at edges."""
    guide = np.asarray(guide_l, np.float32) / 100.0
    a, b = guided_filter_coefficients(guide, np.asarray(values, np.float32), radius, eps)
    return (a * guide[..., None] + b).astype(np.float64)


def softmax(score):
    """Softmax over the last axis, stable."""
    e = np.exp(score - score.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def balanced(score, weights, iterations=ITERATIONS):
    """Strict shares: Sinkhorn-balance exp(score) so colour k covers weights[k] of the cells -> log plan."""
    plan = softmax(score).reshape(-1, score.shape[-1]) + 1e-12  # (N, K)
    column_mass = np.asarray(weights, np.float64) * len(plan)
    for _ in range(iterations):
        plan /= plan.sum(1, keepdims=True)  # each cell's choice sums to 1
        plan *= column_mass / plan.sum(0)  # each colour covers its share
    plan /= plan.sum(1, keepdims=True)
    return np.log(plan).reshape(score.shape)


def tone_slices(l, palette, softness, by_rank=True):
    """(h, w) L -> (h, w, K) shares: colours sorted dark to light, each owning a slice of the tone scale
    as wide as its weight, blended over ``softness`` at slice edges. Rows sum to 1; columns are in
    the palette's own order. A pixel's place on the scale, in [0, 1]:
    - by_rank: its L rank (the share of pixels darker): each colour covers its weight's share of
      the picture (strict), but a large even area straddles slices;
    - else its L with the photo's 1st..99th percentile stretched to [0, 1]: a grader's shadows,
      midtones and highlights; an even area takes one colour or a blend."""
    flat = np.asarray(l, np.float32).reshape(-1)
    if by_rank:
        ordered = np.sort(flat)
        # Mid-rank in [0, 1]; equal L values share one rank, so a flat area gets one colour.
        rank = (np.searchsorted(ordered, flat, "left") + np.searchsorted(ordered, flat, "right")) / (2.0 * flat.size)
    else:
        low, high = np.percentile(flat, [1, 99])
        rank = np.clip((flat - low) / max(high - low, 1e-3), 0.0, 1.0)
    order = np.lexsort((palette.lab[:, 2], palette.lab[:, 1], palette.lab[:, 0]))  # dark to light
    upper = np.cumsum(np.asarray(palette.weights, np.float64)[order])  # (K,) slice ends on the rank scale
    lower = np.concatenate([[-np.inf], upper[:-1]])
    upper[-1] = np.inf  # the first and last slices extend to the ends: shares sum to 1 exactly

    def step(edge):  # smooth 0 -> 1 as rank passes edge, (N, K)
        return 0.5 * (1.0 + np.tanh((rank[:, None] - edge[None]) / (2.0 * max(softness, 1e-4))))

    share = np.empty((flat.size, len(order)))
    share[:, order] = step(lower) - step(upper)  # the steps telescope: rows sum to 1
    return share.reshape(np.shape(l) + (len(order),))


def warn_under_covered(palette, coverage):
    """Tell the user which colours the picture could not plausibly take at their weight."""
    import warnings

    from exemplar.core.errors import ExemplarWarning

    weights = np.asarray(palette.weights)
    short = [f"{code} covers {c:.0%} (weight {wt:.0%})" for code, c, wt in zip(palette.hex(), coverage, weights)
             if c < UNDER_COVERED * wt and wt >= 0.05]
    if short:
        warnings.warn(f"palette {palette.name}: {'; '.join(short)}: nothing in this picture plausibly takes "
                      "them at their weight (use the strict palette mode to force the shares)", ExemplarWarning,
                      stacklevel=3)
