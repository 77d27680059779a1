"""The ``net`` method: the trained colour network at the working size, in its three modes.

Same contract as :class:`exemplar.methods.match_colorizer.MatchColorizer`: L (h, w) in, ab (h, w, 2) out,
so the Colorizer's full-size guided upsampling and L-preserving composition apply unchanged.

    target L (h, w) -> multiple of 32 (h32, w32) -> encoder (frozen) -> ColorNet -> prior
    (h32/4, w32/4, Q) and gate; reference ab warped at 1/4 (exemplar.model.fine_warp) -> gate x reference
    + (1 - gate) x annealed prior at 1 - vividness -> ab (h32/4, w32/4, 2) -> guided upsampling along
    the target's own L -> ab (h, w, 2)

Where the match is confident the reference is followed whatever the learned gate says: the gate is
raised to a ramp of the best cosine similarity, 0 at FOLLOW_CONFIDENCE[0] to 1 at [1]. Chosen on 30
val pairs per set (epoch-44 model): the learned gate averaged 0.95 on the scene's own colours and
0.25 on another photo of its class; with the ramp 0.99 and 0.53, +0.35 dB (self-bsds), +0.29 dB
(self-scenes), and histogram intersection with the reference 0.564 -> 0.612 on same-class pairs,
for 0.55 dB and some colourfulness there. Weaker matches (0.2 to 0.4) can be followed too where the
reference matches the photo as a whole and the network finds the colour plausible (``follow_weak``,
exemplar.methods.follow_gate); off by default, as measured in docs/model.md (tenth session).
"""

import hashlib
from importlib.resources import files

import cv2
import keras
import numpy as np
import tensorflow as tf

from exemplar.model.ab_bins import DEFAULT_TEMPERATURE, AbBins
from exemplar.core.color import AB_SCALE, fit_ab_in_gamut, normalize_l
from exemplar.model.color_net_weights import load_color_net
from exemplar.core.guided_filter import guided_upsample
from exemplar.methods import follow_gate
from exemplar.methods.hint_spread import network_agreement, spread_hints
from exemplar.methods.match_colorizer import encoder_input, resize_to_stride

STRIDE = 32  # the network's inputs are multiples of the encoder's largest stride
DEFAULT_VIVIDNESS = 1.0 - DEFAULT_TEMPERATURE  # 0.62: Zhang et al.'s annealed-mean temperature 0.38
FOLLOW_CONFIDENCE = (0.3, 0.5)  # best-match cosine: gate floor 0 below, 1 above (see module docstring)
# Automatic mode: the prior's entropy (over log Q, in [0, 1]) at which colour starts to fade to grey,
# and where it is gone. Uncertain regions are where the network paints blotches (red on a white car,
# on a pheasant's grass); measured on the 99 val/bsds photos: 22.46 -> 23.15 dB (grey 22.66),
# colourfulness 36.6 -> 27.9 (truth 36.0), ImageNet agreement 0.505 -> 0.525 (grey 0.616).
UNSURE_ENTROPY = (0.6, 0.85)
# Cosine of the encoder's matching features at which a cell counts as the same stuff as a hinted
# cell (the confident-match gate floor is lifted there, so the hint can take over from the reference).
HINT_SAME_STUFF = (0.6, 0.8)
# A click enters the network as a patch of HINT_PATCH x HINT_PATCH cells at 1/4 (its colour over about 12 x 12
# pixels of a 256 px working size), as half the hints of its training were: the network then carries it further
# (its own gain from 10 hints, 48 + 48 train photos, two seeds: people +0.71 -> +0.91 dB, bsds +0.89 -> +1.10).
HINT_PATCH = 3
FINE_SIGMA = 0.05  # luminance tolerance of the 1/4 warp, L/50 units (2.5 L; 0.1 measured 0.1 dB lower)


class NetColorizer:
    """Load the shipped (or a given) model once; colour from references, a palette, or nothing.

    weights: folder holding ``default.npz`` and ``default.json`` (None: the packaged model).
    follow_reference: copy the reference's colours wherever the correspondence found a match
      (gate 1) instead of the learned gate, which falls back on the network's own colours where
      the reference does not fit.
    vividness in [0, 1): 1 - the annealed-mean temperature. 0 gives the mean of the predicted
      colour distribution (safe, dull); towards 1 its most likely colour (vivid, may be patchy).
    encoder: the model's EfficientNet-Lite (``self.net.encoder``) with its classifier (include_top) to share.

    Colour hints (``hints=`` of the predict methods): [(x, y, (a, b))], x and y fractions of the
    width and height in [0, 1], ab in Lab units. Each goes to its 1/4 cell as the network's hint
    input (the network spreads it over the region), its colour is laid over the object it falls on,
    fading with geodesic distance over L (``exemplar.methods.hint_spread``), and the confident-match floor on
    the gate is dropped: the learned gate, trained with hints, decides.
    """

    def __init__(self, weights=None, follow_reference=False, vividness=DEFAULT_VIVIDNESS, encoder=None):
        from exemplar.core.errors import ExemplarError

        if not 0.0 <= vividness < 1.0:
            raise ExemplarError(f"vividness must be in [0, 1), got {vividness}")
        folder = weights if weights is not None else files("exemplar") / "weights"
        self.net, self.info = load_color_net(folder)
        if encoder is None:
            from exemplar.model.encoder import build_encoder

            encoder = build_encoder(self.net.encoder)  # the frozen ImageNet encoder the ColorNet sits on
        self.encoder = encoder
        self.follow = 1.0 if follow_reference else None
        self.temperature = 1.0 - vividness
        self.unsure_entropy = UNSURE_ENTROPY  # automatic mode's fading band, given to the decode graph at each call
        self.follow_confidence = FOLLOW_CONFIDENCE  # reference mode's confident-match band, given the same way
        # weaker matches' band and the whole photo's, given the same way: OFF (none followed) by default;
        # follow_gate.FOLLOW_WEAK + FOLLOW_OVERALL follows them where the reference and the network agree
        self.follow_weak = follow_gate.OFF
        self.bins = AbBins()
        self.hist_bins = self.net.hist_bins
        # One graph for all sizes: spatial dims are None, and the ColorNet's upsampling reads sizes at
        # run time (exemplar.model.upsample), so a new photo size costs no new trace.
        self._encode = tf.function(
            lambda image: encoder(image, training=False), input_signature=[tf.TensorSpec((1, None, None, 3), tf.float32)]
        )
        # The ColorNet plus its matching features at 1/8, which the finer 1/4 warp reuses.
        self._net = keras.Model(self.net.input, {
            **self.net.output,
            "target8": self.net.get_layer("target_match8").output,
            "reference8": self.net.get_layer("reference_match8").output,
        })
        spec = {key: tf.TensorSpec((1,) + tuple(t.shape[1:]), tf.float32) for key, t in self.net.input.items()}
        self._decode = tf.function(self._to_ab, input_signature=[spec, tf.TensorSpec((), tf.float32),
                                                                 tf.TensorSpec((2,), tf.float32),
                                                                 tf.TensorSpec((2,), tf.float32),
                                                                 tf.TensorSpec((4,), tf.float32)])
        self._prior = tf.function(lambda inputs: tf.nn.softmax(self.net(inputs, training=False)["prior_logits"])[0],
                                  input_signature=[spec])
        # The last reference's network inputs (key, inputs): a film's keyframes, or a batch with one
        # reference for every photo, encode it and take its histogram once (0.1 s of 0.23 s a call at
        # 256x455). One entry, replaced whole, so memory stays bounded and threads see a consistent pair.
        self._last_reference = (None, None)
        self._stand_in = None  # the neutral stand-in reference's features (palette, automatic): encoded once
        self._last_automatic = (None, None)  # (key of the target inputs, automatic prior): palette mode's own colours

    def _to_ab(self, inputs, temperature, unsure_entropy, follow_confidence, follow_weak):
        """ColorNet outputs decoded (exemplar.model.color_net.decode_ab) -> (h/4, w/4, 2) ab, the
        reference's part warped at 1/4 and followed wherever the match is confident, or weaker where
        the reference and the network agree (follow_gate), unless hinted."""
        from exemplar.model.color_net import decode_ab
        from exemplar.model.fine_warp import fine_warp

        outputs = self._net(inputs, training=False)
        reference_ab, confidence = fine_warp(outputs["target8"], outputs["reference8"], inputs["target_l4"],
                                             inputs["reference_lab4"], sigma=FINE_SIGMA)
        overall = tf.reduce_mean(confidence, axis=[1, 2, 3], keepdims=True)  # (1, 1, 1, 1): mean best cosine
        confidence = tf.image.resize(confidence, tf.shape(reference_ab)[1:3], method="bilinear")  # (1, h/4, w/4, 1)
        prior = tf.nn.softmax(tf.cast(outputs["prior_logits"], tf.float32), axis=-1)  # (1, h/4, w/4, Q)
        floor = follow_gate.ramp(confidence, follow_confidence[0], follow_confidence[1])  # FOLLOW_CONFIDENCE by default
        floor = tf.cond(follow_weak[0] <= 1.0, lambda: tf.maximum(floor, follow_gate.weak_match_floor(
            confidence, overall, reference_ab, prior, self.bins.centres, follow_weak)),
            lambda: floor)  # OFF (above every cosine) skips the (1, h/4, w/4, Q) plausibility
        floor = floor * inputs["reference_mask"][:, None, None]
        if "hint_mask4" in inputs:  # where a hint speaks, the learned gate (trained with hints) decides
            # (without a reference the floor is 0 already: the hints' reach is not computed)
            floor = tf.cond(inputs["reference_mask"][0, 0] > 0.0,
                            lambda: floor * (1.0 - hint_reach(outputs["target8"], inputs["hint_mask4"])), lambda: floor)
        ab = decode_ab(outputs, self.bins, temperature, self.follow, reference_ab, floor,
                       self._certainty(prior, inputs, unsure_entropy), prior=prior)[0]
        return ab

    def _certainty(self, prior, inputs, unsure_entropy):
        """prior (1, h/4, w/4, Q) -> (1, h/4, w/4, 1): 1, or in automatic mode (no reference, no
        histogram) how sure the prior is: 1 below unsure_entropy[0] (UNSURE_ENTROPY by default) of
        normalised entropy, 0 above [1]."""
        entropy = -tf.reduce_sum(prior * tf.math.log(prior + 1e-9), -1, keepdims=True) / np.log(self.bins.count)
        low, high = unsure_entropy[0], unsure_entropy[1]
        sure = tf.clip_by_value((high - entropy) / (high - low), 0.0, 1.0)
        automatic = ((1.0 - inputs["reference_mask"]) * (1.0 - inputs["hist_mask"]))[:, None, None]  # (1, 1, 1, 1)
        return 1.0 - automatic * (1.0 - sure)

    def _features(self, l, prefix, levels):
        out = self._encode(encoder_input(l))
        return {f"{prefix}_{level}": out[level.replace("s", "stride")] for level in levels}

    def _temperature(self, vividness):
        from exemplar.core.errors import ExemplarError

        if vividness is None:
            return self.temperature
        if not 0.0 <= vividness < 1.0:
            raise ExemplarError(f"vividness must be in [0, 1), got {vividness}")
        return 1.0 - vividness

    def _reference_features(self, reference_lab):
        """(hr, wr, 3) Lab -> the encoder's reference features and the reference's Lab at 1/4."""
        reference = resize_to_stride(reference_lab, STRIDE)
        small = cv2.resize(reference, (reference.shape[1] // 4, reference.shape[0] // 4), interpolation=cv2.INTER_AREA)
        inputs = self._features(reference[..., 0], "reference", ("s8", "s16", "s32"))
        inputs["reference_lab4"] = np.concatenate([normalize_l(small[..., :1]), small[..., 1:] / AB_SCALE], -1)[None]
        return inputs

    def _reference_inputs(self, reference_lab, hist):
        """The network's reference-side inputs. reference_lab: (hr, wr, 3) Lab, multiples of 32, or
        None (palette, automatic); hist: (bins**2,) summing to 1 (reference or palette) or None."""
        reference_given = reference_lab is not None
        if reference_given:
            inputs = self._reference_features(reference_lab)
        else:  # a neutral stand-in that reference_mask 0 switches off: the same for every call, so kept
            if self._stand_in is None:
                self._stand_in = self._reference_features(np.zeros((STRIDE, STRIDE, 3), np.float32) + np.float32([50.0, 0.0, 0.0]))
            inputs = dict(self._stand_in)
        inputs["reference_hist"] = np.zeros((1, self.hist_bins**2)) if hist is None else np.reshape(hist, (1, -1))
        inputs["reference_mask"] = np.full((1, 1), float(reference_given))
        inputs["hist_mask"] = np.full((1, 1), float(hist is not None))
        return {key: np.asarray(value, np.float32) for key, value in inputs.items()}

    def _predict(self, target_l, reference_inputs, palette=None, temperature=None, hints=()):
        """Shared path of the three modes: (h, w) L -> (h, w, 2) ab at the working size.

        reference_inputs: from :meth:`_reference_inputs`; their masks tell the ColorNet which mode this is.
        hints: [(x, y, (a, b))] as in the class docstring.
        """
        target = resize_to_stride(target_l, STRIDE)  # (h32, w32)
        quarter = (target.shape[1] // 4, target.shape[0] // 4)
        l4 = cv2.resize(target, quarter, interpolation=cv2.INTER_AREA)  # (h32/4, w32/4) L
        inputs = self._features(target, "target", ("s4", "s8", "s16", "s32"))
        inputs["target_l4"] = normalize_l(l4)[None, ..., None]
        # (h32/4, w32/4, 2) ab/110, (.., 1) in {0, 1}, (.., 1) in [0, 1], (.., 2) ab, (h32/4, w32/4) flat cell index
        hint_ab4, hint_mask4, region, hint_colour, anchor = hint_maps(hints, l4, target)
        if self.net.hints:
            inputs["hint_ab4"], inputs["hint_mask4"] = hint_ab4[None], hint_mask4[None]
        elif hints:
            from exemplar.core.errors import ExemplarError

            raise ExemplarError("this model was trained without the colour hint input: hints need a newer model")
        inputs = {key: np.asarray(value, np.float32) for key, value in inputs.items()} | reference_inputs
        temperature = self.temperature if temperature is None else temperature
        full_l = np.asarray(target_l, np.float32) / 100.0
        if palette is None:
            bands = [np.float32(band) for band in (self.unsure_entropy, self.follow_confidence, self.follow_weak)]
            ab4 = np.asarray(self._decode(inputs, np.float32(temperature), *bands))  # (h32/4, w32/4, 2) ab
            if hints:  # the spread goes where the network, given the hints, paints as it paints the click
                region = region * np.maximum(network_agreement(ab4, anchor), hint_mask4)
            ab4 = (1.0 - region) * ab4 + region * hint_colour  # a hinted spot is the hint's colour
            # Edge-aware upsampling from 1/4: colour follows the target's own luminance edges.
            return guided_upsample(l4 / 100.0, ab4, full_l, radius=1, eps=1e-3)
        from exemplar.methods.palette_transport import assign_palette

        prior = np.asarray(self._prior(inputs))  # (h32/4, w32/4, Q), conditioned on the palette (and hints)
        # What the network would paint with no palette (its automatic mode, same features and hints):
        # each region prefers the palette colour nearest to it (a face's skin, a sky's blue).
        own_prior = self._automatic_prior(inputs)
        ab = assign_palette(prior, np.asarray(target_l, np.float32), palette, self.bins.centres, temperature,
                            own_prior=own_prior)
        if not hints:
            return ab
        # The network's own colours given the hints (its automatic prior, decoded) tell the click's object, as above.
        own = np.asarray(self.bins.annealed_mean(own_prior, temperature))  # (h32/4, w32/4, 2) ab
        region = region * np.maximum(network_agreement(own, anchor), hint_mask4)
        # The palette's colours, except around the hints: the user's colour there, along L's edges.
        weight = np.clip(guided_upsample(l4 / 100.0, region, full_l, radius=1, eps=1e-3), 0.0, 1.0)  # (h, w, 1)
        colour = guided_upsample(l4 / 100.0, region * hint_colour, full_l, radius=1, eps=1e-3)  # weight x hint ab
        return (1.0 - weight) * ab + colour

    def _automatic_prior(self, inputs):
        """(h32/4, w32/4, Q): the ColorNet's prior for these target inputs in automatic mode (the neutral
        stand-in reference, no histogram), the palette's conditioning taken away. The last one is
        kept: restyling one photo with several palettes runs it once."""
        target = {key: value for key, value in inputs.items() if not key.startswith("reference") and key != "hist_mask"}
        key = arrays_digest(target)
        last_key, prior = self._last_automatic
        if key != last_key:
            prior = np.asarray(self._prior(target | self._reference_inputs(None, None)))
            self._last_automatic = (key, prior)
        return prior

    def predict_ab(self, target_l, reference_labs, vividness=None, hints=()):
        """target_l: (h, w) L in [0, 100]; reference_labs: list of (hr, wr, 3) Lab -> (h, w, 2) ab.

        vividness: this call's, instead of the colorizer's (the same for the other modes)."""
        from exemplar.methods.palette import soft_ab_histogram

        side = min(resize_to_stride(target_l, STRIDE).shape)
        key = (side, tuple(hashlib.sha1(np.ascontiguousarray(lab, np.float32).tobytes()).hexdigest()
                           + str(lab.shape) for lab in reference_labs))
        last_key, inputs = self._last_reference
        if key != last_key:
            reference = _side_by_side(reference_labs, side)
            inputs = self._reference_inputs(reference, soft_ab_histogram(reference[..., 1:], bins=self.hist_bins))
            self._last_reference = (key, inputs)
        return self._predict(target_l, inputs, temperature=self._temperature(vividness), hints=hints)

    def predict_ab_palette(self, target_l, palette, vividness=None, hints=()):
        """A palette's histogram conditions the network's own colours (no reference image); each
        palette colour then goes where the network's automatic colours (no palette, the same photo)
        find it plausible (exemplar.methods.palette_transport)."""
        inputs = self._reference_inputs(None, palette.ab_histogram(bins=self.hist_bins))
        return self._predict(target_l, inputs, palette, temperature=self._temperature(vividness), hints=hints)

    def predict_ab_auto(self, target_l, vividness=None, hints=()):
        """Automatic colorization: no reference, no palette; the network's own colours."""
        return self._predict(target_l, self._reference_inputs(None, None), temperature=self._temperature(vividness),
                             hints=hints)


def arrays_digest(arrays):
    """{name: array} -> sha1 hex digest of the names, shapes and bytes: equal inputs, equal key."""
    digest = hashlib.sha1()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(name.encode() + str(array.shape).encode() + array.tobytes())
    return digest.hexdigest()


def hint_maps(hints, l4, l_full):
    """Hints at 1/4 of the working size.

    hints: [(x, y, (a, b))], x and y fractions of width and height, ab in Lab units; l4: (h4, w4) L;
    l_full: (4 h4, 4 w4) L at the working size, whose sharp outlines stop a hint's spread.
    Returns hint_ab (h4, w4, 2) ab/110, zero where no hint, and hint_mask (h4, w4, 1) in {0, 1}:
    each hint over HINT_PATCH x HINT_PATCH cells around the cell holding its point (the network's input; a
    later hint in a cell wins that cell, overlapping patches take the mean of their hints' colours);
    region (h4, w4, 1) in [0, 1] and colour (h4, w4, 2) ab: how far each cell takes a hint's colour
    outright, and which (exemplar.methods.hint_spread: over the object, stopping at its outline), its chroma
    reduced where sRGB cannot show it at the cell's L; anchor (h4, w4) int: the flat index of each cell's nearest
    hinted cell (for exemplar.methods.hint_spread.network_agreement).
    """
    h4, w4 = l4.shape
    hint_ab = np.zeros((h4, w4, 2), np.float32)
    hint_mask = np.zeros((h4, w4, 1), np.float32)
    cells = []
    for x, y, ab in hints:
        row, col = min(int(y * h4), h4 - 1), min(int(x * w4), w4 - 1)
        hint_ab[row, col] = np.asarray(ab, np.float32) / AB_SCALE
        hint_mask[row, col] = 1.0
        cells.append((row, col))
    unique = list(dict.fromkeys(cells))  # one seed per cell, with the colour the cell kept
    colours = [hint_ab[r, c] * AB_SCALE for r, c in unique]
    if unique and HINT_PATCH > 1:  # each click as a patch; where patches overlap, the mean of their colours
        sums = cv2.boxFilter(np.dstack([hint_ab * hint_mask, hint_mask]), -1, (HINT_PATCH, HINT_PATCH),
                             normalize=False, borderType=cv2.BORDER_CONSTANT)  # (h4, w4, 3): summed ab, hint count
        hint_mask = (sums[..., 2:] > 0).astype(np.float32)
        hint_ab = (sums[..., :2] / np.maximum(sums[..., 2:], 1.0) * hint_mask).astype(np.float32)
    region, colour, anchor = spread_hints(l4, l_full, unique, colours)
    if unique:  # as the output's composition would: chroma reduced where sRGB cannot show it at the cell's L
        colour = fit_ab_in_gamut(l4, colour)  # done here on (h4, w4), else on every full-size pixel it reaches
    return hint_ab, hint_mask, region, colour, anchor


def hint_reach(target8, hint_mask4):
    """(1, h/8, w/8, C) matching features, (1, h/4, w/4, 1) hint mask -> (1, h/4, w/4, 1) in [0, 1]:
    how much each cell is the same stuff as a hinted cell (best cosine of the encoder's features,
    ramped from HINT_SAME_STUFF[0] to [1]). A click on a coat reaches the whole coat, not the sky."""
    features = tf.math.l2_normalize(target8[0], axis=-1)  # (h8, w8, C)
    shape = tf.shape(features)
    flat = tf.reshape(features, (-1, shape[-1]))  # (N, C)
    hinted = tf.reshape(tf.nn.max_pool2d(hint_mask4, 2, 2, "VALID")[0, ..., 0] > 0, (-1,))  # (N,) at 1/8
    keys = tf.boolean_mask(flat, hinted)  # (K, C), K = hinted cells
    best = tf.reduce_max(tf.concat([tf.matmul(flat, keys, transpose_b=True), -tf.ones_like(flat[:, :1])], -1), -1)
    low, high = HINT_SAME_STUFF
    reach = tf.clip_by_value((tf.reshape(best, (1, shape[0], shape[1], 1)) - low) / (high - low), 0.0, 1.0)
    return tf.image.resize(reach, tf.shape(hint_mask4)[1:3], method="bilinear")


def _side_by_side(labs, side):
    """List of (h_i, w_i, 3) Lab -> one reference image for the network.

    One reference keeps its aspect with its shorter side ``side`` (as ``match`` sees it); several
    are scaled to height ``side`` each and set side by side, so they form one key set: colours are
    drawn from all of them and the histogram is their union. Sides are rounded to multiples of 32
    and a side is at most 4x the other. Squashing a reference square instead distorts its
    features and costs matches (0.4 dB on self pairs of 481x321 photos).
    """

    def scaled(lab, height, width):
        fit = lambda n: int(np.clip(round(n / STRIDE), 1, 4 * side // STRIDE)) * STRIDE  # noqa: E731
        return cv2.resize(lab, (fit(width), fit(height)), interpolation=cv2.INTER_AREA)

    if len(labs) == 1:
        height, width = labs[0].shape[:2]
        scale = side / min(height, width)
        return scaled(labs[0], height * scale, width * scale)
    return np.concatenate([scaled(lab, side, lab.shape[1] * side / lab.shape[0]) for lab in labs], axis=1)
