"""How far a colour hint reaches: geodesic distance over the photo's luminance at 1/4 of the working size.

A click on a coat should colour the coat and stop at its outline, however large the coat is. The
network's hint input learns some of that, but only as far as its training has gone; this spreads
each hint explicitly. Walking from the hinted cell to a neighbour costs ``SPAN_COST / short side``
(crossing the whole picture on flat ground costs SPAN_COST), plus (dL / EDGE_L)^2 for the L units
between the two cells, plus an outline cost for a step across a sharp edge of the working-size
L (outline_costs): at 1/4 an outline is blurred over two cells, so the cells' own L differences
alone let colour leak across it. A cell's weight is exp(-(distance / REACH)^2) and it takes the
colour of the hint nearest to it in that distance.

Chosen on 8 val/bsds + 8 val/people photos with 10 hints from the truth (benchmarks/hints.py,
automatic, the epoch-4 model): +1.06 / +2.17 dB over no hint, against +0.13 / +0.12 with the former
5x5-cell spots. Settings that spread further (+1.5 to +1.9 on bsds) let outlines of 15 to 25 L through
(tests/test_video_hints.py: a square of L 50 on a background of L 65 must keep its hint inside).

Distances are computed for all hints at once by raster sweeps (each row's pass is a min-plus
prefix scan, vectorised with numpy): a few milliseconds for a 64 x 64 grid.
"""

import numpy as np

SPAN_COST = 16.0  # cost of walking across the picture's shorter side where L is flat
EDGE_L = 8.0  # L units (0..100) between neighbouring cells that cost one more unit (quadratic)
EDGE_PX = 9.0  # L step between neighbouring pixels at which a border between cells starts to be an outline
OUTLINE_POWER = 8  # (step / EDGE_PX)^8: texture (steps of 6 L) 0.04, an outline of 16 L 100 a crossing
REACH = 40.0  # the distance at which a hint's weight is 1/e
SWEEPS = 2  # (down, up) sweep pairs: enough for paths that turn a few times (checked against Dijkstra)


def geodesic_distances(l4, seeds, step_cost, edge_l=EDGE_L, outlines=None, sweeps=SWEEPS):
    """l4: (h, w) L in [0, 100]; seeds: [(row, col)] -> (K, h, w) float32 path cost from each seed.

    4-connected grid; a step between neighbours costs step_cost + (dL / edge_l)^2, plus the
    outline cost of that step when ``outlines`` = (across (h, w-1), down (h-1, w)) is given.
    """
    l4 = np.asarray(l4, np.float32)
    height, width = l4.shape
    distance = np.full((len(seeds), height, width), np.inf, np.float32)
    for k, (row, col) in enumerate(seeds):
        distance[k, row, col] = 0.0
    across = step_cost + (np.diff(l4, axis=1) / edge_l) ** 2  # (h, w-1): the step col -> col+1
    down = step_cost + (np.diff(l4, axis=0) / edge_l) ** 2  # (h-1, w): the step row -> row+1
    if outlines is not None:
        across, down = across + outlines[0], down + outlines[1]
    # walked[row, x]: the cost of walking along the row from column 0 to x
    walked = np.concatenate([np.zeros((height, 1), np.float32), np.cumsum(across, axis=1)], axis=1)
    scratch = np.empty((len(seeds), width), np.float32)
    for _ in range(sweeps):
        for rows in (range(height), range(height - 1, -1, -1)):
            previous = None
            for row in rows:
                line = distance[:, row]  # (K, w), a view: updated in place
                if previous is not None:
                    np.add(distance[:, previous], down[min(row, previous)], out=scratch)
                    np.minimum(line, scratch, out=line)
                _scan_row(line, walked[row], scratch)
                previous = row
    return distance


def _scan_row(line, walked, scratch):
    """In place: line[k, x] = min over x' of line[k, x'] + the cost of walking from x' to x along the
    row, walked[x] - walked[x'] (walked: (w,) cost from column 0; scratch: (K, w) work space)."""
    # left to right: min_{x' <= x} line[x'] - walked[x'], + walked[x]
    np.subtract(line, walked, out=scratch)
    np.minimum.accumulate(scratch, axis=1, out=scratch)
    scratch += walked
    np.minimum(line, scratch, out=line)
    # right to left: min_{x' >= x} line[x'] + walked[x'], - walked[x] (accumulated on reversed views)
    np.add(line, walked, out=scratch)
    np.minimum.accumulate(scratch[:, ::-1], axis=1, out=scratch[:, ::-1])
    scratch -= walked
    np.minimum(line, scratch, out=line)


def outline_costs(l_full, cell=4, edge_px=EDGE_PX):
    """(4h, 4w) L at the working size -> the outline cost of each step between cells at 1/4:
    (across (h, w-1), down (h-1, w)).

    An outline that is sharp in the photo is blurred over two cells at 1/4 and its L step halves;
    the strongest step between neighbouring pixels near the border of the two cells (the 2 pixel
    columns or rows each side of it) keeps it. (dL / edge_px)^8: a textured surface (steps of a
    few L) costs next to nothing, an outline (15 L and more) is a wall.
    """
    l_full = np.asarray(l_full, np.float32)
    height, width = l_full.shape[0] // cell, l_full.shape[1] // cell
    l_full = l_full[: height * cell, : width * cell]
    half = cell // 2
    # step_x[:, p] = |L[:, p] - L[:, p-1]|; the border between cells c and c+1 owns pixels
    # cell*c + half .. cell*(c+1) + half - 1, so every pixel step belongs to exactly one border.
    step_x = np.abs(np.diff(l_full, axis=1, prepend=l_full[:, :1]))[:, half : width * cell - half]
    step_y = np.abs(np.diff(l_full, axis=0, prepend=l_full[:1]))[half : height * cell - half]
    across = step_x.reshape(height, cell, width - 1, cell).max(axis=(1, 3))
    down = step_y.reshape(height - 1, cell, width, cell).max(axis=(1, 3))
    return (across / edge_px) ** OUTLINE_POWER, (down / edge_px) ** OUTLINE_POWER


def spread_hints(l4, l_full, cells, colours, reach=REACH):
    """Where and which colour the hints give at 1/4 size.

    l4: (h, w) L; l_full: (4h, 4w) L at the working size, whose sharp outlines stop a hint
    (outline_costs); cells: [(row, col)] of the hints; colours: (K, 2) ab.
    Returns region (h, w, 1) in [0, 1] (1 at a hinted cell, falling with geodesic distance) and
    colour (h, w, 2): the ab of the geodesically nearest hint.
    """
    height, width = np.shape(l4)
    if not len(cells):
        return np.zeros((height, width, 1), np.float32), np.zeros((height, width, 2), np.float32)
    distance = geodesic_distances(l4, cells, SPAN_COST / min(height, width), outlines=outline_costs(l_full))  # (K, h, w)
    nearest = np.argmin(distance, axis=0)  # (h, w)
    closest = np.take_along_axis(distance, nearest[None], axis=0)[0]
    region = np.exp(-((closest / reach) ** 2))[..., None].astype(np.float32)
    return region, np.asarray(colours, np.float32).reshape(-1, 2)[nearest]
