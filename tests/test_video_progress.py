"""``exemplar video``'s progress line: no speed until there is one to show."""

from exemplar.cli import video as video_command


def test_progress_shows_no_rate_until_a_second_frame_is_done(monkeypatch, capsys):
    clock = iter([100.0, 100.0 + 1e-9, 102.0])  # a second frame 1 ns after the first, then 2 s later
    monkeypatch.setattr(video_command.time, "perf_counter", lambda: next(clock))
    progress = video_command.Progress()
    progress(1, 10)  # the first frame starts the clock: nothing to measure yet
    first = capsys.readouterr().err
    assert "1/10 frames" in first and "frames/s" not in first and "left" not in first
    progress(2, 10)  # within a quarter second: not redrawn
    assert capsys.readouterr().err == ""
    progress(5, 10)  # 4 frames in 2 s since the first was done
    assert "2.0 frames/s" in capsys.readouterr().err
