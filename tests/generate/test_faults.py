"""Fault injection: what the real clients do when the network or the service misbehaves.

The rule under test everywhere: a create is repeated only when the service cannot have
acted on it; anything else is reported as ``maybe_created`` so nobody pays twice.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from shotline.core.generate.providers.base import ShotKind, TaskState
from shotline.core.generate.providers.http import RemoteError, RetryPolicy, download, parse_retry_after
from shotline.core.generate.providers.luma import LumaProvider
from shotline.core.generate.providers.runway import RunwayProvider
from tests.generate.servers import fixtures
from tests.generate.servers.base import LocalServer
from tests.generate.servers.fixtures import make_req, wait_done
from tests.generate.servers.others import LumaApp
from tests.generate.servers.runway import RunwayApp

runway_server = fixtures.runway_server
luma_server = fixtures.luma_server


def runway(server: LocalServer, **kw: Any) -> RunwayProvider:
    return RunwayProvider(base_url=server.url, allow_http_loopback=True, poll_interval=0, **kw)


def luma(server: LocalServer) -> LumaProvider:
    return LumaProvider(
        base_url=server.url + "/dream-machine/v1",
        allow_http_loopback=True,
        poll_interval=0,
        policy=RetryPolicy(attempts=3, base=0.01),
    )


def rw_app(server: LocalServer) -> RunwayApp:
    assert isinstance(server.app, RunwayApp)
    return server.app


T2V = dict(kind=ShotKind.TEXT_TO_VIDEO, model="gen4.5")


def test_retry_after_parsing() -> None:
    assert parse_retry_after({"retry-after-ms": "1500"}) == 1.5
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0  # in the past
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


@pytest.mark.parametrize("headers", [{"Retry-After": "0.05"}, {"retry-after-ms": "20"}, {}])
def test_429_on_create_is_retried_once_accepted(runway_server: LocalServer, headers: dict[str, str]) -> None:
    runway_server.fault(
        "POST",
        r"^/v1/text_to_video$",
        status=429,
        headers=headers,
        times=2,
        body=b'{"error": "You have exceeded your daily generation limit"}',
    )
    task_id = runway(runway_server).submit(make_req(**T2V))
    assert len(runway_server.seen("POST", r"^/v1/text_to_video$")) == 3
    assert list(rw_app(runway_server).tasks) == [task_id]


def test_429_with_a_long_retry_after_is_handed_back(runway_server: LocalServer) -> None:
    runway_server.fault("POST", r"^/v1/text_to_video$", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(RemoteError) as info:
        runway(runway_server).submit(make_req(**T2V))
    assert info.value.retryable and info.value.retry_after == 3600 and not info.value.maybe_created
    assert len(runway_server.seen("POST", r"^/v1/text_to_video$")) == 1


@pytest.mark.parametrize("status", [500, 502])
def test_5xx_on_create_is_not_blindly_repeated(runway_server: LocalServer, status: int) -> None:
    runway_server.fault("POST", r"^/v1/text_to_video$", status=status)
    with pytest.raises(RemoteError) as info:
        runway(runway_server).submit(make_req(**T2V))
    assert info.value.maybe_created and info.value.status == status
    assert len(runway_server.seen("POST", r"^/v1/text_to_video$")) == 1  # the SDK's own retry is off


def test_503_on_create_is_a_refusal_and_retried(runway_server: LocalServer) -> None:
    runway_server.fault("POST", r"^/v1/text_to_video$", status=503, headers={"retry-after-ms": "10"})
    runway(runway_server).submit(make_req(**T2V))
    assert len(runway_server.seen("POST", r"^/v1/text_to_video$")) == 2
    assert len(rw_app(runway_server).tasks) == 1


@pytest.mark.parametrize("action", ["reset", "reset_after"])
def test_connection_reset_on_create_is_in_doubt(runway_server: LocalServer, action: str) -> None:
    runway_server.fault("POST", r"^/v1/text_to_video$", action)
    with pytest.raises(RemoteError) as info:
        runway(runway_server).submit(make_req(**T2V))
    assert info.value.maybe_created
    assert len(runway_server.seen("POST", r"^/v1/text_to_video$")) == 1
    assert len(rw_app(runway_server).tasks) == (1 if action == "reset_after" else 0)


def test_refused_connection_is_safe_to_retry(runway_server: LocalServer) -> None:
    url = runway_server.url
    runway_server.stop()
    p = RunwayProvider(base_url=url, allow_http_loopback=True, create_attempts=1)
    with pytest.raises(RemoteError) as info:
        p.submit(make_req(**T2V))
    assert info.value.retryable and not info.value.maybe_created


def test_slow_create_times_out_in_doubt(runway_server: LocalServer) -> None:
    runway_server.fault("POST", r"^/v1/text_to_video$", "slow", delay=1.0)
    with pytest.raises(RemoteError) as info:
        runway(runway_server, timeout=0.2).submit(make_req(**T2V))
    assert info.value.maybe_created


def test_polls_ride_out_5xx_resets_slowness(runway_server: LocalServer) -> None:
    p = runway(runway_server, timeout=1.0)
    task_id = p.submit(make_req(**T2V))
    runway_server.fault("GET", r"^/v1/tasks/", status=502, headers={"retry-after-ms": "5"})
    runway_server.fault("GET", r"^/v1/tasks/", "reset")
    runway_server.fault("GET", r"^/v1/tasks/", "slow", delay=2.0)
    errors = 0
    for _ in range(200):  # as the orchestrator does: a failed poll is retried at the next tick
        try:
            st = p.poll(task_id)
        except RemoteError as exc:
            assert exc.retryable
            errors += 1
            continue
        if st.state.terminal:
            break
    assert st.state is TaskState.SUCCEEDED
    assert all(f.times == 0 for f in runway_server.faults)
    assert errors <= 1  # the SDK's own two retries absorb most of it


def test_malformed_json_on_poll_is_retryable(runway_server: LocalServer) -> None:
    p = runway(runway_server)
    task_id = p.submit(make_req(**T2V))
    runway_server.fault("GET", r"^/v1/tasks/", "malformed")
    with pytest.raises(RemoteError) as info:
        p.poll(task_id)
    assert info.value.retryable
    assert wait_done(p, task_id)[0].state is TaskState.SUCCEEDED


def test_malformed_json_on_create_is_in_doubt(runway_server: LocalServer) -> None:
    runway_server.fault("POST", r"^/v1/text_to_video$", "malformed")
    with pytest.raises(RemoteError) as info:
        runway(runway_server).submit(make_req(**T2V))
    assert info.value.maybe_created and len(rw_app(runway_server).tasks) == 1


def test_expired_output_url_is_refreshed_by_rereading_the_task(runway_server: LocalServer, out: Path) -> None:
    p = runway(runway_server)
    st, _ = wait_done(p, p.submit(make_req(**T2V)))
    runway_server.expire_urls()  # the signed URL we hold is now past its lifetime
    dest = p.fetch(st, out / "a.mp4")
    task = rw_app(runway_server).tasks[st.task_id]
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == task.sha
    files = runway_server.seen("GET", r"^/files/")
    assert len(files) == 2 and files[0].query["sig"] != files[1].query["sig"]  # a fresh URL


def test_truncated_download_resumes_with_range(runway_server: LocalServer, out: Path) -> None:
    p = runway(runway_server)
    st, _ = wait_done(p, p.submit(make_req(**T2V)))
    runway_server.fault("GET", r"^/files/", "truncate", times=2)
    dest = p.fetch(st, out / "b.mp4")
    task = rw_app(runway_server).tasks[st.task_id]
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == task.sha
    ranges = [r.headers.get("range") for r in runway_server.seen("GET", r"^/files/")]
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")


def test_download_cap_and_https_only(runway_server: LocalServer, out: Path) -> None:
    p = runway(runway_server, max_download_bytes=1000)
    st, _ = wait_done(p, p.submit(make_req(**T2V)))
    with pytest.raises(RemoteError, match="cap"):
        p.fetch(st, out / "big.mp4")
    assert list(out.iterdir()) == []  # nothing left behind
    with pytest.raises(RemoteError, match="only https"):
        download(st.output_urls[0], out / "x.mp4")  # plain http is not allowed by default
    with pytest.raises(RemoteError, match="only https"):
        download("http://example.com/x.mp4", out / "x.mp4", allow_http_loopback=True)
    with pytest.raises(RemoteError, match="only https"):
        download("file:///etc/passwd", out / "x.mp4", allow_http_loopback=True)


def test_cancelled_task_reads_as_cancelled(runway_server: LocalServer) -> None:
    rw_app(runway_server).render_s = 30
    p = runway(runway_server)
    task_id = p.submit(make_req(**T2V))
    p.cancel(task_id)
    st = p.poll(task_id)
    assert st.state is TaskState.CANCELLED and st.cost == 0.0


# -- the same rules in the httpx clients ------------------------------------------------
def test_httpx_client_429_then_500_on_create(luma_server: LocalServer) -> None:
    luma_server.fault("POST", r"/generations/video$", status=429, headers={"Retry-After": "0.01"})
    p = luma(luma_server)
    p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "ray-2"))
    luma_server.fault("POST", r"/generations/video$", status=500, body=b'{"detail": "boom"}')
    with pytest.raises(RemoteError, match="boom") as info:
        p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "ray-2", take=2))
    assert info.value.maybe_created
    assert len(luma_server.seen("POST", r"/generations/video$")) == 3


def test_httpx_client_polls_through_faults(luma_server: LocalServer) -> None:
    p = luma(luma_server)
    task_id = p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "ray-2"))
    luma_server.fault("GET", r"/generations/", status=503)
    luma_server.fault("GET", r"/generations/", "reset")
    luma_server.fault("GET", r"/generations/", "malformed")
    with pytest.raises(RemoteError) as info:
        for _ in range(3):
            p.poll(task_id)
    assert info.value.retryable and "malformed" in str(info.value)
    assert wait_done(p, task_id)[0].state is TaskState.SUCCEEDED
    app = luma_server.app
    assert isinstance(app, LumaApp) and sum(app.creates.values()) == 1


# -- through the orchestrator: outcome and ledger ---------------------------------------
def test_orchestrator_rides_out_faults_and_records_them(runway_server: LocalServer, tmp_path: Path) -> None:
    from shotline.core.generate.ledger import Ledger
    from shotline.core.generate.orchestrator import BatchConfig, Orchestrator
    from tests.generate.servers.driver import take_plans
    from tests.generate.servers.runway import Outcome

    app = rw_app(runway_server)
    app.throttle_s, app.render_s = 0.05, 0.05
    first_failures: set[str] = set()

    def outcome(body: dict[str, Any]) -> Outcome:
        prompt = body["promptText"]
        if prompt.startswith("shot 2:") and prompt not in first_failures:  # INTERNAL once, then fine
            first_failures.add(prompt)
            return Outcome("FAILED", "internal error", "INTERNAL.BAD_OUTPUT.CODE01")
        if prompt.startswith("shot 3:"):
            return Outcome("FAILED", "input moderation", "SAFETY.INPUT.TEXT")
        return Outcome()

    app.outcome = outcome
    runway_server.fault("POST", r"^/v1/text_to_video$", status=429, times=2, headers={"Retry-After": "0.05"})
    runway_server.fault("GET", r"^/v1/tasks/", status=502, times=2, headers={"retry-after-ms": "5"})
    runway_server.fault("GET", r"^/files/", status=403, times=1)  # an expired signed URL
    runway_server.fault("GET", r"^/files/", "truncate", times=1)
    provider = runway(runway_server)
    plans = take_plans(provider, shots=4, takes=2)
    config = BatchConfig(concurrency=4, poll_interval=0.02, backoff_base=0.02, backoff_max=0.2)
    orch = Orchestrator(tmp_path / "p", providers={"runway": provider}, config=config)
    try:
        result = orch.run(plans)
    finally:
        orch.close()
    status = {(o.shot_id, o.take): o for o in result.outcomes}
    for shot in ("sh001", "sh002", "sh004"):
        for take in (1, 2):
            assert status[(shot, take)].status == "done"
    assert status[("sh003", 1)].status == status[("sh003", 2)].status == "failed"
    assert all(f.times == 0 for f in runway_server.faults)  # every fault was met

    with Ledger(tmp_path / "p" / "ledger.sqlite") as led:
        rows = {(r.shot_id, r.take): r for r in led.takes()}
        for key, row in rows.items():
            events = [e.event for e in led.events(row.id)]
            if key[0] == "sh002":  # INTERNAL: a second remote task, recorded as such
                assert row.attempts == 2 and events.count("created") == 2 and "task-failed" in events
            if key[0] == "sh003":  # SAFETY.INPUT: not retried, the code kept
                assert row.attempts == 1 and row.failure_code == "SAFETY.INPUT.TEXT"
            if row.status == "done":
                task = app.tasks[row.task_id or ""]
                data = (tmp_path / "p" / (row.output_path or "")).read_bytes()
                assert hashlib.sha256(data).hexdigest() == row.checksum == task.sha
                assert row.cost_actual == 25.0
    # creates: one per take, plus one retry for each INTERNAL failure, never a duplicate of a live task
    per_prompt = {p: len(ts) for p, ts in app.by_prompt().items()}
    assert all(n == (2 if p.startswith("shot 2:") else 1) for p, n in per_prompt.items())


def test_orchestrator_holds_a_runway_create_in_doubt(runway_server: LocalServer, tmp_path: Path) -> None:
    """Runway cannot be asked whether a create landed: the take is held, never re-sent."""
    from shotline.core.generate.orchestrator import BatchConfig, Orchestrator
    from tests.generate.servers.driver import take_plans

    runway_server.fault("POST", r"^/v1/text_to_video$", "reset_after")
    provider = runway(runway_server)
    plans = take_plans(provider, shots=1, takes=2)
    config = BatchConfig(concurrency=1, poll_interval=0.02, backoff_base=0.02)
    orch = Orchestrator(tmp_path / "p", providers={"runway": provider}, config=config)
    try:
        first = orch.run(plans)
        again = orch.run(plans)  # a second run does not resend it either
    finally:
        orch.close()
    assert [o.status for o in first.outcomes] == ["uncertain", "done"]
    assert [o.status for o in again.outcomes] == ["uncertain", "done"] and again.outcomes[1].reused
    assert "--retry-uncertain" in (first.outcomes[0].error or "")
    assert len(runway_server.seen("POST", r"^/v1/text_to_video$")) == 2  # one per take, no repeat


def test_download_restarts_when_range_is_ignored(out: Path) -> None:
    """A server without Range support: the resumed request gets 200 and the whole body again."""
    from tests.generate.servers.base import App, Request, Response

    data = bytes(range(256)) * 512

    class NoRange(App):
        def handle(self, req: Request) -> Response:
            return Response(200, data, {"Content-Type": "video/mp4"})

    with LocalServer(NoRange()) as server:
        server.fault("GET", r"^/clip$", "truncate")
        result = download(server.url + "/clip", out / "c.mp4", allow_http_loopback=True, sleep=lambda s: None)
        ranges = [r.headers.get("range") for r in server.seen("GET", r"^/clip$")]
    assert ranges[0] is None and ranges[1] == f"bytes={len(data) // 2}-"
    assert (out / "c.mp4").read_bytes() == data and result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()


def test_runway_creates_go_one_at_a_time_while_renders_overlap(
    runway_server: LocalServer, tmp_path: Path
) -> None:
    """Runway's creates cannot be looked up, so a kill may leave each create in flight in doubt:
    the orchestrator keeps at most one in flight per provider; polls and downloads stay parallel."""
    import threading
    import time

    from shotline.core.generate.orchestrator import BatchConfig, Orchestrator
    from tests.generate.servers.driver import take_plans

    app = rw_app(runway_server)
    app.render_s = 0.3
    in_flight, most = 0, 0
    lock = threading.Lock()
    create = app._create

    def slow_create(endpoint: str, req: Any) -> Any:  # a create that takes a moment on the wire
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        try:
            time.sleep(0.05)
            return create(endpoint, req)
        finally:
            with lock:
                in_flight -= 1

    app._create = slow_create  # type: ignore[method-assign]
    provider = runway(runway_server)
    config = BatchConfig(concurrency=4, poll_interval=0.02, backoff_base=0.02)
    orch = Orchestrator(tmp_path / "p", providers={"runway": provider}, config=config)
    try:
        result = orch.run(take_plans(provider, shots=4, takes=2))
    finally:
        orch.close()
    assert result.ok and len(app.tasks) == 8
    assert most == 1  # never two creates in flight
    spans = sorted((t.created, t.created + app.render_s) for t in app.tasks.values())
    overlapping = max(sum(1 for a, b in spans if a <= start < b) for start, _ in spans)
    assert overlapping >= 3  # the renders (and their polls) still run side by side


def test_a_sigkill_leaves_at_most_one_runway_take_in_doubt(tmp_path: Path) -> None:
    """16 takes, 4 workers: the stand-in holds every create it receives unanswered, and the batch
    process is SIGKILLed while they hang. Each held create is a take in doubt (announced in the
    ledger, never answered), so at most one may reach the service at a time."""
    import os
    import signal
    import subprocess
    import sys
    import threading
    import time

    from shotline.core.generate.ledger import Ledger
    from tests.generate.servers.fixtures import RUNWAY_KEY

    release = threading.Event()

    class HeldCreates(RunwayApp):
        arrived = 0

        def _create(self, endpoint: str, req: Any) -> Any:
            with self.lock:
                HeldCreates.arrived += 1
            release.wait(30)
            return super()._create(endpoint, req)

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "RUNWAYML_API_SECRET": RUNWAY_KEY, "PYTHONPATH": str(root)}
    env.pop("RUNWAYML_BASE_URL", None)
    with LocalServer(HeldCreates(RUNWAY_KEY)) as server:
        argv = [sys.executable, "-m", "tests.generate.servers.driver", server.url, str(tmp_path / "p")]
        argv += ["--shots", "8", "--takes", "2", "--concurrency", "4"]
        proc = subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            end = time.monotonic() + 3.0  # time enough for every worker's create to arrive
            while time.monotonic() < end and HeldCreates.arrived < 4:
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            release.set()
    with Ledger(tmp_path / "p" / "ledger.sqlite") as led:
        in_doubt = [r for r in led.takes() if r.status == "submitting" and not r.task_id]
    assert HeldCreates.arrived == len(in_doubt) == 1
