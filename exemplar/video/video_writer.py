"""``VideoWriter``: encode colorized frames in segments, then join them with the input's audio.

Why segments: a run killed part-way must resume without redoing finished frames, and the
output file must appear only when complete. Frames are encoded into short segment files in
a hidden work folder next to the output (``.NAME.partial/``); a segment counts as done once
its file is closed and renamed. At the end the segments' packets are copied, not re-encoded,
into one file together with the input's audio packets (copied unchanged where the output
container can hold that codec, else re-encoded), and that file replaces OUTPUT in one rename.

Timestamps are frame numbers in a 1/fps time base (constant frame rate), so segments join
without any shifting: every segment's encoder starts from a keyframe and numbers its frames
with their position in the film. Segments are NUT files: a container that keeps any time base
and any codec as it is, with no edit lists.
"""

import heapq
import os
from fractions import Fraction
from pathlib import Path

from exemplar.core.errors import ImageError

# Output extension -> (FFmpeg muxer, video encoder, encoder options, audio codecs it can take as they are).
CONTAINERS = {
    # H.264 at CRF 18 (visually lossless for most content), no B-frames: the segments' packets are then
    # in display order, so they join without reordering delays at the seams.
    ".mp4": ("mp4", "libx264", {"crf": "18", "preset": "veryfast", "bf": "0"},
             {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}),
    ".mov": ("mov", "libx264", {"crf": "18", "preset": "veryfast", "bf": "0"},
             {"aac", "mp3", "alac", "ac3", "eac3", "pcm_s16le", "pcm_s24le"}),
    ".mkv": ("matroska", "libx264", {"crf": "18", "preset": "veryfast", "bf": "0"}, None),  # None: any
    # AVI players expect MPEG-4 Part 2; a fixed quantiser of 2 keeps it close to the frames.
    ".avi": ("avi", "mpeg4", {"qscale": "2"}, {"mp3", "ac3", "pcm_s16le", "mp2", "aac"}),
}
SEGMENT_SUFFIX = ".nut"


class VideoWriter:
    """Write frames of one film into ``work_dir`` segments; :meth:`finish` makes ``output``.

    fps: Fraction frame rate; width, height: frame size in pixels.
    """

    def __init__(self, output, work_dir, fps, width, height):
        import av

        self._av = av
        self.output = Path(output)
        self.format, self.codec, self.options, self.audio_codecs = CONTAINERS[self.output.suffix.lower()]
        self.work_dir = Path(work_dir)
        self.fps = Fraction(fps)
        self.width, self.height = width, height
        self._container = self._stream = self._segment = None

    def segments(self):
        """The finished segment files, in film order."""
        return sorted(self.work_dir.glob(f"segment_*{SEGMENT_SUFFIX}"))

    def discard_from(self, first_frame):
        """Remove segments that start at or after frame ``first_frame`` (resuming from there)."""
        for path in self.segments():
            if int(path.stem.split("_")[1]) >= first_frame:
                path.unlink()
        for path in self.work_dir.glob("*.tmp"):
            path.unlink()

    def start_segment(self, first_frame):
        """Open a new segment whose first frame is frame number ``first_frame`` of the film."""
        av = self._av
        self._segment = self.work_dir / f"segment_{first_frame:09d}{SEGMENT_SUFFIX}"
        self._container = av.open(str(self._segment) + ".tmp", "w", format="nut")
        stream = self._container.add_stream(self.codec, rate=self.fps, options=dict(self.options))
        stream.width, stream.height = self.width, self.height
        # 4:2:0 chroma halves each side; odd sizes keep full chroma instead of losing a column.
        odd = self.width % 2 or self.height % 2
        stream.pix_fmt = "yuv444p" if odd and self.codec == "libx264" else "yuv420p"
        stream.time_base = 1 / self.fps
        stream.codec_context.time_base = 1 / self.fps
        self._stream, self._next_pts = stream, first_frame

    def write(self, rgb):
        """Append one (H, W, 3) uint8 sRGB frame to the open segment."""
        frame = self._av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts, frame.time_base = self._next_pts, 1 / self.fps
        self._next_pts += 1
        self._container.mux(self._stream.encode(frame))

    def end_segment(self):
        """Flush and close the open segment; only now does it count as finished."""
        if self._container is None:
            return
        self._container.mux(self._stream.encode(None))
        self._container.close()
        os.replace(str(self._segment) + ".tmp", self._segment)
        self._container = self._stream = None

    def abort(self):
        """Close an open segment without keeping it (the run stopped)."""
        if self._container is not None:
            try:
                self._container.close()
            except self._av.error.FFmpegError:
                pass
            self._container = None

    def finish(self, overwrite, audio_from=None):
        """Join the segments (and the audio of ``audio_from``, a path) into ``output``, atomically.

        Returns "copied", "re-encoded" or None: what happened to the audio.
        """
        av = self._av
        tmp = self.work_dir / f"joined{self.output.suffix.lower()}"
        inputs = [av.open(str(path)) for path in self.segments()]
        audio_in = av.open(str(audio_from)) if audio_from is not None else None
        audio = None
        try:
            with av.open(str(tmp), "w", format=self.format) as out:
                video = out.add_stream_from_template(inputs[0].streams.video[0])
                video.time_base = 1 / self.fps  # AVI counts frames in its time base: one tick per frame
                streams = [_packets(source, source.streams.video[0], video) for source in inputs]
                if audio_in is not None and audio_in.streams.audio:
                    source = audio_in.streams.audio[0]
                    if self.audio_codecs is None or source.codec_context.name in self.audio_codecs:
                        audio = "copied"
                        streams.append(_packets(audio_in, source, out.add_stream_from_template(source)))
                    else:  # e.g. PCM from an AVI into MP4, which cannot hold it
                        audio = "re-encoded"
                        target = out.add_stream("aac", rate=source.codec_context.sample_rate)
                        target.layout = source.codec_context.layout
                        streams.append(_transcoded(audio_in, source, target))
                # Interleave by time so players need not buffer one stream to reach the other.
                for packet in heapq.merge(*streams, key=_seconds):
                    out.mux(packet)
        except av.error.FFmpegError as e:
            raise ImageError(self.output, f"cannot be written: {e}") from e
        finally:
            for source in inputs + ([audio_in] if audio_in is not None else []):
                source.close()
        if self.output.exists() and not overwrite:
            raise ImageError(self.output, "already exists (use --overwrite to replace it)")
        os.replace(tmp, self.output)
        return audio


def _seconds(packet):
    stamp = packet.dts if packet.dts is not None else packet.pts
    return float(stamp * packet.time_base) if stamp is not None else 0.0


def _packets(container, source, target):
    """Yield ``source``'s packets, re-labelled for output stream ``target`` (copied, not decoded)."""
    for packet in container.demux(source):
        if packet.dts is None and packet.size == 0:  # end-of-stream marker
            continue
        packet.stream = target
        yield packet


def _transcoded(container, source, target):
    """Decode ``source`` audio and yield it re-encoded by output stream ``target``."""
    for frame in container.decode(source):
        frame.pts = None  # the encoder numbers samples itself
        yield from target.encode(frame)
    yield from target.encode(None)
