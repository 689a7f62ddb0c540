"""The generation ledger: one SQLite file per project recording every take.

Why SQLite: a batch of paid generations must survive a crash or SIGKILL at any
instant. Each state change is its own committed transaction (WAL journal,
``synchronous=FULL``), written *before* the action it announces when the action
costs money: a row goes to ``submitting`` before the create call, and gets its
remote task id right after. On the next run the orchestrator reads the row and
re-polls the task instead of paying for it again.

Tables (schema versioned in ``PRAGMA user_version``, upgraded by MIGRATIONS):

* ``takes``: one row per (shot id, take number, request hash): provider, model, kind,
  the request (JSON, no secrets), remote task id, status, attempts, cost estimate and
  actual, output path, SHA-256 checksum and size, timings, error and failure code;
* ``events``: an append-only trail of each take's state changes and remote task ids,
  so "was a task created twice?" has a factual answer;
* ``reviews``: the take review's verdict per take (passed, chosen, score, failures,
  metrics as JSON, the reason shown to the user), written by ``shotline produce``.

Statuses: queued, submitting, submitted, running, downloading, done, failed,
cancelled, uncertain (a create may have reached the service before a crash and the
service cannot tell us; the user decides).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from shotline.core.errors import UsageError

STATUSES = (
    "queued",
    "submitting",
    "submitted",
    "running",
    "downloading",
    "done",
    "failed",
    "cancelled",
    "uncertain",
)
ACTIVE = frozenset({"submitted", "running", "downloading"})  # a remote task exists and may be billing

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
        CREATE TABLE takes (
            id             INTEGER PRIMARY KEY,
            shot_id        TEXT    NOT NULL,
            take           INTEGER NOT NULL,
            provider       TEXT    NOT NULL,
            model          TEXT    NOT NULL,
            kind           TEXT    NOT NULL,
            request_hash   TEXT    NOT NULL,
            request_json   TEXT    NOT NULL,
            task_id        TEXT,
            status         TEXT    NOT NULL DEFAULT 'queued',
            attempts       INTEGER NOT NULL DEFAULT 0,
            cost_estimate  REAL,
            cost_actual    REAL,
            cost_unit      TEXT,
            output_path    TEXT,
            checksum       TEXT,
            bytes          INTEGER,
            created_at     REAL    NOT NULL,
            submitted_at   REAL,
            started_at     REAL,
            finished_at    REAL,
            updated_at     REAL    NOT NULL,
            error          TEXT,
            failure_code   TEXT,
            UNIQUE (shot_id, take, request_hash)
        );
        CREATE INDEX takes_by_status ON takes (status);
        """,
    ),
    (
        2,
        """
        CREATE TABLE events (
            id       INTEGER PRIMARY KEY,
            take_id  INTEGER NOT NULL REFERENCES takes (id),
            at       REAL    NOT NULL,
            event    TEXT    NOT NULL,
            task_id  TEXT,
            detail   TEXT
        );
        CREATE INDEX events_by_take ON events (take_id);
        """,
    ),
    (
        3,
        """
        CREATE TABLE reviews (
            take_id     INTEGER PRIMARY KEY REFERENCES takes (id),
            passed      INTEGER NOT NULL,
            chosen      INTEGER NOT NULL,
            score       REAL,
            failures    TEXT    NOT NULL,
            metrics     TEXT    NOT NULL,
            reason      TEXT    NOT NULL,
            reviewed_at REAL    NOT NULL
        );
        """,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]


@dataclass(frozen=True)
class TakeRow:
    id: int
    shot_id: str
    take: int
    provider: str
    model: str
    kind: str
    request_hash: str
    request_json: str
    task_id: str | None
    status: str
    attempts: int
    cost_estimate: float | None
    cost_actual: float | None
    cost_unit: str | None
    output_path: str | None
    checksum: str | None
    bytes: int | None
    created_at: float
    submitted_at: float | None
    started_at: float | None
    finished_at: float | None
    updated_at: float
    error: str | None
    failure_code: str | None

    @property
    def elapsed(self) -> float | None:
        if self.submitted_at is None:
            return None
        return (self.finished_at or time.time()) - self.submitted_at

    @property
    def cost(self) -> float | None:
        """What the take cost: the service's figure when it gave one, else the estimate."""
        return self.cost_actual if self.cost_actual is not None else self.cost_estimate

    @property
    def request(self) -> dict[str, Any]:
        """The request as recorded (no secrets); {} when it cannot be read."""
        import json

        try:
            value = json.loads(self.request_json)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @property
    def seed(self) -> int | None:
        seed = self.request.get("seed")
        return seed if isinstance(seed, int) else None


@dataclass(frozen=True)
class ReviewRow:
    take_id: int
    shot_id: str
    take: int
    passed: bool
    chosen: bool
    score: float | None
    failures: tuple[str, ...]
    metrics: dict[str, Any]
    reason: str


@dataclass(frozen=True)
class Event:
    take_id: int
    at: float
    event: str
    task_id: str | None
    detail: str | None


_COLUMNS = [f.name for f in fields(TakeRow)]
_UPDATABLE = frozenset(_COLUMNS) - {"id", "shot_id", "take", "request_hash", "created_at"}


class Ledger:
    """A project's ledger. Thread-safe within a process; several processes may share the file."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        """Open (and migrate) a ledger; ``readonly`` opens an existing one for reading and never
        writes to it, not even a migration (readers such as ``timeline build --ledger``)."""
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            if readonly:
                self._db = sqlite3.connect(
                    f"{self.path.resolve().as_uri()}?mode=ro",
                    uri=True,
                    timeout=30.0,
                    isolation_level=None,
                    check_same_thread=False,
                )
            else:
                self._db = sqlite3.connect(
                    str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
                )
        except sqlite3.Error as exc:
            raise UsageError(f"{self.path}: cannot open the ledger ({exc})") from None
        if readonly:
            try:
                self._db.execute("PRAGMA busy_timeout = 30000")
                if self.schema_version > SCHEMA_VERSION:
                    raise UsageError(
                        f"{self.path}: ledger schema {self.schema_version} is newer than this shotline "
                        f"knows ({SCHEMA_VERSION}); upgrade shotline"
                    )
            except sqlite3.DatabaseError as exc:
                self._db.close()
                raise UsageError(f"{self.path}: not a shotline ledger ({exc})") from None
            return
        try:
            self._db.execute("PRAGMA busy_timeout = 30000")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network filesystem
                raise UsageError(f"{self.path}: SQLite could not use WAL here (got {mode})")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise UsageError(f"{self.path}: not a shotline ledger ({exc})") from None

    # -- housekeeping

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        with self._tx():
            current = self.schema_version
            if current > SCHEMA_VERSION:
                raise UsageError(
                    f"{self.path}: ledger schema {current} is newer than this shotline knows "
                    f"({SCHEMA_VERSION}); upgrade shotline"
                )
            for version, script in MIGRATIONS:
                if version > current:
                    for statement in script.split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {version}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: committed when the block ends, rolled back on error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- reading

    def _row(self, cursor: sqlite3.Cursor) -> TakeRow | None:
        r = cursor.fetchone()
        return TakeRow(*r) if r else None

    def get(self, take_id: int) -> TakeRow:
        with self._lock:
            row = self._row(
                self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM takes WHERE id = ?", (take_id,))
            )
        if row is None:
            raise KeyError(take_id)
        return row

    def find(self, shot_id: str, take: int, request_hash: str) -> TakeRow | None:
        with self._lock:
            return self._row(
                self._db.execute(
                    f"SELECT {', '.join(_COLUMNS)} FROM takes WHERE shot_id = ? AND take = ? AND request_hash = ?",
                    (shot_id, take, request_hash),
                )
            )

    def takes(self, shot_id: str | None = None, status: str | None = None) -> list[TakeRow]:
        sql = f"SELECT {', '.join(_COLUMNS)} FROM takes"
        where, args = [], []
        if shot_id is not None:
            where.append("shot_id = ?")
            args.append(shot_id)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            return [TakeRow(*r) for r in self._db.execute(sql + " ORDER BY shot_id, take, id", args)]

    def events(self, take_id: int | None = None) -> list[Event]:
        sql = "SELECT take_id, at, event, task_id, detail FROM events"
        args: tuple[Any, ...] = ()
        if take_id is not None:
            sql += " WHERE take_id = ?"
            args = (take_id,)
        with self._lock:
            return [Event(*r) for r in self._db.execute(sql + " ORDER BY id", args)]

    def record_review(
        self,
        take_id: int,
        *,
        passed: bool,
        chosen: bool,
        score: float | None,
        failures: list[str],
        metrics: dict[str, Any],
        reason: str,
    ) -> None:
        """Store (or replace) the review verdict of one take."""
        import json

        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO reviews (take_id, passed, chosen, score, failures, metrics, reason, "
                "reviewed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    take_id,
                    int(passed),
                    int(chosen),
                    score,
                    json.dumps(failures),
                    json.dumps(metrics),
                    reason,
                    time.time(),
                ),
            )

    def reviews(self, shot_id: str | None = None) -> list[ReviewRow]:
        import json

        sql = (
            "SELECT r.take_id, t.shot_id, t.take, r.passed, r.chosen, r.score, r.failures, r.metrics, r.reason "
            "FROM reviews r JOIN takes t ON t.id = r.take_id"
        )
        args: tuple[Any, ...] = ()
        if shot_id is not None:
            sql += " WHERE t.shot_id = ?"
            args = (shot_id,)
        with self._lock:
            rows = list(self._db.execute(sql + " ORDER BY t.shot_id, t.take", args))
        return [
            ReviewRow(
                r[0],
                r[1],
                r[2],
                bool(r[3]),
                bool(r[4]),
                r[5],
                tuple(json.loads(r[6])),
                json.loads(r[7]),
                r[8],
            )
            for r in rows
        ]

    def output_file(self, row: TakeRow) -> Path | None:
        """A take's output as a path: relative paths are relative to the ledger's folder."""
        if not row.output_path:
            return None
        p = Path(row.output_path)
        return p if p.is_absolute() else self.path.resolve().parent / p

    def latest_done(self, shot_id: str) -> list[TakeRow]:
        """Finished takes of a shot, newest first (what a timeline picks from)."""
        rows = [r for r in self.takes(shot_id, "done")]
        return sorted(rows, key=lambda r: (r.finished_at or 0, r.id), reverse=True)

    # -- writing

    def ensure(
        self,
        *,
        shot_id: str,
        take: int,
        provider: str,
        model: str,
        kind: str,
        request_hash: str,
        request_json: str,
        cost_estimate: float | None,
        cost_unit: str | None,
    ) -> TakeRow:
        """The row for this exact request, created as 'queued' if it is new."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO takes (shot_id, take, provider, model, kind, request_hash, request_json,"
                " cost_estimate, cost_unit, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    shot_id,
                    take,
                    provider,
                    model,
                    kind,
                    request_hash,
                    request_json,
                    cost_estimate,
                    cost_unit,
                    now,
                    now,
                ),
            )
        row = self.find(shot_id, take, request_hash)
        assert row is not None
        return row

    def update(
        self, take_id: int, *, event: str | None = None, detail: str | None = None, **values: Any
    ) -> TakeRow:
        """Set columns of one take (and log an event) in one committed transaction."""
        bad = set(values) - _UPDATABLE
        if bad:
            raise ValueError(f"not updatable: {sorted(bad)}")
        status = values.get("status")
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        values["updated_at"] = time.time()
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as db:
            cur = db.execute(f"UPDATE takes SET {sets} WHERE id = ?", (*values.values(), take_id))
            if cur.rowcount != 1:
                raise KeyError(take_id)
            if event is not None:
                task = db.execute("SELECT task_id FROM takes WHERE id = ?", (take_id,)).fetchone()[0]
                db.execute(
                    "INSERT INTO events (take_id, at, event, task_id, detail) VALUES (?,?,?,?,?)",
                    (take_id, values["updated_at"], event, task, detail),
                )
        return self.get(take_id)

    def begin_submit(self, take_id: int) -> TakeRow:
        """Mark a create as about to be sent: committed before the network call."""
        row = self.get(take_id)
        return self.update(
            take_id,
            status="submitting",
            task_id=None,
            attempts=row.attempts + 1,
            error=None,
            failure_code=None,
            event="submitting",
        )

    def task_created(self, take_id: int, task_id: str) -> TakeRow:
        """Record the remote task id right after the create call returned it."""
        return self.update(
            take_id, status="submitted", task_id=task_id, submitted_at=time.time(), event="created"
        )
