"""How steady and how right a colorized film is: the measures of ``benchmarks/video.py``.

All take frames as (H, W, 3) uint8 sRGB (what a film is saved as), in order.
- :func:`truth_flows`: the optical flow between consecutive *truth* frames (Farneback, not the
  DIS flow the method uses, so the method is not graded by its own flow) and where it can be
  trusted (forward-backward check, inside the frame): the other measures warp along it;
- :func:`flicker`: mean absolute chroma (Lab ab) difference between frame t+1 and frame t warped
  onto it, on trusted pixels; the input's L is kept by every method, so only colour is graded;
- :func:`warp_error`: the same in RGB, as the video colorization papers report it (Lai et al. 2018,
  "Learning blind video temporal consistency"): mean squared RGB difference (RGB in [0, 1]) between
  frame t+1 and frame t warped onto it, on non-occluded pixels;
- :func:`cdc`: colour distribution consistency (Liu et al. 2021, as used by BiSTNet and ColorMNet):
  the Jensen-Shannon divergence (natural log) of each RGB channel's 256-bin histogram between
  frames 1, 2 and 4 apart, averaged over channels, pairs and the three gaps. No flow: it sees
  colour that comes and goes, not where it sits. Lower is steadier for all three.
Pairs across a shot cut grade nothing useful; ``cuts`` (the first frame of each new shot) leaves them out.
"""

import cv2
import numpy as np


def truth_flows(truth):
    """For each t -> t+1: (map_x, map_y, trusted), each (H, W): frame t+1's pixel (x, y) came from
    (map_x, map_y) in frame t; trusted (bool) where the flows both ways agree and the source is inside."""
    greys = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in truth]
    height, width = greys[0].shape
    gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    flows = []
    for a, b in zip(greys, greys[1:]):
        back = cv2.calcOpticalFlowFarneback(b, a, None, 0.5, 4, 21, 3, 5, 1.1, 0)  # t+1 -> t
        fwd = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 21, 3, 5, 1.1, 0)  # t -> t+1
        mx, my = gx + back[..., 0], gy + back[..., 1]
        fwd_there = cv2.remap(fwd, mx, my, cv2.INTER_LINEAR)
        err = np.sum((back + fwd_there) ** 2, axis=2)
        ok = err <= 0.01 * (np.sum(back**2, axis=2) + np.sum(fwd_there**2, axis=2)) + 0.5
        ok &= (mx >= 0) & (mx <= width - 1) & (my >= 0) & (my <= height - 1)
        flows.append((mx, my, ok))
    return flows


def _pairs(frames, flows, cuts):
    """(warped frame t (float32 0..255), frame t+1 (float32), trusted mask) for pairs within a shot."""
    cuts = set(cuts)
    for t, ((mx, my, ok), a, b) in enumerate(zip(flows, frames, frames[1:])):
        if t + 1 in cuts or not ok.any():
            continue
        yield cv2.remap(a.astype(np.float32), mx, my, cv2.INTER_LINEAR), b.astype(np.float32), ok


def flicker(frames, flows, cuts=()):
    """Mean |ab(t+1) - ab(t warped)| over trusted pixels and pairs (Lab ab units; 0 = no flicker)."""
    from exemplar.core.color import rgb_to_lab

    errors = []
    for warped, b, ok in _pairs(frames, flows, cuts):
        ab_a, ab_b = (rgb_to_lab(np.clip(x, 0, 255) / 255)[..., 1:] for x in (warped, b))
        errors.append(np.abs(ab_a - ab_b).mean(axis=2)[ok].mean())
    return float(np.mean(errors))


def warp_error(frames, flows, cuts=()):
    """Mean squared RGB difference (RGB in [0, 1]) of frame t+1 and frame t warped, over non-occluded pixels."""
    errors = [(((warped - b) / 255) ** 2).mean(axis=2)[ok].mean() for warped, b, ok in _pairs(frames, flows, cuts)]
    return float(np.mean(errors))


def _histograms(frame):
    """(H, W, 3) uint8 -> (3, 256) float64: each channel's histogram, summing to 1."""
    counts = np.stack([np.bincount(frame[..., c].ravel(), minlength=256) for c in range(3)]).astype(np.float64)
    return counts / counts.sum(axis=1, keepdims=True)


def js_divergence(p, q):
    """Jensen-Shannon divergence (natural log, in [0, ln 2]) of two histograms along the last axis."""
    m = (p + q) / 2

    def kl(a, b):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a > 0, a * np.log(a / np.where(b > 0, b, 1)), 0.0).sum(axis=-1)

    return 0.5 * kl(p, m) + 0.5 * kl(q, m)


def cdc(frames, cuts=(), gaps=(1, 2, 4)):
    """Colour distribution consistency: mean JS divergence of the RGB histograms of frames 1, 2 and 4
    apart (pairs within a shot only), averaged over the three channels, then the gaps."""
    histograms = [_histograms(f) for f in frames]
    shot = np.cumsum([t in set(cuts) for t in range(len(frames))])  # (N,) shot number of each frame
    per_gap = []
    for gap in gaps:
        values = [js_divergence(histograms[t], histograms[t + gap]).mean()
                  for t in range(len(frames) - gap) if shot[t] == shot[t + gap]]
        if values:
            per_gap.append(np.mean(values))
    return float(np.mean(per_gap))
