"""A comparison sheet: several versions of one photo side by side, each labelled, in one image.

``exemplar restyle`` writes one so that a person can look at the styles instead of opening each
file. Panels are resized to a common height and laid out in a row on a white background; the
label is drawn under each panel (cv2.putText, shrunk to fit the panel's width), with an
optional strip of palette swatches between the panel and the label.
"""

from dataclasses import dataclass

import cv2
import numpy as np

GAP = 8  # pixels between panels and around the sheet
LABEL_HEIGHT = 26
SWATCH_HEIGHT = 12
FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True, eq=False)
class SheetPanel:
    """One picture of the sheet: (H, W, 3) or (H, W) float sRGB in [0, 1] and its label.

    swatches: optional ((K, 3) sRGB colours in [0, 1], (K,) weights) drawn as a bar whose
    segments are as wide as the weights, e.g. the palette the panel was coloured with.
    """

    label: str
    rgb: np.ndarray
    swatches: tuple | None = None


def contact_sheet(panels, height=256):
    """Lay ``panels`` (a list of :class:`SheetPanel`) out in a row -> (H, W, 3) float32 sRGB in [0, 1].

    Every panel is resized to ``height`` pixels high, keeping its aspect ratio.
    """
    if not panels:
        raise ValueError("a contact sheet needs at least one panel")
    has_swatches = any(p.swatches is not None for p in panels)
    strip = (SWATCH_HEIGHT + 4 if has_swatches else 0) + LABEL_HEIGHT
    tiles = [_tile(p, height, strip) for p in panels]
    width = sum(t.shape[1] for t in tiles) + GAP * (len(tiles) + 1)
    sheet = np.full((height + strip + 2 * GAP, width, 3), 255, np.uint8)
    x = GAP
    for tile in tiles:
        sheet[GAP : GAP + tile.shape[0], x : x + tile.shape[1]] = tile
        x += tile.shape[1] + GAP
    return sheet.astype(np.float32) / 255.0


def _tile(panel, height, strip):
    """One panel as uint8 RGB: the picture (height, w), then swatches and label below."""
    rgb = np.asarray(panel.rgb, np.float32)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=2)
    width = max(1, round(rgb.shape[1] * height / rgb.shape[0]))
    interpolation = cv2.INTER_AREA if height < rgb.shape[0] else cv2.INTER_LINEAR
    picture = cv2.resize(rgb, (width, height), interpolation=interpolation)
    tile = np.full((height + strip, width, 3), 255, np.uint8)
    tile[:height] = np.round(np.clip(picture, 0.0, 1.0) * 255.0).astype(np.uint8)
    top = height  # the strip below the picture: [4 px gap, swatches,] label
    if strip > LABEL_HEIGHT:
        if panel.swatches is not None:
            colours, weights = panel.swatches
            edges = np.round(np.concatenate([[0.0], np.cumsum(weights) / np.sum(weights)]) * width).astype(int)
            for colour, left, right in zip(np.asarray(colours), edges[:-1], edges[1:]):
                tile[top + 4 : top + 4 + SWATCH_HEIGHT, left:right] = np.round(np.clip(colour, 0, 1) * 255)
        top += SWATCH_HEIGHT + 4
    _label(tile, panel.label, top, width)
    return tile


def _label(tile, text, top, width):
    """Write ``text`` centred in the LABEL_HEIGHT rows from ``top``, shrunk (then cut) to fit."""
    text = text.encode("ascii", "replace").decode("ascii")  # the Hershey fonts are ASCII only
    scale, thickness = 0.55, 1
    while True:
        (text_w, text_h), _ = cv2.getTextSize(text, FONT, scale, thickness)
        if text_w <= width - 4 or (scale <= 0.3 and len(text) <= 3):
            break
        if scale > 0.3:
            scale -= 0.05
        else:
            text = text[:-4] + "..."  # still too wide at the smallest legible size: cut it
    x = max(2, (width - text_w) // 2)
    y = top + (LABEL_HEIGHT + text_h) // 2
    cv2.putText(tile, text, (x, y), FONT, scale, (0, 0, 0), thickness, cv2.LINE_AA)
