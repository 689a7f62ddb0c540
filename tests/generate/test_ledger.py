from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shotline.core.errors import UsageError
from shotline.core.generate.ledger import MIGRATIONS, SCHEMA_VERSION, Ledger


def new_take(led: Ledger, shot: str = "s1", take: int = 1, h: str = "abc") -> int:
    return led.ensure(
        shot_id=shot,
        take=take,
        provider="local",
        model="animatic",
        kind="text-to-video",
        request_hash=h,
        request_json="{}",
        cost_estimate=1.5,
        cost_unit="credits",
    ).id


def test_schema_wal_and_take_lifecycle(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as led:
        assert led.schema_version == SCHEMA_VERSION == 3
        tid = new_take(led)
        assert new_take(led) == tid  # same request: same row
        assert new_take(led, h="other") != tid  # edited shot: a new row, the old one kept
        row = led.begin_submit(tid)
        assert (row.status, row.attempts, row.task_id) == ("submitting", 1, None)
        row = led.task_created(tid, "task-1")
        assert (row.status, row.task_id) == ("submitted", "task-1") and row.submitted_at
        led.update(
            tid, status="done", output_path="shots/s1/a.mp4", checksum="f" * 64, bytes=10, event="done"
        )
        with pytest.raises(ValueError, match="unknown status"):
            led.update(tid, status="finished")
        with pytest.raises(ValueError, match="not updatable"):
            led.update(tid, shot_id="x")
        assert [e.event for e in led.events(tid)] == ["submitting", "created", "done"]
        assert led.events(tid)[1].task_id == "task-1"
        assert [r.id for r in led.latest_done("s1")] == [tid]
    # another connection (another process, after a crash) sees every committed change
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("SELECT status, task_id, attempts FROM takes WHERE id = ?", (tid,)).fetchone() == (
        "done",
        "task-1",
        1,
    )
    db.close()


def test_migrates_an_old_ledger_and_refuses_a_newer_one(tmp_path: Path) -> None:
    old = tmp_path / "v1.sqlite"
    db = sqlite3.connect(old)
    db.executescript(MIGRATIONS[0][1])
    db.execute(
        "INSERT INTO takes (shot_id, take, provider, model, kind, request_hash, request_json, created_at, updated_at)"
        " VALUES ('a', 1, 'local', 'animatic', 'text-to-video', 'h', '{}', 0, 0)"
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    with Ledger(old) as led:
        assert led.schema_version == 3
        row = led.takes()[0]
        assert row.shot_id == "a"
        led.update(row.id, status="queued", event="migrated")  # the new events table works
        assert led.events(row.id)[0].event == "migrated"

    newer = tmp_path / "v9.sqlite"
    db = sqlite3.connect(newer)
    db.execute("PRAGMA user_version = 9")
    db.close()
    with pytest.raises(UsageError, match="schema 9 is newer"):
        Ledger(newer)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(UsageError, match="junk.sqlite: not a shotline ledger"):
        Ledger(junk)


def test_readonly_open_never_migrates_or_writes(tmp_path):
    old = tmp_path / "v1.sqlite"
    db = sqlite3.connect(old)
    db.executescript(MIGRATIONS[0][1])
    db.execute(
        "INSERT INTO takes (shot_id, take, provider, model, kind, request_hash, request_json, created_at, updated_at)"
        " VALUES ('a', 1, 'local', 'animatic', 'text-to-video', 'h', '{\"seed\": 7, \"prompt\": \"p\"}', 0, 0)"
    )
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    before = old.read_bytes()
    with Ledger(old, readonly=True) as led:
        row = led.takes()[0]
        assert (row.seed, row.request["prompt"], row.cost) == (7, "p", None)
        assert led.schema_version == 1
    assert old.read_bytes() == before
