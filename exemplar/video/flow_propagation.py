"""``FlowPropagator``: carry colour from frame to frame along optical flow, so a film does not flicker.

Colorizing every frame on its own gives colours that jump from frame to frame: the network sees
each frame afresh and small changes of content change its matches. Here colour (CIE ab at the
working size) is carried from the previous frame along dense optical flow of the grey frames
(OpenCV's DIS flow), and the colorizer is asked only where that cannot be done:

- a pixel whose forward and backward flow disagree (an occlusion, new content at the border, a
  flow failure) and whose grey level did not arrive with the flow does not take the carried colour; between keyframes it is filled from the
  carried colour around it, on a keyframe it takes the colorizer's;
- every ``keyframe_interval`` frames, or sooner once enough new content has appeared, the
  colorizer runs and pulls the carried colour towards its own (``keep`` of the carried colour
  stays), so errors of the flow cannot accumulate; colour that was filled in since the last
  keyframe (tracked along the flow as not "known") is a guess and takes the colorizer's outright;
- a shot cut (flow mostly inconsistent, or the grey histogram changes) starts afresh from the
  colorizer's colour.

Everything here works on (h, w) L in [0, 100] and (h, w, 2) ab at the working size; the caller
brings ab up to full size.
"""

import cv2
import numpy as np


class FlowPropagator:
    """Stateful: feed the frames of one film in order with :meth:`step`.

    keyframe_interval: the colorizer runs at least every this many frames.
    keep: on a keyframe, the share of the carried colour kept where the flow is consistent
      (0: the colorizer's colour every keyframe; 1: never corrected).
    new_content: run the colorizer early once this fraction of the frame has been filled in
      (inconsistent flow) since the last keyframe.
    cut_consistent: a frame where less than this fraction of pixels has consistent flow is a cut.
    cut_histogram: ... or whose grey histogram is this far (Bhattacharyya distance) from the last.
    grey_tolerance: where the flows disagree, colour is still carried if the grey level it came
      with differs by at most this much (uint8 steps of L * 2.55: 4 = 1.6 L).
    """

    def __init__(self, keyframe_interval=8, keep=0.7, new_content=0.05, cut_consistent=0.4, cut_histogram=0.35,
                 grey_tolerance=4):
        self.keyframe_interval = keyframe_interval
        self.keep = keep
        self.new_content = new_content
        self.cut_consistent = cut_consistent
        self.cut_histogram = cut_histogram
        self.grey_tolerance = grey_tolerance
        # DIS "medium" preset: ~10 ms per flow at 455x256 (twice "fast", Farneback costs ~5x more). With
        # "fast", colour carried over a few frames slid off the edges it belongs to (PSNR against the
        # truth fell frame by frame after each keyframe: -0.43 dB on the benchmark's pan, -0.28 with "medium").
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self.reset()

    def reset(self):
        """Forget the previous frame: the next :meth:`step` is a keyframe (a new shot, a new reference)."""
        self.prev_l8 = None  # (h, w) uint8, L * 2.55: what DIS needs
        self.prev_ab = None  # (h, w, 2) float32 ab
        self.prev_known = None  # (h, w) float32 in [0, 1]: 1 where prev_ab came from the colorizer along the flow
        self.since_key = 0  # frames since the last keyframe
        self.filled = 0.0  # fraction of a frame filled in since the last keyframe

    def state(self):
        """The propagation state as a dict of arrays (saved so that a killed run can resume)."""
        if self.prev_l8 is None:
            return {}
        return {"prev_l8": self.prev_l8, "prev_ab": self.prev_ab, "prev_known": self.prev_known,
                "counters": np.array([self.since_key, self.filled], np.float64)}

    def load_state(self, state):
        """Restore what :meth:`state` returned."""
        self.reset()
        if "prev_l8" in state:
            self.prev_l8, self.prev_ab = np.asarray(state["prev_l8"]), np.asarray(state["prev_ab"], np.float32)
            self.since_key, self.filled = int(state["counters"][0]), float(state["counters"][1])
            known = state.get("prev_known")
            self.prev_known = (np.asarray(known, np.float32) if known is not None
                               else np.ones(self.prev_l8.shape, np.float32))

    def step(self, l, predict):
        """Colour for the next frame: l (h, w) L in [0, 100] -> ((h, w, 2) ab, kind).

        predict: a callable returning the colorizer's (h, w, 2) ab for this frame; it is only
        called on keyframes. kind is "key", "cut" or "carried" (for statistics and tests).
        """
        l8 = np.clip(l * 2.55 + 0.5, 0, 255).astype(np.uint8)
        if self.prev_l8 is None or self.prev_l8.shape != l8.shape:
            return self._start(l8, predict(), "key")
        if self._histogram_distance(self.prev_l8, l8) > self.cut_histogram:
            return self._start(l8, predict(), "cut")
        carried, consistent, known = self._carry(l8)
        if consistent.mean() < self.cut_consistent:
            return self._start(l8, predict(), "cut")
        # Soft mask: a hard 0/1 seam between carried and filled colour would show as an edge.
        weight = cv2.GaussianBlur(consistent.astype(np.float32), (0, 0), 1.5)  # (h, w)
        # Colour filled in between keyframes is a guess, not the colorizer's: it travels on with
        # the flow but is not "known", so the next keyframe replaces it rather than keeping it.
        known = weight * known
        self.since_key += 1
        self.filled += 1.0 - float(consistent.mean())
        if self.since_key >= self.keyframe_interval or self.filled >= self.new_content:
            fresh = predict()
            kept = self.keep * known[..., None]
            ab = kept * carried + (1 - kept) * fresh
            known = np.ones_like(known)
            self.since_key, self.filled = 0, 0.0
            kind = "key"
        else:
            ab = weight[..., None] * carried + (1 - weight[..., None]) * _fill(carried, consistent)
            kind = "carried"
        self.prev_l8, self.prev_ab, self.prev_known = l8, ab.astype(np.float32), known.astype(np.float32)
        return self.prev_ab, kind

    def _start(self, l8, ab, kind):
        self.reset()
        self.prev_l8, self.prev_ab = l8, np.asarray(ab, np.float32)
        self.prev_known = np.ones(l8.shape, np.float32)
        return self.prev_ab, kind

    def _carry(self, l8):
        """Warp the previous ab onto this frame -> ((h, w, 2) ab, (h, w) bool: colour can be carried,
        (h, w) float: the previous frame's ``known`` warped along)."""
        backward = self._flow.calc(l8, self.prev_l8, None)  # (h, w, 2): this frame -> previous, pixels
        forward = self._flow.calc(self.prev_l8, l8, None)  # (h, w, 2): previous -> this frame
        height, width = l8.shape
        grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        map_x, map_y = grid_x + backward[..., 0], grid_y + backward[..., 1]
        carried = cv2.remap(self.prev_ab, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        forward_there = cv2.remap(forward, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # Forward-backward check (Sundaram et al. 2010): going back and then forward again should
        # return to the start; the tolerance grows with the motion.
        round_trip = np.sum((backward + forward_there) ** 2, axis=2)
        motion = np.sum(backward**2, axis=2) + np.sum(forward_there**2, axis=2)
        inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
        # In flat regions (sky, walls) the two flows disagree although the colour carried is right:
        # the previous frame's grey level arriving where it should is accepted as well.
        arrived = cv2.remap(self.prev_l8, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        same_grey = cv2.absdiff(arrived, l8) <= self.grey_tolerance
        known = cv2.remap(self.prev_known, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return carried, ((round_trip <= 0.01 * motion + 0.5) | same_grey) & inside, known

    @staticmethod
    def _histogram_distance(a, b):
        """Bhattacharyya distance of the 32-bin grey histograms of two uint8 frames (0: same)."""
        ha, hb = (cv2.calcHist([x], [0], None, [32], [0, 256]) for x in (a, b))
        return cv2.compareHist(ha, hb, cv2.HISTCMP_BHATTACHARYYA)


def _fill(ab, known, sigma=8.0):
    """Fill unknown pixels of (h, w, 2) ab from known ones nearby (normalised Gaussian convolution).

    Used between keyframes for new content; far from any known pixel the carried value stays.
    """
    mask = known.astype(np.float32)
    weight = cv2.GaussianBlur(mask, (0, 0), sigma)[..., None]  # (h, w, 1)
    spread = cv2.GaussianBlur(ab * mask[..., None], (0, 0), sigma)  # (h, w, 2)
    return np.where(weight > 1e-3, spread / np.maximum(weight, 1e-3), ab)
