"""Video: colorize a film from references, stable from frame to frame (``exemplar video``).

- :mod:`~exemplar.video.video_reader`, :mod:`~exemplar.video.frame_folder`: frames in (PyAV / image files);
- :mod:`~exemplar.video.flow_propagation`: colour carried along optical flow between keyframes;
- :mod:`~exemplar.video.reference_schedule`: references switched at given times;
- :mod:`~exemplar.video.shots`: shot cuts; :mod:`~exemplar.video.shot_references`: a reference per shot
  chosen from a folder (``--reference-dir``);
- :mod:`~exemplar.video.measures`: flicker, CDC, warp error (the benchmark's);
- :mod:`~exemplar.video.video_writer`, :mod:`~exemplar.video.frame_folder_writer`: resumable, atomic output;
- :mod:`~exemplar.video.video_colorizer`: the whole job; :mod:`~exemplar.video.api`: ``colorize_video``.
"""

# Frames between keyframes are held until the next keyframe (both-way propagation): at 4K about
# 37 MB each (5 MB at 640x360), so the interval is bounded (60 frames: ~2.2 GB at 4K, ~0.3 GB at 640x360).
MAX_KEYFRAME_INTERVAL = 60
