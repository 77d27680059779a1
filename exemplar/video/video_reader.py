"""``VideoReader``: frames of a video file (MP4/AVI/MKV/MOV, any codec FFmpeg decodes) one at a time.

PyAV is used because its wheels ship FFmpeg: the same decoders everywhere, no system ffmpeg,
and the audio packets can be copied into the output unchanged (OpenCV's VideoCapture and
VideoWriter see no audio at all).

Opening the file walks its packets once without decoding (a second or so for a 10-minute
film). That gives the exact frame count for the progress bar and finds a truncated file
before any colorizing is done. Frames are then decoded one by one: memory does not grow with
the length of the film.
"""

from fractions import Fraction
from pathlib import Path

import numpy as np

from exemplar.core.errors import ImageError


class VideoReader:
    """Open ``path`` and check it can be read; iterate :meth:`frames` for (H, W, 3) float32 sRGB in [0, 1]."""

    def __init__(self, path):
        import av

        self.path = Path(path)
        if not self.path.exists():
            raise ImageError(self.path, "file not found")
        if self.path.stat().st_size == 0:
            raise ImageError(self.path, "file is empty (0 bytes)")
        self._av = av
        try:
            container = av.open(str(self.path))
        except av.error.FFmpegError as e:
            raise ImageError(self.path, f"is not a video file FFmpeg can read, or it is truncated ({e})") from e
        with container:
            if not container.streams.video:
                raise ImageError(self.path, "has no video stream")
            stream = container.streams.video[0]
            if stream.codec_context is None:
                codec = stream.codec.name if getattr(stream, "codec", None) else "unknown"
                raise ImageError(self.path, f"its video codec ({codec}) is not supported: FFmpeg has no decoder for it")
            self.width, self.height = stream.codec_context.width, stream.codec_context.height
            rate = stream.average_rate or stream.guessed_rate
            if not rate or rate <= 0:
                raise ImageError(self.path, "the video's frame rate is unknown")
            self.fps = Fraction(rate).limit_denominator(1001 * 1000)
            self.has_audio = bool(container.streams.audio)
            self.frame_count = self._count_packets(container, stream)
        if self.frame_count == 0:
            raise ImageError(self.path, "the video stream has no frames")

    def _count_packets(self, container, stream):
        """Demux (no decoding) -> the number of video packets; refuse a file cut short."""
        count, end = 0, 0.0
        try:
            for packet in container.demux(stream):
                if packet.size == 0:  # the demuxer's end-of-stream marker
                    continue
                count += 1
                if packet.pts is not None:
                    end = max(end, float((packet.pts + (packet.duration or 0)) * stream.time_base))
        except self._av.error.FFmpegError as e:
            raise ImageError(self.path, f"the video data is corrupt or truncated after {count} frames ({e})") from e
        declared = stream.frames  # from the header where the container stores it (MP4, AVI)
        if declared and count < declared:
            raise ImageError(self.path, f"the video is truncated: {count} of {declared} frames are present")
        if not declared and container.duration and count:
            length = container.duration / 1e6  # microseconds -> seconds, from the header (MKV)
            start = float(container.start_time or 0) / 1e6
            if end - start < length - 2.0 / float(self.fps):
                raise ImageError(self.path, f"the video is truncated: frames end at {end - start:.2f} s "
                                            f"but the file says it lasts {length:.2f} s")
        return count

    def frames(self, size=None):
        """Yield (H, W, 3) float32 sRGB in [0, 1], in display order; refuses a stream that stops early.

        size: (width, height) to have FFmpeg scale each frame while converting it (swscale's bilinear
        widens its filter when shrinking, so it averages): the shot pass of
        :mod:`exemplar.video.shot_references` reads a film this way, cheaply."""
        av = self._av
        done = 0
        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame threads: decoding keeps up on two cores
            try:
                for frame in container.decode(stream):
                    if size is None:
                        rgb = frame.to_ndarray(format="rgb24")  # (H, W, 3) uint8, colour matrix from the stream
                    else:
                        rgb = frame.to_ndarray(format="rgb24", width=size[0], height=size[1],
                                               interpolation="BILINEAR")
                    done += 1
                    yield rgb.astype(np.float32) * np.float32(1 / 255)
            except av.error.FFmpegError as e:
                raise ImageError(self.path, f"the video data is corrupt after {done} frames ({e})") from e
        if done == 0:
            raise ImageError(self.path, "the video stream has no frames that can be decoded")
        if done < self.frame_count - 1:  # a decoder may drop one broken last packet
            raise ImageError(self.path, f"only {done} of {self.frame_count} frames could be decoded (corrupt data)")
