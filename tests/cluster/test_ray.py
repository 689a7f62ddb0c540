"""The same segments as Ray tasks on a local Ray instance (2 CPUs, no dashboard), real code end to end:
output equal to one local worker, a killed Ray worker's task runs again, a killed driver resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from shotline.upscale import UpscaleOptions, upscale
from shotline.upscale.pipeline import work_dir_for
from tests.upscale.conftest import needs_weights
from tests.upscale.test_pipeline import audio_bytes, decoded_digest, frame_times

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'shotline[ray]')")
pytestmark = pytest.mark.ray

CLIP = dict(width=64, height=36, duration=0.96, rate="25", gop=4)  # 24 frames, 6 segments of 0.16 s
LONGER = dict(width=64, height=36, duration=3.0, rate="25", gop=25)  # 75 frames, 3 segments of 1 s


@pytest.fixture(scope="module")
def cluster_address():
    """A private Ray head for this module: 2 CPUs, no dashboard, its own temp folder; shut down after."""
    temp = tempfile.mkdtemp(prefix="ray-t")
    ctx = ray.init(
        num_cpus=2,
        include_dashboard=False,
        _temp_dir=temp,
        logging_level="WARNING",
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        yield ctx.address_info["gcs_address"]
    finally:
        ray.shutdown()


def _ray_task_pids(name: str) -> list[int]:
    """Worker processes of this machine running a task of ``name`` now (Ray titles them ray::NAME)."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if cmd.startswith(f"ray::{name}".encode()):
            pids.append(int(d.name))
    return pids


@needs_weights
def test_upscale_on_ray_equals_one_worker(cluster_address, clips, out) -> None:
    src = clips(**CLIP, audio="stereo")
    one, on_ray = out / "one.mp4", out / "ray.mp4"
    upscale(src, one, UpscaleOptions(segment_seconds=0.1))
    seen: list[int] = []
    report = upscale(
        src,
        on_ray,
        UpscaleOptions(segment_seconds=0.1, ray=cluster_address),
        on_segment=lambda s: seen.append(s.index),
    )
    assert report.segments == 6 and sorted(seen) == list(range(6))
    assert decoded_digest(on_ray) == decoded_digest(one)
    assert frame_times(on_ray) == frame_times(src) and audio_bytes(on_ray) == audio_bytes(src)
    assert not work_dir_for(on_ray).exists()


@needs_weights
def test_a_ray_worker_killed_mid_segment_is_retried_and_the_output_is_unchanged(
    cluster_address, clips, out
) -> None:
    src = clips(**LONGER, audio="stereo")
    ref = out / "ref.mp4"
    upscale(src, ref, UpscaleOptions(segment_seconds=1))
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            pids = _ray_task_pids("_ray_segment")
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
                return
            time.sleep(0.002)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    seen: list[int] = []
    dst = out / "killed.mp4"
    upscale(
        src,
        dst,
        UpscaleOptions(segment_seconds=1, ray=cluster_address),
        on_segment=lambda s: seen.append(s.index),
    )
    t.join()
    assert killed, "no Ray worker was caught running a segment"
    assert sorted(seen) == [0, 1, 2]  # recorded exactly once each
    assert decoded_digest(dst) == decoded_digest(ref)
    assert frame_times(dst) == frame_times(src) and audio_bytes(dst) == audio_bytes(src)


@needs_weights
def test_the_driver_killed_and_rerun_resumes(cluster_address, clips, out) -> None:
    src = clips(**CLIP, audio="stereo")
    ref = out / "ref.mp4"
    upscale(src, ref, UpscaleOptions(segment_seconds=0.1))
    dst = out / "up.mp4"
    manifest = work_dir_for(dst) / "manifest.json"
    cmd = [sys.executable, "-m", "shotline.cli.main", "upscale", str(src), "-o", str(dst)]
    cmd += ["--segment-seconds", "0.1", "--ray", cluster_address, "--workers", "1"]
    proc = subprocess.Popen(cmd, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    recorded = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            recorded = len(json.loads(manifest.read_text())["segments"])
        except (OSError, ValueError, KeyError):
            recorded = 0
        if recorded >= 1:
            proc.kill()
            break
        time.sleep(0.01)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode() if proc.stderr else ""
    assert not dst.exists()
    report = upscale(src, dst, UpscaleOptions(segment_seconds=0.1, ray=cluster_address))
    assert 1 <= report.segments_resumed < 6
    assert decoded_digest(dst) == decoded_digest(ref)
    assert frame_times(dst) == frame_times(src) and audio_bytes(dst) == audio_bytes(src)


def test_timeline_render_on_ray_equals_one_worker(cluster_address, clips, out) -> None:
    import numpy as np

    from shotline.otio_adapters.conform.parallel import render_parallel
    from shotline.otio_adapters.conform.render import RenderOptions
    from tests.timeline.test_conform_parallel import film, sound, video_digest

    tl = film(clips)
    opts = RenderOptions(smart=False)
    render_parallel(tl, out / "one.mp4", opts, workers=1, piece_seconds=1.0)
    seen: list[object] = []
    r = render_parallel(
        tl, out / "ray.mp4", opts, ray_address=cluster_address, piece_seconds=1.0, on_piece=seen.append
    )
    assert r.frames == 110 and len(seen) == len(set(map(str, seen)))
    assert video_digest(out / "ray.mp4") == video_digest(out / "one.mp4")
    assert np.array_equal(sound(out / "ray.mp4"), sound(out / "one.mp4"))


ONE_SHOT = "title: {title}\noutput: {{width: 160, height: 90, fps: 25}}\nshots:\n  - {{id: only, prompt: {prompt}, camera: static, duration: 1}}\n"


def test_produce_several_storyboards_on_ray_each_resumable(cluster_address, tmp_path) -> None:
    from click.testing import CliRunner

    from shotline.cli.main import cli
    from shotline.core.media.probe import probe

    a, b = tmp_path / "alpha.yaml", tmp_path / "beta.yaml"
    a.write_text(ONE_SHOT.format(title="Alpha", prompt="a test card"), encoding="utf-8")
    b.write_text(ONE_SHOT.format(title="Beta", prompt="a calm sea"), encoding="utf-8")
    films = tmp_path / "films"
    args = ["produce", str(a), str(b), "-o", str(films), "--ray", cluster_address, "--json"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    results = json.loads(r.output)
    assert [Path(x["outdir"]).name for x in results] == ["alpha-out", "beta-out"]
    for name in ("alpha-out", "beta-out"):
        master = probe(films / name / "master.mp4")
        assert master.video is not None and master.video.frame_count == 25
        state = json.loads((films / name / ".shotline" / "produce-state.json").read_text())
        assert state["stages"]["render"]["info"]["mode"] == "parallel"  # the pieces went through Ray
    # each project resumes on its own: remove one's master, rerun both: only that one renders again
    (films / "beta-out" / "master.mp4").unlink()
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    lines = {
        Path(x["outdir"]).name: {s["stage"]: s["action"] for s in x["result"]["stages"]}
        for x in json.loads(r.output)
    }
    assert lines["alpha-out"]["render"] == "skip" and lines["beta-out"]["render"] == "run"
    assert lines["alpha-out"]["generate"] == lines["beta-out"]["generate"] == "skip"


@needs_weights
def test_cancel_stops_the_outstanding_ray_tasks_and_keeps_finished_segments(
    cluster_address, clips, out
) -> None:
    from shotline.core.errors import Interrupted

    src = clips(**LONGER, audio=None)
    dst = out / "up.mp4"
    cancel = threading.Event()
    recorded: list[int] = []

    def first(seg) -> None:
        recorded.append(seg.index)
        cancel.set()

    with pytest.raises(Interrupted, match="resume"):
        upscale(
            src, dst, UpscaleOptions(segment_seconds=1, ray=cluster_address), on_segment=first, cancel=cancel
        )
    deadline = time.monotonic() + 30
    while _ray_task_pids("_ray_segment") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _ray_task_pids("_ray_segment")  # nothing left running on the cluster
    kept = json.loads((work_dir_for(dst) / "manifest.json").read_text())["segments"]
    assert sorted(int(i) for i in kept) == sorted(recorded) and len(recorded) >= 1
    report = upscale(src, dst, UpscaleOptions(segment_seconds=1, ray=cluster_address))
    assert report.segments_resumed == len(recorded)
