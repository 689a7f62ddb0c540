"""Kill the generate process with SIGKILL at random moments, run it again, and audit.

A 30-take Runway batch runs in a process of its own (the real orchestrator, the real
runwayml SDK, the real SQLite ledger) against the local Runway stand-in in this process.
Each run is a fresh process forked from a "zygote" that has already paid the imports, so
20 kills cost seconds, not 20 interpreter start-ups. Runs are SIGKILLed at random points
(start-up, submitting, polling, downloading, writing the ledger), at least 20 times,
then run to the end. Afterwards: every take finished exactly once, no request was
created twice on the server, the ledger agrees with the server and the files, and every
file's checksum is right.

Runway has no idempotency key and no way to list tasks, so a kill that lands between
"the take is marked submitting" and "the ledger recorded the task id" cannot be resolved
by the program: such a take is held as ``uncertain`` (never re-created on its own). The
test then does what docs/providers.md tells a user to do: look at the service (here, the
stand-in's own records), attach a task that exists to its take, and re-run with
--retry-uncertain for the ones that never reached the service.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shotline.core.generate.ledger import Ledger
from tests.generate.servers.base import LocalServer
from tests.generate.servers.fixtures import RUNWAY_KEY
from tests.generate.servers.runway import RunwayApp

ROOT = Path(__file__).resolve().parents[2]
TAKES = 30
KILLS = 20


def spawn(url: str, outdir: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "RUNWAYML_API_SECRET": RUNWAY_KEY, "PYTHONPATH": str(ROOT)}
    env.pop("RUNWAYML_BASE_URL", None)
    cmd = [
        sys.executable,
        "-m",
        "tests.generate.servers.driver",
        url,
        str(outdir),
        "--shots",
        "10",
        "--takes",
        "3",
        "--concurrency",
        "3",
        "--poll",
        "0.03",
        *extra,
    ]
    return subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_to_end(zyg: subprocess.Popen[str], *extra: str) -> dict:
    """One uninterrupted run (a fresh forked process) through the zygote; returns its summary."""
    assert zyg.stdin is not None and zyg.stdout is not None
    zyg.stdin.write(" ".join(("go", *extra)) + "\n")
    zyg.stdin.flush()
    summary = None
    while not (line := zyg.stdout.readline()).startswith("exited"):
        assert line, "the zygote died"
        if line.startswith("{"):
            summary = json.loads(line)
    assert line.split()[2] == "0" and summary is not None, line
    return summary


@pytest.mark.slow
def test_sigkill_anywhere_then_resume(tmp_path: Path) -> None:
    rng = random.Random(3)  # a fixed schedule; the exact kill instants still vary run to run
    outdir = tmp_path / "project"
    app = RunwayApp(RUNWAY_KEY, queue_s=0.05, render_s=0.15)
    with LocalServer(app) as server:
        kills = 0
        # A zygote process loads everything once and forks a fresh batch process per round;
        # each round's process is SIGKILLed at a random moment of its run.
        zyg = spawn(server.url, outdir, "--zygote")
        assert zyg.stdin is not None and zyg.stdout is not None
        assert zyg.stdout.readline().strip() == "loaded"
        try:
            rounds = 0
            while kills < KILLS and rounds < KILLS * 10:  # bounded: a round that outruns its kill is retried
                rounds += 1
                zyg.stdin.write("go\n")
                zyg.stdin.flush()
                pid, ready = 0, False
                while not pid:  # the child may say "ready" before its parent says "pid"
                    line = zyg.stdout.readline()
                    assert line, "the zygote died"
                    if line.startswith("pid "):
                        pid = int(line.split()[1])
                    ready = ready or line.strip() == "ready"
                if rng.random() < 0.15:
                    time.sleep(rng.uniform(0.0, 0.03))  # during start-up: ledger opening, first submits
                else:
                    while not ready:
                        line = zyg.stdout.readline()
                        assert line, "the zygote died"
                        ready = line.strip() == "ready" or line.startswith("{")
                    time.sleep(rng.uniform(0.02, 0.5))
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                while not (line := zyg.stdout.readline()).startswith("exited"):
                    assert line, "the zygote died"
                if line.split()[2] == str(signal.SIGKILL):  # waitpid status: killed by SIGKILL
                    kills += 1
            assert kills >= KILLS
            result = run_to_end(zyg)
            ledger = Ledger(outdir / "ledger.sqlite")
            rows = ledger.takes()
            prompts = {r.id: json.loads(r.request_json)["prompt"] for r in rows}

            # Takes held as uncertain: consult the "dashboard" (the stand-in's records) as a user
            # would. A task that exists is adopted into the ledger (re-polled, not re-created);
            # for the rest nothing reached the service, so --retry-uncertain submits them anew.
            held = [r for r in rows if r.status == "uncertain"]
            adopted = 0
            for r in held:
                existing = app.by_prompt().get(prompts[r.id], [])
                assert len(existing) <= 1
                if existing:
                    ledger.update(
                        r.id,
                        status="submitted",
                        task_id=existing[0].id,
                        event="adopted",
                        detail="found on the service's dashboard",
                    )
                    adopted += 1
            if held:
                result = run_to_end(zyg, "--retry-uncertain")
        finally:
            zyg.stdin.close()
            zyg.wait(timeout=30)
        rows = ledger.takes()
        events = {r.id: [e.event for e in ledger.events(r.id)] for r in rows}
        ledger.close()
        tasks_by_prompt = app.by_prompt()

    # -- audit -----------------------------------------------------------------------
    print(f"{kills} kills, {len(held)} takes held as uncertain ({adopted} adopted), {len(app.tasks)} tasks")
    assert result["statuses"] == ["done"] * TAKES
    assert len(rows) == TAKES and len({(r.shot_id, r.take) for r in rows}) == TAKES
    # No request was ever created twice on the server, and every task belongs to a take.
    assert max(app.creates.values()) == 1, app.creates.most_common(3)
    assert len(app.tasks) == TAKES
    ledger_tasks = [r.task_id for r in rows]
    assert len(set(ledger_tasks)) == TAKES  # one remote task per take
    for r in rows:
        assert r.status == "done", (r.shot_id, r.take, r.status, r.error)
        task = app.tasks[r.task_id or ""]  # the ledger's task exists on the server ...
        assert task.body["promptText"] == prompts[r.id]  # ... and is this take's
        assert [t.id for t in tasks_by_prompt[prompts[r.id]]] == [r.task_id]  # exactly once
        data = (outdir / (r.output_path or "")).read_bytes()
        assert len(data) == r.bytes
        assert hashlib.sha256(data).hexdigest() == r.checksum == task.sha
        assert events[r.id][-1] == "done" and events[r.id].count("done") == 1
    # One file per take, no partial downloads or temp files left behind.
    files = [p for p in (outdir / "shots").rglob("*") if p.is_file()]
    assert sorted(p.suffix for p in files) == [".mp4"] * TAKES
