"""Nothing claimed twice, nothing left behind: real shotline processes racing for one output,
killed with SIGKILL, and stopped by a Ctrl-C to their process group while ignoring SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shotline.core.media.probe import probe

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def start(*args: str | Path, **kw: object) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "shotline.cli.main", *map(str, args)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)  # type: ignore[call-overload]


def ffmpegs_writing_in(folder: Path) -> list[int]:
    """Pids of the processes whose command line names a path in ``folder``, other than shotline's."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and b"ffmpeg" in Path(argv[0].decode(errors="replace")).name.encode():
            if any(str(folder).encode() in a for a in argv):
                pids.append(int(entry.name))
    return pids


def wait_for(pred, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def slow_source(clips) -> Path:
    """A clip whose motion-interpolated slow motion keeps ffmpeg busy for many seconds."""
    return clips(duration=4.0, width=640, height=360)


def slow_job(src: Path, output: Path) -> list[str | Path]:
    return ["speed", src, "--factor", "0.5", "--smooth", "mci", "-o", output]


def test_two_writers_one_output_the_second_fails_cleanly(clips, out: Path):
    src = clips(duration=3.0, width=640, height=360)
    target = out / "out.mp4"
    procs = [
        start("trim", src, "--mode", "exact", "--start", "0", "--end", end, "-o", target, "--json")
        for end in ("1.0", "2.0")
    ]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(rc for rc, _, _ in results)
    assert codes == [0, 2], results
    loser = next(err for rc, _, err in results if rc == 2)
    assert "already exists" in loser and len(loser.strip().splitlines()) == 1
    winner = next(stdout for rc, stdout, _ in results if rc == 0)
    import json

    assert probe(target).duration == pytest.approx(json.loads(winner)["media"]["duration"], abs=0.05)
    assert sorted(p.name for p in out.iterdir()) == ["out.mp4"]  # no temporary file left


def test_two_frame_extractions_into_one_folder(clips, out: Path):
    a, b = clips(duration=2.0, source="color=c=red"), clips(duration=2.0, source="color=c=blue")
    procs = [start("frames", "extract", src, "-o", out / "frames") for src in (a, b)]
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    assert sorted(rc for rc, _, _ in results) == [0, 2], results
    assert sorted(p.name for p in out.iterdir()) == ["frames"]


def test_sigkill_leaves_no_ffmpeg_and_the_next_run_cleans_up(slow_source: Path, out: Path):
    target = out / "slow.mp4"
    proc = start(*slow_job(slow_source, target))
    assert wait_for(lambda: any(p.name.endswith(".part.mp4") for p in out.iterdir())), proc.communicate()
    assert wait_for(lambda: ffmpegs_writing_in(out))
    time.sleep(0.5)
    proc.kill()  # SIGKILL to shotline alone: its ffmpeg must not write on
    proc.wait()
    assert wait_for(lambda: not ffmpegs_writing_in(out), timeout=10), "ffmpeg outlived its parent"
    leftovers = [p.name for p in out.iterdir()]
    assert leftovers and not target.exists()  # a dead writer's temporary files, nothing at the output
    # the next run beside the same output removes them (their owner is dead) and succeeds
    proc = start("trim", slow_source, "--start", "0", "--end", "0.5", "-o", target)
    assert proc.wait(timeout=300) == 0, proc.communicate()
    assert sorted(p.name for p in out.iterdir()) == ["slow.mp4"]


def test_ctrl_c_to_the_group_while_sigint_is_ignored_is_an_interruption(slow_source: Path, out: Path):
    def background_job() -> None:  # what a shell does to a script's `cmd &`
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    proc = start(*slow_job(slow_source, out / "slow.mp4"), preexec_fn=background_job, start_new_session=True)
    assert wait_for(lambda: ffmpegs_writing_in(out)), proc.communicate()
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole group: only ffmpeg acts on it
    rc = proc.wait(timeout=60)
    _, err = proc.communicate()
    assert rc == 130, err
    assert "interrupted" in err and list(out.iterdir()) == []


def test_only_this_hosts_dead_writers_are_swept(tmp_path: Path):
    from shotline.core.media.runner import owner_tag, sweep_dead

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)  # a process that has exited
    host = owner_tag().partition("-")[2]
    other = "0000" if host != "0000" else "ffff"
    mine = tmp_path / f".film.{pid}-{host}abc.part.mp4"
    theirs = tmp_path / f".film.{pid}-{other}abc.part.mp4"  # a shared folder: another machine's writer
    live = tmp_path / f".film.{owner_tag()}abc.work"
    for p in (mine, theirs):
        p.write_bytes(b"half")
    live.mkdir()
    assert sweep_dead(tmp_path / "film.mp4") == [mine]
    assert theirs.exists() and live.exists() and not mine.exists()
