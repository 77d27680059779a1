"""``ShotDetector``: where a film's shots begin, at hard cuts and at cross-fades.

Each frame is reduced to a 64x36 grey thumbnail (area-averaged, so noise and fine texture do
not count); a film of any length costs a few kilobytes per frame held, and only the last
``FADE_SPAN`` frames are held.

- Hard cut between frames t-1 and t: the thumbnails differ a lot (mean |difference| > 0.1 of the
  grey range) *and* either the 32-bin grey histograms differ (Bhattacharyya distance > 0.2, which
  motion barely changes) or the difference is far above the shot's recent level (3x the median
  of the last 8 frames, for two shots alike in tone). On ``bikes.mp4`` the five hand-labelled cuts
  score 0.18-0.32 and every other frame at most 0.08, fast motion and a car passing in front included.
- Cross-fade: frame t-3 is a mix of frames t-6 and t (least squares: a weight alpha between 0.2 and
  0.8 leaves under a quarter of their difference unexplained), and those two frames differ as a
  hard cut's would. Motion is no such mix: a pan's middle frame is not its ends blended. The frames
  flagged in a row are one fade; its new shot starts at the middle of them.
"""

from collections import deque

import cv2
import numpy as np

THUMB = (64, 36)  # (width, height) of the thumbnails compared
CUT_DIFFERENCE = 0.10  # mean |thumbnail difference| / 255 a cut must exceed
CUT_HISTOGRAM = 0.20  # ... with a grey-histogram Bhattacharyya distance above this
CUT_RELATIVE = 3.0  # ... or a difference this many times the recent median
RECENT = 8  # frames whose differences give the recent median
FADE_SPAN = 6  # frames between the two ends of a cross-fade window (its middle is FADE_SPAN / 2 in)
FADE_RESIDUAL = 0.25  # the middle frame's unexplained share of the ends' difference, at most


def thumbnail(grey):
    """(H, W) grey, uint8 or L in [0, 100] float -> (36, 64) float32 in [0, 255]."""
    grey = np.asarray(grey)
    if grey.dtype != np.uint8:
        grey = np.clip(grey * 2.55 + 0.5, 0, 255).astype(np.uint8)
    return cv2.resize(grey, THUMB, interpolation=cv2.INTER_AREA).astype(np.float32)


def _histogram_distance(a, b):
    ha, hb = (cv2.calcHist([x.astype(np.uint8)], [0], None, [32], [0, 256]) for x in (a, b))
    return cv2.compareHist(ha, hb, cv2.HISTCMP_BHATTACHARYYA)


def _changed(a, b):
    """-> (mean |a - b| / 255, histogram distance) of two thumbnails."""
    return float(np.abs(a - b).mean() / 255), _histogram_distance(a, b)


class ShotDetector:
    """Feed frames in order with :meth:`push`; :meth:`finish` returns the shot starts (frame numbers,
    ascending, 0 excluded). ``starts`` grows as they are found (a fade's up to FADE_SPAN frames late)."""

    def __init__(self):
        self.window = deque(maxlen=FADE_SPAN + 1)  # the last thumbnails, oldest first
        self.recent = deque(maxlen=RECENT)  # the last frame-to-frame differences within the shot
        self.count = 0  # frames pushed
        self.starts = []  # shot starts found so far
        self.kinds = []  # "cut" or "fade", one per start
        self._fade = []  # frame numbers of the middles of the fade windows flagged in a row

    def push(self, grey):
        """The next frame's grey ((H, W) uint8, or L in [0, 100]); -> True if it starts a new shot by a hard cut."""
        thumb, index = thumbnail(grey), self.count
        self.count += 1
        cut = False
        if self.window:
            difference, histogram = _changed(self.window[-1], thumb)
            median = float(np.median(self.recent)) if self.recent else 0.0
            cut = difference > CUT_DIFFERENCE and (histogram > CUT_HISTOGRAM or difference > CUT_RELATIVE * median)
            if cut:
                self._end_fade()
                self.starts.append(index)
                self.kinds.append("cut")
                self.window.clear()
                self.recent.clear()
            else:
                self.recent.append(difference)
        self.window.append(thumb)
        if len(self.window) == self.window.maxlen:
            if self._is_fade(self.window[0], self.window[FADE_SPAN // 2], self.window[-1]):
                self._fade.append(index - FADE_SPAN // 2)
            else:
                self._end_fade()
        return cut

    def finish(self):
        self._end_fade()
        return sorted(self.starts)

    def _end_fade(self):
        if self._fade:
            self.starts.append(self._fade[len(self._fade) // 2])
            self.kinds.append("fade")
            self._fade = []
            self.window.clear()
            self.recent.clear()

    @staticmethod
    def _is_fade(first, middle, last):
        difference, histogram = _changed(first, last)
        if difference <= CUT_DIFFERENCE or histogram <= CUT_HISTOGRAM / 2:
            return False
        span = (first - last).ravel()  # middle ~ last + alpha * (first - last)
        alpha = float(np.dot((middle - last).ravel(), span) / max(np.dot(span, span), 1e-6))
        residual = np.abs(middle - last - alpha * (first - last)).mean() / 255
        return 0.2 < alpha < 0.8 and residual < FADE_RESIDUAL * difference


def detect_shots(greys):
    """Shot starts (frame numbers, 0 excluded) of a sequence of grey frames."""
    detector = ShotDetector()
    for grey in greys:
        detector.push(grey)
    return detector.finish()
