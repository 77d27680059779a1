"""Colour hints: "this spot is this colour", given by a user (``--hint 42%,30%=#c0392b``).

A hint is a point of the target, in pixels of the image as given (after its EXIF orientation) or
in percent of its width and height, and a colour: a hex code or a CSS colour name, read by
Pillow's ImageColor. Only the colour's chroma is used (its Lab a and b): the photo's own
luminance is never changed, so "dark red" and "red" on the same spot differ only in hue and
saturation. The network spreads each hint over the region it belongs to (exemplar.methods.net_colorizer).

Text forms: ``X,Y=COLOUR`` on the command line; a JSON file holding a list of such strings or of
objects ``{"x": 120, "y": "30%", "colour": "navy"}``; in Python ``(x, y, colour)`` tuples, colour
a string or an (r, g, b) tuple of 0..255.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

from exemplar.core.errors import ExemplarError

MAX_HINTS = 64  # more points than anyone clicks; each costs a little at every call
# A hinted point whose output is this close to the hint (ab units) is not painted again at full size
# (paint_spots); issue 19 asks for within 10 (a film's followed points, tests/test_video_hints.py, 3).
SPOT_CLOSE = 2.0


@dataclasses.dataclass(frozen=True)
class Hint:
    """One hint as given: x and y (numbers: pixels; strings ending in %: percent), its colour's
    (r, g, b) in 0..255, and ``text``, how the user wrote it (for error messages)."""

    x: float | str
    y: float | str
    rgb: tuple
    text: str

    def position(self, width, height):
        """(x, y) as fractions of the width and height in [0, 1); ExemplarError if outside the picture."""
        fx = _fraction(self.x, width, self.text, "x")
        fy = _fraction(self.y, height, self.text, "y")
        return fx, fy


def parse_colour(text, where):
    """A hex code or CSS colour name -> (r, g, b) ints; ExemplarError naming ``where`` otherwise."""
    from PIL import ImageColor

    if isinstance(text, (tuple, list)) and len(text) == 3 and all(isinstance(v, (int, float)) for v in text):
        if all(0 <= v <= 255 for v in text):
            return tuple(int(round(v)) for v in text)
    elif isinstance(text, str):
        try:
            return tuple(ImageColor.getrgb(text.strip())[:3])
        except ValueError:
            pass
    raise ExemplarError(f"hint {where}: cannot read the colour {text!r} (use a hex code like #c0392b or a CSS "
                        "colour name like navy)")


def parse_hint(text):
    """``"X,Y=COLOUR"`` -> Hint; X and Y pixels (``120``) or percentages (``42%``)."""
    position, sep, colour = text.partition("=")
    parts = position.split(",")
    if not sep or len(parts) != 2:
        raise ExemplarError(f"hint {text!r}: expected X,Y=COLOUR, e.g. 120,45=#c0392b or 42%,30%=navy")
    x, y = (_coordinate(part, text) for part in parts)
    return Hint(x, y, parse_colour(colour, repr(text)), text)


def make_hint(value):
    """A Hint from a Hint, an ``"X,Y=COLOUR"`` string or an ``(x, y, colour)`` tuple."""
    if isinstance(value, Hint):
        return value
    if isinstance(value, str):
        return parse_hint(value)
    if isinstance(value, (tuple, list)) and len(value) == 3:
        text = f"{value[0]},{value[1]}={value[2]}"
        return Hint(_coordinate(value[0], text), _coordinate(value[1], text), parse_colour(value[2], repr(text)), text)
    raise ExemplarError(f"hint {value!r}: expected (x, y, colour) or 'X,Y=COLOUR'")


def read_hints_file(path):
    """A JSON file of hints (a list of "X,Y=COLOUR" strings or {"x", "y", "colour"} objects) -> [Hint]."""
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ExemplarError(f"{path}: cannot read the hints file ({error})") from error
    if not isinstance(entries, list):
        raise ExemplarError(f"{path}: a hints file holds a JSON list of hints")
    hints = []
    for number, entry in enumerate(entries, 1):
        if isinstance(entry, dict):
            colour = entry.get("colour", entry.get("color"))
            if "x" not in entry or "y" not in entry or colour is None:
                raise ExemplarError(f"{path}: hint {number} needs x, y and colour")
            entry = (entry["x"], entry["y"], colour)
        try:
            hints.append(make_hint(entry))
        except ExemplarError as error:
            raise ExemplarError(f"{path}: hint {number}: {error}") from error
    return hints


def check_hints(hints):
    """Any hints (see make_hint) -> [Hint], at most MAX_HINTS."""
    hints = [make_hint(hint) for hint in hints or ()]
    if len(hints) > MAX_HINTS:
        raise ExemplarError(f"{len(hints)} hints given; at most {MAX_HINTS} are taken")
    return hints


def resolve(hints, width, height):
    """[Hint] on an image of width x height -> [(x, y, (a, b))]: fractions in [0, 1) and Lab ab."""
    return [(*hint.position(width, height), ab) for hint, ab in zip(hints, colours_ab(hints))]


def colours_ab(hints):
    """[Hint] -> [(a, b)]: each hint's colour in CIE Lab, converted together (one call, not one per hint)."""
    if not hints:
        return []
    from exemplar.core.color import rgb_to_lab

    lab = rgb_to_lab(np.float32([hint.rgb for hint in hints])[None] / 255.0)[0]  # (K, 3)
    return [(float(a), float(b)) for a, b in lab[:, 1:]]


def paint_spots(ab, l, resolved, radius=0.015, tolerance=6.0, close=SPOT_CLOSE):
    """Set each hint's own spot to its colour, in place, after the colour is at full size.

    ab: (H, W, 2) Lab ab, l: (H, W) L; resolved: [(x, y, (a, b))] from :func:`resolve`. The spot
    is a soft disc of ``radius`` x the shorter side around the point that stops at luminance edges
    (weight exp(-(d/r)^2) * exp(-(dL/tolerance)^2)): the clicked point is exactly the hint's colour
    whatever smoothing came before. A hint whose point is already within ``close`` ab units of its
    colour is left as it is (the usual case: the net method has laid the colour over the hint's
    region, so the spot would only cost time).
    """
    height, width = l.shape
    r = max(2.0, radius * min(height, width))
    reach = int(2 * r)
    offsets = np.arange(-reach, reach + 1, dtype=np.float32) ** 2
    disc = np.exp(-(offsets[:, None] + offsets[None, :]) / r**2)  # (2 reach + 1,) * 2: exp(-(d/r)^2) around a point
    for x, y, hint_ab in resolved:
        col, row = min(int(x * width), width - 1), min(int(y * height), height - 1)
        hint_ab = np.float32(hint_ab)
        if np.hypot(*(ab[row, col] - hint_ab)) <= close:
            continue
        top, bottom = max(row - reach, 0), min(row + reach + 1, height)
        left, right = max(col - reach, 0), min(col + reach + 1, width)
        near = disc[top - row + reach : bottom - row + reach, left - col + reach : right - col + reach]
        same = np.exp(-(((l[top:bottom, left:right] - l[row, col]) / tolerance) ** 2))
        weight = (near * same)[..., None]
        ab[top:bottom, left:right] += weight * (hint_ab - ab[top:bottom, left:right])


def _coordinate(value, text):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        value = value.strip()
        try:
            return f"{float(value[:-1])}%" if value.endswith("%") else float(value)
        except ValueError:
            pass
    raise ExemplarError(f"hint {text!r}: {value!r} is not a pixel position or a percentage")


def _fraction(value, size, text, axis):
    if isinstance(value, str):  # "42.0%"
        percent = float(value[:-1])
        if not 0.0 <= percent <= 100.0:
            raise ExemplarError(f"hint {text!r}: {axis} = {value} is outside the picture (0% .. 100%)")
        return min(percent / 100.0, 1.0 - 0.5 / size)
    if not 0.0 <= value < size:
        raise ExemplarError(f"hint {text!r}: {axis} = {value:g} is outside the picture (0 .. {size - 1} pixels)")
    return (value + 0.5) / size  # the pixel's centre
