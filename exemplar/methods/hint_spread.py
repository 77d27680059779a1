"""How far a colour hint reaches: geodesic distance over the photo's luminance at 1/4 of the working size.

A click on a coat should colour the coat and stop at its outline, however large the coat is. The
network's hint input learns some of that, but only as far as its training has gone; this spreads
each hint explicitly. Walking from the hinted cell to a neighbour costs ``SPAN_COST / short side``
(crossing the whole picture on flat ground costs SPAN_COST), plus (dL / EDGE_L)^2 for the L units
between the two cells, plus an outline cost for a step across a sharp edge of the working-size
L (outline_costs): at 1/4 an outline is blurred over two cells, so the cells' own L differences
alone let colour leak across it. A cell takes the colour of the hint nearest to it in that distance,
with the weight exp(-(distance / REACH)^2) / (1 + (dL / RANGE_L)^2), dL between the cell's L and the
hinted cell's: the range term of a bilateral filter. A path's cost adds up its steps, so a soft edge
(an arm against a dark dress, a leg against the road, a small photo enlarged to the working size)
costs a few units per step and lets the colour through; comparing the cell's L with the hint's own
stops it there, while its heavy tail (dL = RANGE_L halves the weight) keeps a shaded part of the
same surface.

Chosen first on 8 val/bsds + 8 val/people photos with 10 hints from the truth (benchmarks/hints.py,
automatic, the epoch-4 model): +1.06 / +2.17 dB over no hint, against +0.13 / +0.12 with the former
5x5-cell spots. Settings that spread further (+1.5 to +1.9 on bsds) let outlines of 15 to 25 L through
(tests/test_video_hints.py: a square of L 50 on a background of L 65 must keep its hint inside).
Then EDGE_L 8 -> 5 and REACH 40 -> 30, tuned on training photos (45 of train/people, 45 of
train/bsds, spread evenly; not the val sets): people +1.56 -> +1.98 dB, bsds +3.95 -> +3.86 (a
click's colour reaching less far over L steps: on people many surfaces are small and shaded; on
20 people photos REACH 100 gained +0.92, 40 +1.35, 15 to 25 about +2.0). Blending the
network's colour shifted by the hint's offset instead of replacing it measured lower (+1.10 on
20 people photos against +2.01 replacing).
Then the range term (RANGE_L 20) with REACH 30 -> 45, chosen with the epoch-28 model on 48 train/people +
48 train/bsds photos (spread evenly; 10 random hints, the truth's 3x3 mean; two point seeds; not the val
sets): people +1.17 -> +1.31 and +1.05 -> +1.23 dB with 10 hints, bsds +3.60 -> +3.72 and +3.40 -> +3.51
(5 and 20 hints gain as well). On these people photos a hint's colour is worse than the network's own
where dL to the hint passes 10 (mean squared ab error 222 against 202 at dL 10-20, 295 against 230
beyond), far better below (49 against 169 at dL < 2). A range term of 10 L, a Gaussian one, a weight below
1 at the hint, a reliability from the L texture around the hint, averaging the hints by geodesic weight,
and (with the network's ab, in a test harness) gating by the network's colour, by its prior's mass at the
hint's colour, or a reach growing with the hint's distance from the network's colour: none gained more
than 0.05 dB over this on people.

Then the hint's chroma follows shading (this revision): a cell darker than the hinted one takes the
hint's ab scaled by (L + 16) / (L_hint + 16), never raised for a lighter one. For a diffuse surface
under less light, XYZ scales by a factor k and CIE L* + 16, a* and b* all scale by k^(1/3) (the
cube-root part of Lab), so a shaded fold of a red coat is a darker, less saturated red, not the
clicked red at a lower L. Lighter cells keep the hint's ab (highlights are often specular: whiter,
not more saturated; letting chroma grow there measured lower). With it RANGE_L 20 -> 25 (a shaded
part of the hinted surface is now coloured closer to the truth, so it may take more of the hint).
Measured with the epoch-33 model on 48 train/people + 48 train/bsds photos, 10 hints, two point seeds
(1000, 2000; not the val sets): people +1.456 -> +1.495 and +1.430 -> +1.447 dB, bsds +2.823 -> +2.874
and +2.754 -> +2.803 (a harness outside the repository, named in docs/hints.md). Exponent 1.5 instead
of the physical 1: within 0.01 dB.

Then (fourteenth session) the spread is withheld, but for a quarter, where the network, given the hints, paints a
cell unlike the clicked cell (network_agreement): a click on a black jacket reached the dark stair risers behind it.

The nearest hint and its distance are found for all hints at once by one multi-source Dijkstra
(scipy.sparse.csgraph): about 1 ms for 10 hints on a 64 x 64 grid (the former raster sweeps took 7).
"""

import functools

import cv2
import numpy as np

SPAN_COST = 16.0  # cost of walking across the picture's shorter side where L is flat
EDGE_L = 5.0  # L units (0..100) between neighbouring cells that cost one more unit (quadratic)
EDGE_PX = 9.0  # L step between neighbouring pixels at which a border between cells starts to be an outline
OUTLINE_POWER = 8  # (step / EDGE_PX)^8: texture (steps of 6 L) 0.04, an outline of 16 L 100 a crossing
REACH = 45.0  # the distance at which a hint's weight is 1/e (on cells of the hint's own L)
RANGE_L = 25.0  # L units between a cell and its hint's cell that halve the hint's weight there
SHADE_OFFSET = 16.0  # CIE L* + 16 scales with the cube root of the light, as a* and b* do
AGREE_AB = 45.0  # ab units between a cell's network colour and its click's at which the agreement is 1/e
AGREE_FLOOR = 0.25  # the share of the spread a cell keeps where the network paints something else entirely


def geodesic_nearest(l4, seeds, step_cost, edge_l=EDGE_L, outlines=None):
    """l4: (h, w) L in [0, 100]; seeds: [(row, col)] -> (distance (h, w) float32, nearest (h, w) int):
    each cell's path cost from the geodesically nearest seed, and that seed's index in ``seeds``.

    4-connected grid; a step between neighbours costs step_cost + (dL / edge_l)^2, plus the
    outline cost of that step when ``outlines`` = (across (h, w-1), down (h-1, w)) is given.
    One multi-source Dijkstra (scipy.sparse.csgraph) for all seeds at once.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    l4 = np.asarray(l4, np.float32)
    height, width = l4.shape
    across = step_cost + (np.diff(l4, axis=1) / edge_l) ** 2  # (h, w-1): the step col -> col+1
    down = step_cost + (np.diff(l4, axis=0) / edge_l) ** 2  # (h-1, w): the step row -> row+1
    if outlines is not None:
        across, down = across + outlines[0], down + outlines[1]
    indices, indptr, step_of = _grid_graph(height, width)
    steps = np.concatenate([across.ravel(), down.ravel()]).astype(np.float64)  # every step once
    graph = csr_matrix((steps[step_of], indices, indptr), shape=(height * width, height * width))  # both ways
    flat = [row * width + col for row, col in seeds]
    distance, _, source = dijkstra(graph, directed=True, indices=flat, min_only=True, return_predecessors=True)
    seed_of = np.zeros(height * width, np.intp)
    seed_of[flat] = np.arange(len(flat))  # a seed's node -> its index in ``seeds``
    return distance.reshape(height, width).astype(np.float32), seed_of[source].reshape(height, width)


@functools.lru_cache(maxsize=8)
def _grid_graph(height, width):
    """The 4-connected grid's structure as a CSR adjacency with every step in both directions ->
    (indices, indptr, step_of): step_of[k] is the k-th entry's step in [across.ravel(), down.ravel()].
    The same for every call at a working size (building it each time cost a third of the search)."""
    index = np.arange(height * width).reshape(height, width)
    start = np.concatenate([index[:, :-1].ravel(), index[:-1].ravel()])  # each step's cells, in the steps' order
    end = np.concatenate([index[:, 1:].ravel(), index[1:].ravel()])
    step = np.arange(start.size)
    tail, head, step = np.concatenate([start, end]), np.concatenate([end, start]), np.concatenate([step, step])
    order = np.lexsort((head, tail))  # row-major: by the cell a step leaves, then the cell it reaches
    indptr = np.searchsorted(tail[order], np.arange(height * width + 1)).astype(np.int32)
    return head[order].astype(np.int32), indptr, step[order]


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
    # The step between pixels p-1 and p belongs to the border between cells c and c+1 when p is in
    # cell*c + half .. cell*(c+1) + half - 1, so every pixel step belongs to exactly one border.
    step_x = cv2.absdiff(l_full[:, half:-half], l_full[:, half - 1 : -half - 1])  # (4h, 4(w-1))
    step_y = cv2.absdiff(l_full[half:-half], l_full[half - 1 : -half - 1])  # (4(h-1), 4w)
    return _block_max_cost(step_x, cell, edge_px), _block_max_cost(step_y, cell, edge_px)


def _block_max_cost(step, cell, edge_px):
    """(cell*m, cell*n) pixel steps -> (m, n) (the largest in each block / edge_px)^OUTLINE_POWER."""
    cols = step[:, 0::cell].copy()
    for offset in range(1, cell):
        np.maximum(cols, step[:, offset::cell], out=cols)
    block = cols[0::cell].copy()
    for offset in range(1, cell):
        np.maximum(block, cols[offset::cell], out=block)
    block /= edge_px
    return block**OUTLINE_POWER


def spread_hints(l4, l_full, cells, colours, reach=REACH, range_l=RANGE_L):
    """Where and which colour the hints give at 1/4 size.

    l4: (h, w) L; l_full: (4h, 4w) L at the working size, whose sharp outlines stop a hint
    (outline_costs); cells: [(row, col)] of the hints; colours: (K, 2) ab.
    Returns region (h, w, 1) in [0, 1] (1 at a hinted cell, falling with geodesic distance and
    with the L difference to the hinted cell), colour (h, w, 2): the ab of the geodesically
    nearest hint, its chroma lowered on cells darker than the hinted one (shade, module docstring),
    and anchor (h, w) int: the flat index (row * w + col) of that hint's cell (0 where there is no hint).
    """
    l4 = np.asarray(l4, np.float32)
    height, width = l4.shape
    if not len(cells):
        return (np.zeros((height, width, 1), np.float32), np.zeros((height, width, 2), np.float32),
                np.zeros((height, width), np.intp))
    closest, nearest = geodesic_nearest(l4, cells, SPAN_COST / min(height, width), outlines=outline_costs(l_full))
    rows, cols = np.asarray(cells).T
    hinted_l = l4[rows, cols][nearest]  # (h, w): the L of each cell's hint's cell
    apart = (l4 - hinted_l) / range_l  # in RANGE_L units
    region = (np.exp(-((closest / reach) ** 2)) / (1.0 + apart * apart))[..., None].astype(np.float32)
    shade = np.minimum((l4 + SHADE_OFFSET) / (hinted_l + SHADE_OFFSET), 1.0)[..., None]  # (h, w, 1) in (0, 1]
    colour = (np.asarray(colours, np.float32).reshape(-1, 2)[nearest] * shade).astype(np.float32)
    return region, colour, (rows * width + cols)[nearest]


def network_agreement(ab_net, anchor, scale=AGREE_AB, floor=AGREE_FLOOR):
    """(h, w, 2) the network's ab given the hints, (h, w) each cell's nearest hinted cell (flat index, as
    :func:`spread_hints` gives it) -> (h, w, 1) in [floor, 1]: how far a cell takes the spread, by how alike
    the network paints it and that clicked cell.

    The geodesic spread knows luminance, not objects: a crimson click on a black jacket reached the dark stair
    risers and, through the range term's tail, the pavement behind (10 ab units of pink over the stairs). The
    network, given the same click, paints the jacket and leaves the stairs: where it paints a cell unlike the
    clicked one, the spread is withheld but for ``floor``. Measured against the hint's own colour instead (the same
    on train photos), a click the network does not follow at its point would lose its spread everywhere.
    With 10 random hints of the truth's colour: 48 + 48 train photos, people +1.58 -> +1.71 dB over no hint (two
    seeds), bsds +3.08 -> +3.10; the whole val sets, people +1.88 -> +1.90, bsds +3.44 -> +3.32 (docs/hints.md).
    """
    ab_net = np.asarray(ab_net, np.float32)
    clicked = ab_net.reshape(-1, 2)[anchor]  # (h, w, 2): the click as the network painted it
    distance = np.linalg.norm(ab_net - clicked, axis=-1, keepdims=True)
    return floor + (1.0 - floor) * np.exp(-((distance / scale) ** 2))
