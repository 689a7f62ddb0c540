"""Segments on several local worker processes: the same output as one worker, resume, a killed worker."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.errors import Interrupted
from shotline.core.media.probe import probe
from shotline.upscale import UpscaleOptions, upscale
from shotline.upscale.pipeline import work_dir_for
from tests.upscale.conftest import needs_weights
from tests.upscale.test_pipeline import audio_bytes, decoded_digest, frame_times

pytestmark = needs_weights

CLIP = dict(width=64, height=36, duration=0.96, rate="25", gop=4)  # 24 frames, 6 segments
LONGER = dict(width=64, height=36, duration=3.0, rate="25", gop=25)  # 75 frames, 3 segments of 1 s


def _tiny_model(tmp_path: Path) -> str:
    """A small x2 network with random weights: real convolutions, fast on one core."""
    import torch

    from shotline.upscale.arch import SRVGGNetCompact

    torch.manual_seed(3)
    pth = tmp_path / "tiny_x2.pth"
    torch.save({"params_ema": SRVGGNetCompact(num_feat=8, num_conv=2, upscale=2).state_dict()}, pth)
    return str(pth)


def test_two_workers_give_the_one_worker_output_frame_for_frame(clips, out, tmp_path) -> None:
    src = clips(**CLIP, audio="stereo")
    one, two = out / "one.mp4", out / "two.mp4"
    r1 = upscale(src, one, UpscaleOptions(segment_seconds=0.1))
    seen: list[int] = []
    progress: list = []
    r2 = upscale(
        src,
        two,
        UpscaleOptions(segment_seconds=0.1, workers=2),
        on_segment=lambda s: seen.append(s.index),
        progress=progress.append,
    )
    assert r1.segments == r2.segments == 6 and r2.frames == 24
    assert sorted(seen) == list(range(6))  # every segment recorded once
    assert decoded_digest(one) == decoded_digest(two)
    assert frame_times(two) == frame_times(src) and audio_bytes(two) == audio_bytes(src)
    assert probe(two).video.frame_count == 24
    # progress is per segment, says what runs and ends complete
    assert progress[-1].frames_done == 24 and progress[-1].segments_done == 6
    assert any(p.running for p in progress) and all(p.workers == 2 for p in progress)
    assert not work_dir_for(two).exists()


def test_a_worker_killed_mid_segment_is_replaced_and_the_output_is_unchanged(clips, out, tmp_path) -> None:
    """SIGKILL to a worker process while it encodes a segment: its segment runs again."""
    from shotline.core.media import cluster

    src = clips(**LONGER, audio="stereo")
    ref = out / "ref.mp4"
    upscale(src, ref, UpscaleOptions(segment_seconds=1))
    dst = out / "killed.mp4"
    work = work_dir_for(dst)
    killed: list[int] = []
    real = cluster.ProcessExecutor.submit

    def spy(self, key):  # the test's hand on the pool: kill a worker once a segment is half-written
        fut = real(self, key)
        if not killed:

            def kill() -> None:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and not killed:
                    if list(work.glob("*.part.mp4")) and self.pids():
                        pid = self.pids()[0]
                        os.kill(pid, signal.SIGKILL)
                        killed.append(pid)
                        return
                    time.sleep(0.001)

            threading.Thread(target=kill, daemon=True).start()
        return fut

    seen: list[int] = []
    mp = pytest.MonkeyPatch()
    mp.setattr(cluster.ProcessExecutor, "submit", spy)
    try:
        report = upscale(
            src, dst, UpscaleOptions(segment_seconds=1, workers=2), on_segment=lambda s: seen.append(s.index)
        )
    finally:
        mp.undo()
    assert killed, "no worker was caught mid-segment"
    assert sorted(seen) == list(range(3)) and report.segments_resumed == 0
    assert decoded_digest(dst) == decoded_digest(ref)
    assert frame_times(dst) == frame_times(src) and audio_bytes(dst) == audio_bytes(src)


def test_cancel_keeps_finished_segments_and_a_rerun_resumes(clips, out, tmp_path) -> None:
    src = clips(**CLIP, audio=None)
    model = _tiny_model(tmp_path)
    ref = out / "ref.mp4"
    upscale(src, ref, UpscaleOptions(model=model, segment_seconds=0.1))
    dst = out / "up.mp4"
    cancel = threading.Event()
    recorded: list[int] = []

    def after_two(seg) -> None:
        recorded.append(seg.index)
        if len(recorded) == 2:
            cancel.set()

    with pytest.raises(Interrupted, match="resume"):
        upscale(
            src,
            dst,
            UpscaleOptions(model=model, segment_seconds=0.1, workers=2),
            on_segment=after_two,
            cancel=cancel,
        )
    assert not dst.exists() and work_dir_for(dst).is_dir()
    manifest = json.loads((work_dir_for(dst) / "manifest.json").read_text())
    assert sorted(int(i) for i in manifest["segments"]) == sorted(recorded)
    assert len(recorded) >= 2
    report = upscale(src, dst, UpscaleOptions(model=model, segment_seconds=0.1, workers=2))
    assert report.segments_resumed == len(recorded) < 6
    assert decoded_digest(dst) == decoded_digest(ref)


def test_cli_workers_and_ray_without_ray(clips, out, tmp_path, monkeypatch) -> None:
    src = clips(**CLIP, audio=None)
    model = _tiny_model(tmp_path)
    r = CliRunner().invoke(
        cli,
        [
            "upscale",
            str(src),
            "-o",
            str(out / "w.mp4"),
            "--model",
            model,
            "--workers",
            "2",
            "--segment-seconds",
            "0.1",
        ],
    )
    assert r.exit_code == 0, r.output
    assert probe(out / "w.mp4").video.frame_count == 24
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *a, **k):
        if name == "ray" or name.startswith("ray."):
            raise ImportError("No module named 'ray'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    r = CliRunner().invoke(
        cli, ["upscale", str(src), "-o", str(out / "r.mp4"), "--model", model, "--ray", "auto"]
    )
    assert r.exit_code == 6 and "pip install 'shotline[ray]'" in r.output
    assert not (out / "r.mp4").exists()


def test_lanczos_in_segments_is_the_same_for_one_and_two_workers(clips, out) -> None:
    """Segments of 12 frames at 320x180: long enough for x264's lookahead to matter (its
    macroblock tree made the bits differ from run to run; the segments encode without it)."""
    src = clips(width=160, height=90, duration=4, rate="24", gop=12, audio="stereo")
    one, two = out / "one.mp4", out / "two.mp4"
    r1 = upscale(src, one, UpscaleOptions(backend="lanczos", scale=2, segment_seconds=0.5, workers=1))
    r2 = upscale(src, two, UpscaleOptions(backend="lanczos", scale=2, segment_seconds=0.5, workers=2))
    assert r1.segments == r2.segments == 8 and r2.engine == "swscale lanczos x2"
    assert (probe(two).video.width, probe(two).video.height) == (320, 180)
    assert decoded_digest(one) == decoded_digest(two)
    assert frame_times(two) == frame_times(src) and audio_bytes(two) == audio_bytes(src)


def _children(pid: int) -> list[int]:
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    kids.append(int(d.name))
            except (OSError, IndexError, ValueError):
                continue
    return kids


def test_the_driver_killed_takes_its_workers_with_it_and_a_rerun_resumes(clips, out) -> None:
    import subprocess
    import sys

    src = clips(**CLIP, audio="stereo")
    ref = out / "ref.mp4"
    upscale(src, ref, UpscaleOptions(segment_seconds=0.1))
    dst = out / "up.mp4"
    manifest = work_dir_for(dst) / "manifest.json"
    cmd = [sys.executable, "-m", "shotline.cli.main", "upscale", str(src), "-o", str(dst)]
    cmd += ["--segment-seconds", "0.1", "--workers", "2"]
    proc = subprocess.Popen(cmd, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            done = len(json.loads(manifest.read_text())["segments"])
        except (OSError, ValueError, KeyError):
            done = 0
        if done >= 1:
            workers = _children(proc.pid)
            proc.kill()
            break
        time.sleep(0.01)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL and workers
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [w for w in workers if Path(f"/proc/{w}").exists()]  # no orphaned worker left running
    report = upscale(src, dst, UpscaleOptions(segment_seconds=0.1, workers=2))
    assert 1 <= report.segments_resumed < 6
    assert decoded_digest(dst) == decoded_digest(ref)
