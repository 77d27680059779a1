"""``ReferenceSchedule``: which references colour which frames of a long film.

``-r`` references (or a palette, or none for automatic colorization) colour the film from its
start; each ``--reference-at WHEN=IMAGE`` switches to IMAGE from WHEN on. WHEN is a time
(``1:30``, ``00:01:30.5``, ``90s``) or a frame number (``2250``); several IMAGEs at one WHEN are
used together. At a switch the colour is not carried over from the previous frame: the new
references start afresh, as at a shot cut.
"""

import re
from dataclasses import dataclass

from exemplar.core.errors import ExemplarError


@dataclass(frozen=True)
class Span:
    """From frame ``start`` on (until the next span), colour from ``references`` or ``palette``."""

    start: int
    references: tuple  # paths (or arrays); empty with a palette, or for automatic colorization
    palette: object = None  # an exemplar.methods.palette.Palette, or None


class ReferenceSchedule:
    """The spans of a film, ordered by start frame; :meth:`at` gives the span of a frame."""

    def __init__(self, references=(), palette=None, reference_at=(), fps=25):
        by_frame = {}
        for when, image in reference_at:
            by_frame.setdefault(parse_when(when, fps), []).append(image)
        first = by_frame.pop(0, None)
        if first is not None and (references or palette is not None):
            raise ExemplarError("--reference-at at frame 0 and -r/--palette both give the first references")
        self.spans = [Span(0, tuple(first) if first else tuple(references), None if first else palette)]
        self.spans += [Span(start, tuple(images)) for start, images in sorted(by_frame.items())]

    def at(self, frame):
        """The :class:`Span` that colours frame number ``frame``."""
        return [span for span in self.spans if span.start <= frame][-1]

    def images(self):
        """Every reference image named in the schedule (to check them before the film starts)."""
        return [image for span in self.spans for image in span.references]


def parse_when(text, fps):
    """``"1:30"``, ``"00:01:30.5"``, ``"90s"``, ``"90.5s"`` (times) or ``"2250"`` (a frame) -> frame number."""
    text = str(text).strip()
    if re.fullmatch(r"\d+", text):
        return int(text)
    match = re.fullmatch(r"(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?)(s?)", text)
    if match is None or (":" not in text and not match.group(4)):
        raise ExemplarError(f"cannot read the time {text!r}: give HH:MM:SS, MM:SS, seconds like 90s, "
                            "or a frame number")
    hours, minutes, seconds = int(match.group(1) or 0), int(match.group(2) or 0), float(match.group(3))
    return int(round((hours * 3600 + minutes * 60 + seconds) * float(fps)))


def parse_reference_at(text):
    """``"00:01:30=ref2.jpg"`` -> ("00:01:30", "ref2.jpg"); the option's value from the command line."""
    when, sep, image = str(text).partition("=")
    if not sep or not when.strip() or not image.strip():
        raise ExemplarError(f"--reference-at {text!r}: expected WHEN=IMAGE, e.g. 00:01:30=ref2.jpg or 2250=ref2.jpg")
    return when.strip(), image.strip()
