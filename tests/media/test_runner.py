from __future__ import annotations

import threading
from pathlib import Path

import pytest

from shotline.core.errors import FFmpegError, Interrupted, OutputExistsError, UsageError
from shotline.core.media.plan import OUT, Plan, Step, single, work
from shotline.core.media.probe import probe
from shotline.core.media.runner import run


def _encode_plan(src: Path, dst: Path, seconds: float = 1.0) -> Plan:
    return single(
        ["-i", str(src), "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast"],
        dst,
        [src],
        seconds,
        "encode",
    )


def test_runs_and_reports_progress(clips, out: Path):
    src = clips(duration=2.0)
    seen = []
    res = run(_encode_plan(src, out / "a.mp4", 2.0), progress=seen.append)
    assert probe(res.output).duration == pytest.approx(2.0, abs=0.1)
    assert seen and seen[-1].fraction == 1.0
    assert any(p.out_time > 0 for p in seen)
    assert [p.name for p in out.iterdir()] == ["a.mp4"]  # no temp files or work dirs left


def test_refuses_existing_output_and_input(clips, out: Path):
    src = clips()
    dst = out / "a.mp4"
    dst.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError):
        run(_encode_plan(src, dst))
    assert dst.read_bytes() == b"keep me"
    before = src.read_bytes()
    with pytest.raises(UsageError, match="overwrite an input"):
        run(_encode_plan(src, src), overwrite=True)
    assert src.read_bytes() == before
    run(_encode_plan(src, dst), overwrite=True)
    assert probe(dst).has_video


def test_failure_quotes_ffmpeg_and_leaves_nothing(clips, out: Path):
    src = clips()
    plan = single(
        ["-i", str(src), "-vf", "nosuchfilter", "-c:v", "libx264"], out / "b.mp4", [src], 1.0, "bad"
    )
    with pytest.raises(FFmpegError) as exc:
        run(plan)
    assert "nosuchfilter" in str(exc.value)
    assert exc.value.argv and "nosuchfilter" in " ".join(exc.value.argv)
    assert list(out.iterdir()) == []


def test_cancel_removes_partial(clips, out: Path):
    src = clips(duration=2.0)
    cancel = threading.Event()
    slow = single(
        ["-re", "-stream_loop", "-1", "-i", str(src), "-c:v", "libx264", "-preset", "ultrafast"],
        out / "c.mp4",
        [src],
        60.0,
        "slow",
    )

    def on_progress(p):
        if p.out_time > 0.2:
            cancel.set()

    with pytest.raises(Interrupted):
        run(slow, progress=on_progress, cancel=cancel)
    assert list(out.iterdir()) == []


def test_multi_step_with_work_files(clips, out: Path):
    a, b = clips(duration=1.0, tone=440), clips(duration=1.0, tone=660)
    listing = "\n".join(f"file '{p}'" for p in (a, b)) + "\n"
    plan = Plan(
        steps=(
            Step(
                ("-f", "concat", "-safe", "0", "-i", work("list.txt"), "-c", "copy"),
                work("joined.mp4"),
                2.0,
                files=(("list.txt", listing),),
            ),
            Step(("-i", work("joined.mp4"), "-c", "copy"), OUT, 2.0),
        ),
        output=out / "ab.mp4",
        inputs=(a, b),
    )
    lines = plan.commands()
    assert any("<work>/list.txt" in line for line in lines)
    assert lines[-2].endswith("'<work>/joined.mp4'") and lines[-1].endswith(f"'<tmp of {out / 'ab.mp4'}>'")
    run(plan)
    assert probe(out / "ab.mp4").duration == pytest.approx(2.0, abs=0.1)
    assert [p.name for p in out.iterdir()] == ["ab.mp4"]
