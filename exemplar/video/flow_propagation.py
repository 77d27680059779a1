"""``FlowPropagator``: carry colour along optical flow, both ways between keyframes, so a film does not flicker.

Colorizing every frame on its own gives colours that jump from frame to frame: the network sees
each frame afresh and small changes of content change its matches. Here the colorizer runs only
on keyframes, and colour (CIE ab at the working size) is carried between them along dense optical
flow of the grey frames (OpenCV's DIS flow):

- what is carried is not the colour itself but its local relation to grey: ab ~ A * L + B in
  3x3 windows (the guided filter's model, :func:`colour_model`). Each frame's colour is then
  A * L + B with the frame's *own* L, so colour edges stay on this frame's luminance edges. Carrying
  ab itself resampled it at every frame: fine colour texture (stripes, text) blurred and, where the
  flow was a fraction of a pixel off, slid off its edges; on the real ``carphone`` clip that cost
  0.07 dB against per-frame colorization, carrying the model gains 0.01 (``benchmarks/video.py``);
- frames after a keyframe are held back until the next keyframe is colorized; each then takes
  colour carried *forward* from the keyframe before it and *backward* from the keyframe after it,
  weighted by nearness (and by whether the colour arrived along a consistent flow). Colour thus
  changes gradually from one keyframe's to the next instead of jumping at each keyframe, and no
  frame is further than half an interval from a fresh colorization. On the benchmark's clips this
  beat one-way carrying on both flicker and PSNR (``benchmarks/video.py``, docs/video.md);
- a keyframe keeps ``keep`` of the colour carried forward to it (where it is known, and where it
  agrees with the colorizer's fresh colour within a few ab units: :func:`colour_agreement`), so the
  keyframes themselves do not jump either, while a colour the colorizer has changed its mind about
  is not dragged along from keyframe to keyframe;
- the grey level each pixel's colour was fitted on is carried with it: where it no longer matches
  this frame's L (smoothed: :func:`grey_confidence`), the colour came along a wrong flow (a hand
  passing a face, the flow sliding over a blurred edge) and weighs less, against the other
  keyframe's colour in the blend and against the colorizer's on a keyframe. On the real
  ``carphone`` clip this turned 0.007 dB below per-frame colorization into 0.02 above; the
  forward-backward check alone passes such pixels where the grey happens to agree one frame at
  a time, while the error adds up over the frames carried;
- a pixel whose forward and backward flow disagree (an occlusion, new content at the border, a
  flow failure) and whose grey level did not arrive with the flow does not take the carried
  colour: it is filled from the carried colour around it; such filled colour is a guess, not the
  colorizer's, and is tracked as not "known" so that it weighs little in the blend;
- the colorizer runs every ``keyframe_interval`` frames, sooner once enough new content has
  appeared, and on the last frame before a shot cut (flow mostly inconsistent, or the grey
  histogram changes), which the next shot does not see;
- points can be tracked from frame to frame (``points=`` of :meth:`FlowPropagator.push`: the
  spots of colour hints; :func:`track`, Lucas-Kanade checked both ways): each keyframe's
  colorizer call gets their positions on that frame, so a hint keeps colouring its object as it
  moves, until the point is lost (it leaves the picture, or is hidden) or the shot ends.

The optical flows are computed once, in the forward pass, and kept with the held frames: the
backward pass warps along the same flows the other way round. Everything here works on (h, w) L
in [0, 100] and (h, w, 2) ab at the working size; the caller brings ab up to full size.
"""

from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np


class Finished(NamedTuple):
    """A frame whose colour is done, as :meth:`FlowPropagator.push` hands it back."""

    ab: np.ndarray  # (h, w, 2) float32
    kind: str  # "key", "cut" or "carried"
    payload: object  # the caller's
    points: list | None  # tracked points on this frame, (x, y) pixels or None where lost; None if none


@dataclass
class HeldFrame:
    """A frame waiting for the next keyframe; shapes at the working size (h, w)."""

    l8: np.ndarray  # (h, w) uint8, L * 2.55: what DIS needs
    l: np.ndarray  # (h, w) float32 L in [0, 100]: what the colour model is applied to
    model: np.ndarray  # (h, w, 5) float32 (A, B) of ab ~ A * L + B, and the L it was fitted on, carried forward
    known: np.ndarray  # (h, w) float32 in [0, 1]: 1 where that colour came along consistent flow
    to_prev: np.ndarray  # (h, w, 2) flow this frame -> the previous one, pixels
    from_prev: np.ndarray  # (h, w, 2) flow previous frame -> this one
    predict: object  # callable -> (h, w, 2) ab: the colorizer on this frame, if it must be a keyframe
    payload: object  # the caller's, handed back with the colour
    points: list | None = None  # tracked points on this frame, (x, y) pixels or None where lost


class FlowPropagator:
    """Stateful: feed the frames of one film in order with :meth:`push`, then :meth:`flush`.

    keyframe_interval: the colorizer runs at least every this many frames (1: on every frame,
      nothing carried or held: per-frame colorization when keep is 0).
    keep: on a keyframe, the share of the colour carried forward kept where it is known.
    new_content: run the colorizer early once this fraction of the frame has been filled in
      (inconsistent flow) since the last keyframe. New content gets its colour from the next
      keyframe, carried backward, so it can wait for it: 0.1 scored better than 0.05 on the
      benchmark's cut and slide clips (+0.1 and +0.15 dB), the same on the pan and zoom.
    cut_consistent: a frame where less than this fraction of pixels has consistent flow is a cut.
    cut_histogram: ... or whose grey histogram is this far (Bhattacharyya distance) from the last.
    grey_tolerance: where the flows disagree, colour is still carried if the grey level it came
      with differs by at most this much (uint8 steps of L * 2.55: 4 = 1.6 L).
    """

    def __init__(self, keyframe_interval=8, keep=0.25, new_content=0.1, cut_consistent=0.4, cut_histogram=0.35,
                 grey_tolerance=4):
        self.keyframe_interval = keyframe_interval
        self.keep = keep
        self.new_content = new_content
        self.cut_consistent = cut_consistent
        self.cut_histogram = cut_histogram
        self.grey_tolerance = grey_tolerance
        # DIS "medium" preset: ~10 ms per flow at 455x256 (twice "fast", Farneback costs ~5x more). With
        # "fast", colour carried over a few frames slid off the edges it belongs to.
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.reset()

    def reset(self):
        """Forget the previous frame: the next :meth:`push` is a keyframe (a new shot, a new reference).
        Call :meth:`flush` first: frames still held are dropped."""
        self.prev_l8 = None  # (h, w) uint8 of the last frame pushed
        self.prev_model = None  # (h, w, 5) float32: its colour model (A, B) and the L it was fitted on, carried
        self.prev_known = None  # (h, w) float32 in [0, 1]
        self.held = []  # HeldFrame since the last keyframe, oldest first
        self.filled = 0.0  # fraction of a frame filled in since the last keyframe
        self.points = None  # tracked points on the last frame pushed: [(x, y) or None], None if none

    def state(self):
        """The propagation state as a dict of arrays (saved so that a killed run can resume).
        Only taken right after a keyframe, when no frame is held: its colour is all known."""
        assert not self.held, "state() with frames held: push the last one with force_key=True first"
        if self.prev_l8 is None:
            return {}
        state = {"prev_l8": self.prev_l8, "prev_model": self.prev_model}
        if self.points is not None:  # (n, 2), NaN where lost
            state["points"] = np.array([p if p is not None else (np.nan, np.nan) for p in self.points],
                                       np.float64).reshape(-1, 2)
        return state

    def load_state(self, state):
        """Restore what :meth:`state` returned."""
        self.reset()
        if "prev_l8" in state:
            self.prev_l8, self.prev_model = np.asarray(state["prev_l8"]), np.asarray(state["prev_model"], np.float32)
            self.prev_known = np.ones(self.prev_l8.shape, np.float32)
            if "points" in state:
                self.points = [None if np.isnan(x) else (float(x), float(y)) for x, y in np.asarray(state["points"])]

    def push(self, l, predict, payload=None, force_key=False, points=None):
        """Give the next frame: l (h, w) L in [0, 100]; predict: a callable returning the colorizer's
        (h, w, 2) ab for this frame, called only if it becomes a keyframe; force_key: make it one.

        points: [(x, y)] pixel positions on this frame to track from here on (replacing any tracked
        so far); the frame becomes a keyframe. While points are tracked, ``predict`` is called as
        ``predict(points)`` with their positions on its frame, None for a point the flow lost.
        They are dropped at a cut and by :meth:`reset`.

        Returns the frames now finished, oldest first, as :class:`Finished` (ab (h, w, 2) float32,
        kind, payload, points); kind is "key", "cut" or "carried", points the tracked points on that
        frame (None if none). Frames between keyframes come out with the next keyframe.
        """
        l = np.asarray(l, np.float32)
        l8 = np.clip(l * 2.55 + 0.5, 0, 255).astype(np.uint8)
        points = None if points is None else [(float(x), float(y)) for x, y in points]
        if self.prev_l8 is None or self.prev_l8.shape != l8.shape:
            return self.flush() + self._start(l8, l, predict, "key", payload, points)
        if self._histogram_distance(self.prev_l8, l8) > self.cut_histogram:
            return self.flush() + self._start(l8, l, predict, "cut", payload, points)
        to_prev = self._flow.calc(l8, self.prev_l8, None)  # (h, w, 2): this frame -> previous, pixels
        from_prev = self._flow.calc(self.prev_l8, l8, None)  # (h, w, 2): previous -> this frame
        model, known, consistent = carry(self.prev_model, self.prev_l8, self.prev_known, l8, to_prev, from_prev,
                                         self.grey_tolerance)
        if consistent < self.cut_consistent:
            return self.flush() + self._start(l8, l, predict, "cut", payload, points)
        if points is None and self.points is not None:
            points = track(self.points, self.prev_l8, l8)
        elif points is not None:
            force_key = True  # the colorizer sees the new points on the frame they were given for
        self.held.append(HeldFrame(l8, l, model, known, to_prev, from_prev, predict, payload, points))
        self.prev_l8, self.prev_model, self.prev_known, self.points = l8, model, known, points
        self.filled += 1.0 - consistent
        if force_key or len(self.held) >= self.keyframe_interval or self.filled >= self.new_content:
            return self._keyframe()
        return []

    def flush(self):
        """End of a film or of a shot: the last frame held becomes a keyframe; returns all frames held."""
        return self._keyframe() if self.held else []

    def _start(self, l8, l, predict, kind, payload, points):
        self.reset()
        ab = np.asarray(predict() if points is None else predict(points), np.float32)
        self.prev_l8, self.prev_model = l8, with_grey(colour_model(l, ab), l)
        self.prev_known = np.ones(l8.shape, np.float32)
        self.points = points
        return [Finished(ab, kind, payload, points)]

    def _keyframe(self):
        """Colorize the newest held frame, carry its colour back over the others and blend both ways."""
        key, before = self.held[-1], self.held[:-1]
        predicted = np.asarray(key.predict() if key.points is None else key.predict(key.points), np.float32)
        carried = apply_model(key.model, key.l)
        trust = key.known * grey_confidence(key.model, key.l) * colour_agreement(carried, predicted)
        kept = self.keep * trust[..., None]  # (h, w, 1)
        key_ab = (kept * carried + (1 - kept) * predicted).astype(np.float32)
        key_model = with_grey(colour_model(key.l, key_ab), key.l)
        done = [Finished(key_ab, "key", key.payload, key.points)]
        span = len(self.held)  # frames from the previous keyframe (offset 0) to this one (offset span)
        model, known, l8, later = key_model, np.ones(key.l8.shape, np.float32), key.l8, key
        for offset in range(span - 1, 0, -1):  # newest first: carry backward one frame at a time
            frame = before[offset - 1]
            # Backward along the forward pass's flows: this frame -> later = later.from_prev.
            model, known, _ = carry(model, l8, known, frame.l8, later.from_prev, later.to_prev, self.grey_tolerance)
            forward_ok = frame.known * grey_confidence(frame.model, frame.l)
            backward_ok = known * grey_confidence(model, frame.l)
            w_forward = (span - offset) / span * (forward_ok + 1e-3)  # (h, w): near the previous keyframe
            w_backward = offset / span * (backward_ok + 1e-3)
            share = (w_backward / (w_forward + w_backward))[..., None]
            ab = (1 - share) * apply_model(frame.model, frame.l) + share * apply_model(model, frame.l)
            done.append(Finished(ab.astype(np.float32), "carried", frame.payload, frame.points))
            l8, later = frame.l8, frame
        self.prev_model, self.prev_known = key_model, np.ones(key.l8.shape, np.float32)
        self.held, self.filled = [], 0.0
        return done[::-1]

    @staticmethod
    def _histogram_distance(a, b):
        """Bhattacharyya distance of the 32-bin grey histograms of two uint8 frames (0: same)."""
        ha, hb = (cv2.calcHist([x], [0], None, [32], [0, 256]) for x in (a, b))
        return cv2.compareHist(ha, hb, cv2.HISTCMP_BHATTACHARYYA)


def colour_model(l, ab, radius=1, eps=0.1):
    """The local affine model of colour against grey, ab ~ A * L + B in (2r+1)^2 windows.

    l (h, w) L in [0, 100]; ab (h, w, 2). Returns (h, w, 4) float32: A (2 channels), then B.
    radius 1 and eps 0.1 (L units squared: nearly no regularisation) reproduce the colour closely;
    on the ``carphone`` clip radius 2 or eps 2-16 lost 0.03-0.25 dB (the colour got smoother).
    """
    from exemplar.core.guided_filter import guided_filter_coefficients

    a, b = guided_filter_coefficients(l, ab, radius, eps)
    return np.concatenate([a, b], axis=2).astype(np.float32)


def apply_model(model, l):
    """(h, w, 4 or 5) colour model and (h, w) L -> (h, w, 2) ab = A * L + B."""
    return (model[..., :2] * l[..., None] + model[..., 2:4]).astype(np.float32)


def with_grey(model, l):
    """(h, w, 4) colour model and the (h, w) L it was fitted on -> (h, w, 5): carried together."""
    return np.concatenate([model, np.asarray(l, np.float32)[..., None]], axis=2)


def grey_confidence(model, l, scale=6.0, smooth=1.5):
    """How far a carried colour can be trusted on a frame: exp(-(d / scale)^2), d the difference (L units)
    between the grey the colour was fitted on, carried with it (channel 4 of ``model``), and the frame's
    own ``l``, both smoothed (Gaussian, ``smooth`` px) so that fine texture resampled along the flow does
    not count, only the wrong content arriving. -> (h, w) float32 in (0, 1].

    Chosen on the benchmark's clips, colorizer outputs replayed (docs/video.md): scale 6 with smoothing
    gave carphone +0.018 dB against per-frame (without the grey: -0.007), zoom +0.142 (before: +0.151); without
    the smoothing zoom lost 0.04 dB (its resampled texture counted as wrong); scale 10 gave less.
    """
    came, here = (cv2.GaussianBlur(np.ascontiguousarray(x, np.float32), (0, 0), smooth) for x in (model[..., 4], l))
    return np.exp(-((came - here) / scale) ** 2).astype(np.float32)


def colour_agreement(carried, fresh, scale=4.0, smooth=1.5):
    """How far a keyframe should keep the colour carried to it: exp(-(d / scale)^2), d the distance (ab units)
    between the carried colour and the colorizer's fresh one, both smoothed (Gaussian, ``smooth`` px).
    -> (h, w) float32 in (0, 1].

    Keeping some carried colour averages the colorizer's frame-to-frame noise, but it also makes each
    keyframe lean on the one before, and that one on the one before it: the colour lags. Where the two
    differ by much more than that noise, the colorizer's colour of the region changed (it sees the
    region differently now, or the light changed) and the carried one is old news. On the ``pan`` clip
    with the epoch 28 model, the sky along the top edge was yellow on the first keyframe (b +7 against
    the truth's -14) and the colorizer's own grew bluer frame by frame (b +1.6 by frame 8); keeping 25% of
    the carried colour there dragged the first keyframe's yellow along: video 0.05 dB below per-frame
    colorization, the loss all in the top 20 rows. With this weight pan is above it (docs/video.md).
    """
    d = cv2.GaussianBlur(np.ascontiguousarray(carried - fresh, np.float32), (0, 0), smooth) if smooth else carried - fresh
    return np.exp(-np.sum(d**2, axis=2) / scale**2).astype(np.float32)


def carry(ab, l8, known, to_l8, to_source, from_source, grey_tolerance=4):
    """Warp a frame's colour (ab, or its colour model) onto a neighbouring frame (either direction in time).

    ab (h, w, C), l8 (h, w) uint8 and known (h, w) of the source frame; to_l8 the destination's grey;
    to_source: flow destination -> source (h, w, 2); from_source: source -> destination.
    Returns ((h, w, C), (h, w) known, fraction of pixels whose colour could be carried).
    """
    height, width = to_l8.shape
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x, map_y = grid_x + to_source[..., 0], grid_y + to_source[..., 1]
    carried = cv2.remap(ab, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    from_there = cv2.remap(from_source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    # Forward-backward check (Sundaram et al. 2010): going there and back again should return to
    # the start; the tolerance grows with the motion.
    round_trip = np.sum((to_source + from_there) ** 2, axis=2)
    motion = np.sum(to_source**2, axis=2) + np.sum(from_there**2, axis=2)
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    # In flat regions (sky, walls) the two flows disagree although the colour carried is right:
    # the source's grey level arriving where it should is accepted as well.
    arrived = cv2.remap(l8, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    same_grey = cv2.absdiff(arrived, to_l8) <= grey_tolerance
    consistent = ((round_trip <= 0.01 * motion + 0.5) | same_grey) & inside
    carried_known = cv2.remap(known, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # Soft mask: a hard 0/1 seam between carried and filled colour would show as an edge.
    weight = cv2.GaussianBlur(consistent.astype(np.float32), (0, 0), 1.5)  # (h, w)
    ab_out = weight[..., None] * carried + (1 - weight[..., None]) * _fill(carried, consistent)
    return ab_out.astype(np.float32), (weight * carried_known).astype(np.float32), float(consistent.mean())


def track(points, l8, to_l8, window=15, levels=3, tolerance=1.0):
    """Move points from a frame (grey ``l8``, (h, w) uint8) to the next (``to_l8``).

    points: [(x, y) pixels or None]. Pyramidal Lucas-Kanade (KLT: ``window`` px windows, ``levels``
    pyramid levels) there and back again: a point is lost (None from then on) where the round trip
    misses its start by more than ``tolerance`` px (plus 5% of the motion: an occlusion, a flow
    failure), or where it leaves the picture. The dense DIS flow
    sampled at the point lagged on a moving flat patch (2.5 px a frame for 3) and on a textured one
    (2.9 for 3); KLT followed both to 0.5 px over 19 frames.
    """
    live = [i for i, point in enumerate(points) if point is not None]
    moved = list(points)
    if not live:
        return moved
    start = np.float32([points[i] for i in live]).reshape(-1, 1, 2)
    options = {"winSize": (window, window), "maxLevel": levels}
    # Their status is not used: it reads 0 where the finest level's window is flat (inside a plain
    # patch), though the coarser levels placed the point right; the round trip is the check.
    there, _, _ = cv2.calcOpticalFlowPyrLK(l8, to_l8, start, None, **options)
    back, _, _ = cv2.calcOpticalFlowPyrLK(to_l8, l8, there, None, **options)
    height, width = to_l8.shape
    for k, i in enumerate(live):
        (x, y), miss = there[k, 0], float(np.hypot(*(back[k, 0] - start[k, 0])))
        motion = float(np.hypot(*(there[k, 0] - start[k, 0])))
        ok = np.isfinite(miss) and miss <= tolerance + 0.05 * motion
        inside = 0 <= x <= width - 1 and 0 <= y <= height - 1
        moved[i] = (float(x), float(y)) if ok and inside else None
    return moved


def _fill(ab, known, sigma=8.0):
    """Fill unknown pixels of (h, w, C) ab from known ones nearby (normalised Gaussian convolution).

    Used for new content and occlusions; far from any known pixel the carried value stays.
    """
    mask = known.astype(np.float32)
    weight = cv2.GaussianBlur(mask, (0, 0), sigma)[..., None]  # (h, w, 1)
    spread = cv2.GaussianBlur(ab * mask[..., None], (0, 0), sigma).reshape(ab.shape)  # (h, w, C)
    return np.where(weight > 1e-3, spread / np.maximum(weight, 1e-3), ab)
