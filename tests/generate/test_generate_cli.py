"""The CLI end to end, in subprocesses where signals matter (SIGINT, SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.media.probe import probe
from shotline.core.vocab import file_checksum as file_sha256

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "storyboard.yaml"


def test_check_prints_prompts_plan_and_cost() -> None:
    r = CliRunner().invoke(cli, ["storyboard", "check", str(EXAMPLE)])
    assert r.exit_code == 0, r.output
    assert "Harbour at Dawn: 7 shots" in r.output
    assert "Mara (a woman in her thirties" in r.output  # character description resolved into the prompt
    assert "camera trucks left" in r.output and "estimated cost: 0 credits" in r.output
    j = CliRunner().invoke(cli, ["storyboard", "check", str(EXAMPLE), "--json"])
    doc = json.loads(j.output)
    assert len(doc["shots"]) == 7 and doc["deliver"] == ["youtube-shorts", "instagram-square"]
    kinds = [(p["shot"], p["kind"]) for p in doc["plan"]]
    assert ("boats", "sound-effect") in kinds and ("_music", "sound-effect") in kinds
    assert len({s["camera"] for s in doc["shots"]}) >= 5  # mixed camera moves
    assert len({s["transition"]["type"] for s in doc["shots"]}) >= 4  # mixed transitions


def test_bad_storyboard_exits_2_naming_shot_and_field(tmp_path: Path) -> None:
    sb = tmp_path / "bad.yaml"
    sb.write_text("shots:\n  - id: a\n    prompt: x\n    duration: zero\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["generate", str(sb), "-o", str(tmp_path / "o")])
    assert r.exit_code == 2
    assert "shot 'a' (#1) duration: must be a number" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def write_board(tmp: Path, shots: int, duration: float = 0.5) -> Path:
    lines = ["output: {width: 96, height: 54, fps: 24}", "shots:"]
    cams = ["pan left", "tilt up", "dolly in", "orbit right", "handheld", "crane up", "zoom out", "roll cw"]
    for i in range(shots):
        lines.append(
            f"  - {{id: 'shot {i:02d}', prompt: 'scene {i}', camera: '{cams[i % 8]}', duration: {duration}}}"
        )
    path = tmp / "board é.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_dry_run_writes_nothing_and_json_run(tmp_path: Path) -> None:
    sb = write_board(tmp_path, 2)
    r = CliRunner().invoke(cli, ["generate", str(sb), "-o", str(tmp_path / "o"), "--dry-run"])
    assert r.exit_code == 0, r.output
    assert "new  shot 00" in r.output and "estimated cost: 0 credits" in r.output
    assert not (tmp_path / "o").exists()
    r = CliRunner().invoke(cli, ["generate", str(sb), "-o", str(tmp_path / "o"), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert [t["status"] for t in doc["takes"]] == ["done", "done"]
    for t in doc["takes"]:
        assert file_sha256(Path(t["output"])) == t["checksum"]
        assert (
            "shot_00" in t["output"] or "shot_01" in t["output"]
        )  # the space in the id never reaches a path
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text(encoding="utf-8"))
    assert [t["shot"] for t in manifest["takes"]] == ["shot 00", "shot 01"]
    r = CliRunner().invoke(cli, ["generate", str(sb), "-o", str(tmp_path / "o"), "--dry-run"])
    assert "done shot 00" in r.output and "(2 already done)" in r.output


def done_rows(ledger: Path) -> dict[int, tuple[str, str, float]]:
    if not ledger.exists():
        return {}
    try:
        db = sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=5)
        try:
            rows = db.execute(
                "SELECT id, checksum, output_path, updated_at FROM takes WHERE status = 'done'"
            ).fetchall()
        finally:
            db.close()
    except sqlite3.OperationalError:  # tables not created yet
        return {}
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def spawn(sb: Path, out: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shotline.cli.main",
            "generate",
            str(sb),
            "-o",
            str(out),
            "--concurrency",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def test_ctrl_c_and_sigkill_at_any_point_resume_without_loss_or_duplicates(tmp_path: Path) -> None:
    sb = write_board(tmp_path, 8, duration=0.5)
    out = tmp_path / "o"
    ledger = out / "ledger.sqlite"
    finished_before: dict[int, tuple[str, str, float]] = {}
    kills = 0
    for target, sig in ((1, signal.SIGINT), (3, signal.SIGKILL), (5, signal.SIGKILL)):
        proc = spawn(sb, out)
        deadline = time.monotonic() + 120
        while len(done_rows(ledger)) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is None:
            proc.send_signal(sig)
            kills += 1
        _, err = proc.communicate(timeout=60)
        if sig == signal.SIGINT and proc.returncode != 0:
            assert proc.returncode == 130 and b"interrupted" in err
        now = done_rows(ledger)
        # a finished take is never touched again by a later run
        for rid, value in finished_before.items():
            assert now[rid] == value
        finished_before = now
    assert kills >= 2  # the run was really cut short, more than once
    assert len(finished_before) < 8
    proc = spawn(sb, out)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()
    db = sqlite3.connect(ledger)
    rows = db.execute("SELECT id, status, checksum, output_path, task_id FROM takes").fetchall()
    assert len(rows) == 8 and {r[1] for r in rows} == {"done"}
    for rid, _status, checksum, output, task_id in rows:
        assert file_sha256(Path(output)) == checksum
        assert probe(Path(output)).video.frame_count == 12  # type: ignore[union-attr]
        # one task per take: every create or lookup of this take names the same task
        ids = {
            t
            for (t,) in db.execute(
                "SELECT task_id FROM events WHERE take_id = ? AND event IN ('created', 'found')", (rid,)
            )
        }
        assert ids == {task_id}
    for rid, value in finished_before.items():
        assert done_rows(ledger)[rid] == value
    db.close()
    leftovers = [p for p in out.rglob("*") if ".part" in p.name]
    assert leftovers == []


def test_live_view_table_shows_every_take_with_state_and_elapsed(tmp_path: Path) -> None:
    from rich.console import Console

    from shotline.cli.generate import LiveView
    from shotline.core.generate.orchestrator import Orchestrator, TakeView
    from shotline.core.generate.storyboard import load_storyboard

    sb = load_storyboard(write_board(tmp_path, 3))
    orch = Orchestrator(tmp_path / "o")
    plans = orch.plan(sb)
    orch.close()
    view = LiveView(plans, enabled=False)
    view.update(TakeView(plans[0].key, "local", "running", time.monotonic() - 2.0, None, "RUNNING 40%"))
    view.update(TakeView(plans[1].key, "local", "failed", time.monotonic() - 5.0, time.monotonic(), "boom"))
    console = Console(record=True, width=120)
    console.print(view._table())
    text = console.export_text()
    assert "shot 00" in text and "running" in text and "RUNNING 40%" in text and "2.0 s" in text
    assert "failed" in text and "boom" in text
    assert "queued: 1" in text and "running: 1" in text and "failed: 1" in text
