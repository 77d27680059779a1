"""Video: colorize a film from references, stable from frame to frame (``exemplar video``).

- :mod:`~exemplar.video.video_reader`, :mod:`~exemplar.video.frame_folder`: frames in (PyAV / image files);
- :mod:`~exemplar.video.flow_propagation`: colour carried along optical flow between keyframes;
- :mod:`~exemplar.video.reference_schedule`: references switched at given times;
- :mod:`~exemplar.video.video_writer`, :mod:`~exemplar.video.frame_folder_writer`: resumable, atomic output;
- :mod:`~exemplar.video.video_colorizer`: the whole job; :mod:`~exemplar.video.api`: ``colorize_video``.
"""
