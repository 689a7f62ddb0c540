"""Timeline render in pieces (--workers): the same frames and samples for 1 and 2 workers, split
points away from transitions, exact frame count and sound length, resume, a killed ffmpeg retried."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.errors import Interrupted
from shotline.otio_adapters.conform.model import build_conform
from shotline.otio_adapters.conform.parallel import pieces_of, render_parallel, split_points, work_dir_for
from shotline.otio_adapters.conform.render import RenderOptions
from tests.mediakit import audio_samples, read_barcodes
from tests.timeline.conform_util import clip, dissolve, gap, timeline, track


def video_digest(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    n = 0
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            h.update(f.to_ndarray(format="rgb24").tobytes())
            n += 1
    return n, h.hexdigest()


def sound(path: Path) -> np.ndarray:
    return audio_samples(path)


def film(clips) -> otio.schema.Timeline:
    """4.4 s at 25 fps: cuts at 1.0, 2.0 (a dissolve across it), 3.2 s and a gap at the end."""
    a = clips(duration=3, barcode=True, width=160, height=90)
    b = clips(duration=3, barcode=True, width=160, height=90, tone=880)
    tl = timeline()
    v = track(tl)
    v.extend(
        [
            clip(a, 0, 25, media_frames=75),
            clip(b, 5, 25, media_frames=75),
            dissolve(5, 5),
            clip(a, 30, 30, media_frames=75),
            clip(b, 40, 20, media_frames=75),
            gap(10),
        ]
    )
    return tl


def test_split_points_are_cuts_away_from_transitions(clips) -> None:
    conform = build_conform(film(clips), base=Path.cwd())
    assert conform.frames == 110
    points = split_points(conform, piece_seconds=1.0)
    assert points and all(0 < p < 110 for p in points)
    windows = [(d.start, d.end) for t in conform.video for d in t.dissolves]
    assert windows == [(45, 55)]
    assert all(not (s < p < e) for p in points for s, e in windows)  # never inside a transition
    # the cut at 3.2 s is a second from the dissolve: taken; the one at 1.0 s is too close to it
    # and nothing else is near, so that piece ends on a plain frame outside the dissolve
    assert points == [25, 55, 80]
    edges = pieces_of(conform, 1.0)
    assert edges[0][0] == 0 and edges[-1][1] == 110
    assert all(a[1] == b[0] for a, b in zip(edges, edges[1:]))


def test_two_workers_give_the_frames_and_samples_of_one(clips, out) -> None:
    tl = film(clips)
    opts = RenderOptions(smart=False)
    one = render_parallel(tl, out / "one.mp4", opts, workers=1, piece_seconds=1.0)
    seen: list[object] = []
    progress: list = []
    two = render_parallel(
        tl,
        out / "two.mp4",
        opts,
        workers=2,
        piece_seconds=1.0,
        on_piece=seen.append,
        progress=progress.append,
    )
    assert one.frames == two.frames == 110 and two.mode == "parallel"
    n, digest = video_digest(out / "two.mp4")
    assert n == 110 and (n, digest) == video_digest(out / "one.mp4")
    s1, s2 = sound(out / "one.mp4"), sound(out / "two.mp4")
    assert len(s2) == 110 * 48000 // 25 and np.array_equal(s1, s2)
    codes = read_barcodes(out / "two.mp4")
    assert codes[:25] == list(range(0, 25)) and codes[25:40] == list(range(5, 20))
    assert codes[100:] == [0] * 10  # the gap is black
    assert sorted(map(str, seen)) == sorted(["sound", *map(str, range(len(pieces_of(one_conform(tl), 1.0))))])
    assert any("running" in p.label for p in progress) and progress[-1].fraction == 1.0
    assert not work_dir_for(out / "two.mp4").exists()


def one_conform(tl):
    return build_conform(tl, base=Path.cwd())


def test_a_killed_piece_is_run_again_and_an_interrupted_render_resumes(clips, out) -> None:
    tl = film(clips)
    opts = RenderOptions(smart=False)
    ref = out / "ref.mp4"
    render_parallel(tl, ref, opts, workers=1, piece_seconds=1.0)
    # kill one ffmpeg (a worker's process) while it renders: that piece runs again
    dst = out / "killed.mp4"
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 60
        me = str(os.getpid())
        while time.monotonic() < deadline and not killed:
            for d in Path("/proc").iterdir():
                if not d.name.isdigit():
                    continue
                try:
                    stat = (d / "stat").read_text().rsplit(")", 1)[1].split()
                    cmd = (d / "cmdline").read_bytes()
                except (OSError, IndexError):
                    continue
                if stat[1] == me and b"ffmpeg" in cmd and b"piece-" in cmd:
                    os.kill(int(d.name), signal.SIGKILL)
                    killed.append(int(d.name))
                    return
            time.sleep(0.002)

    t = threading.Thread(target=killer, daemon=True)
    t.start()
    seen: list[object] = []
    render_parallel(tl, dst, opts, workers=2, piece_seconds=1.0, on_piece=seen.append)
    t.join()
    assert killed, "no piece's ffmpeg was caught running"
    assert len(seen) == len(set(map(str, seen)))  # each piece recorded once
    assert video_digest(dst) == video_digest(ref) and np.array_equal(sound(dst), sound(ref))
    # cancel after two pieces: they are kept, the rerun resumes and gives the same output
    dst2 = out / "resumed.mp4"
    cancel = threading.Event()
    got: list[object] = []

    def stop_after_two(key: object) -> None:
        got.append(key)
        if len(got) == 2:
            cancel.set()

    with pytest.raises(Interrupted, match="resume"):
        render_parallel(tl, dst2, opts, workers=1, piece_seconds=1.0, on_piece=stop_after_two, cancel=cancel)
    assert not dst2.exists() and work_dir_for(dst2).is_dir()
    again: list[object] = []
    render_parallel(tl, dst2, opts, workers=2, piece_seconds=1.0, on_piece=again.append)
    assert not set(map(str, again)) & set(map(str, got))  # the kept pieces were not rendered again
    assert video_digest(dst2) == video_digest(ref) and np.array_equal(sound(dst2), sound(ref))


def test_cli_workers(clips, out) -> None:
    path = out / "film.otio"
    otio.adapters.write_to_file(film(clips), str(path))
    r = CliRunner().invoke(
        cli, ["timeline", "render", str(path), "-o", str(out / "film.mp4"), "--workers", "2", "--json"]
    )
    assert r.exit_code == 0, r.output
    assert '"mode": "parallel"' in r.output
    assert video_digest(out / "film.mp4")[0] == 110


def test_longer_pieces_are_the_same_run_after_run(clips, out) -> None:
    """Pieces of 100 frames at 320x180: long enough for x264's lookahead to matter (its
    macroblock tree with frame threads made the bits differ from run to run)."""
    srcs = [clips(duration=4, width=320, height=180, tone=300 + 100 * i) for i in range(3)]
    tl = timeline()
    track(tl).extend([clip(s, 0, 100, media_frames=100) for s in srcs])
    opts = RenderOptions(smart=False)
    runs = [
        render_parallel(tl, out / f"r{i}.mp4", opts, workers=w, piece_seconds=4.0)
        for i, w in enumerate((1, 2, 1))
    ]
    assert all(r.frames == 300 for r in runs)
    digests = {video_digest(out / f"r{i}.mp4") for i in range(3)}
    assert len(digests) == 1
    assert np.array_equal(sound(out / "r0.mp4"), sound(out / "r1.mp4"))


def test_an_interrupted_otioz_render_resumes(clips, out) -> None:
    """An .otioz is unpacked into a new folder each run: the pieces still count as the same."""
    from shotline.otio_adapters.bundle import write_otioz

    bundle = out / "film.otioz"
    write_otioz(film(clips), bundle)
    opts = RenderOptions(smart=False)
    dst = out / "film.mp4"
    cancel = threading.Event()
    got: list[object] = []

    def stop_after_two(key: object) -> None:
        got.append(key)
        if len(got) == 2:
            cancel.set()

    with pytest.raises(Interrupted):
        render_parallel(
            bundle, dst, opts, workers=1, piece_seconds=1.0, on_piece=stop_after_two, cancel=cancel
        )
    again: list[object] = []
    r = render_parallel(bundle, dst, opts, workers=2, piece_seconds=1.0, on_piece=again.append)
    assert r.frames == 110 and again and not set(map(str, again)) & set(map(str, got))
