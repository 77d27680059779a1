"""``FrameFolder``: a film stored as numbered image files (``frame_0001.png``, ``0002.png``, ...).

A folder has no frame rate of its own, so it is given (``--fps``). Frames are ordered by the
last number in their names, not alphabetically (``frame_10`` after ``frame_9``). Each frame is
read with :func:`exemplar.core.image_io.read_image`, so a bad frame is refused with its own name.
"""

import re
from fractions import Fraction
from pathlib import Path

import cv2

from exemplar.core.errors import ImageError
from exemplar.core.image_io import DEFAULT_MAX_PIXELS, read_image

FRAME_EXTENSIONS = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"}
DEFAULT_FPS = Fraction(25)


class FrameFolder:
    """The numbered frames of ``path``; iterate :meth:`frames` for (H, W, 3) float32 sRGB in [0, 1]."""

    has_audio = False

    def __init__(self, path, fps=DEFAULT_FPS, max_pixels=DEFAULT_MAX_PIXELS):
        self.path = Path(path)
        if not self.path.is_dir():
            raise ImageError(self.path, "folder not found")
        self.fps = Fraction(fps).limit_denominator(1001 * 1000)
        if self.fps <= 0:
            raise ImageError(self.path, f"frame rate must be positive, got {fps}")
        self.max_pixels = max_pixels
        self.files = numbered_frames(self.path)
        if not self.files:
            raise ImageError(self.path, "holds no numbered frames (e.g. frame_0001.png; "
                                        f"{', '.join(sorted(FRAME_EXTENSIONS))})")
        self.frame_count = len(self.files)
        first = read_image(self.files[0], max_pixels=max_pixels).rgb
        self.height, self.width = first.shape[:2]

    def frames(self, size=None):
        """Yield each frame as (H, W, 3) float32 sRGB in [0, 1]; all must have the first one's size.

        size: (width, height) to scale each frame to (area averaging), as :meth:`VideoReader.frames`."""
        for path in self.files:
            rgb = read_image(path, max_pixels=self.max_pixels).rgb
            if rgb.shape[:2] != (self.height, self.width):
                raise ImageError(path, f"frame is {rgb.shape[1]}x{rgb.shape[0]} but the first frame is "
                                       f"{self.width}x{self.height}")
            yield rgb if size is None else cv2.resize(rgb, tuple(size), interpolation=cv2.INTER_AREA)


def numbered_frames(folder):
    """Image files in ``folder`` whose names hold a number, ordered by the last number in the name."""
    found = []
    for path in Path(folder).iterdir():
        numbers = re.findall(r"\d+", path.stem)
        if path.suffix.lower() in FRAME_EXTENSIONS and numbers and not path.name.startswith("."):
            found.append((int(numbers[-1]), path.name, path))
    return [path for _, _, path in sorted(found)]
