"""The Sora client (OpenAI videos API, deprecated) against the local stand-in."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from shotline.core.errors import UsageError
from shotline.core.generate.providers.base import ShotKind, TaskState
from shotline.core.generate.providers.sora import SoraProvider
from tests.generate.servers import fixtures
from tests.generate.servers.base import LocalServer
from tests.generate.servers.fixtures import OPENAI_KEY, make_req, wait_done
from tests.generate.servers.others import SoraApp

sora_server = fixtures.sora_server


def provider(server: LocalServer) -> SoraProvider:
    return SoraProvider(base_url=server.url + "/v1", allow_http_loopback=True, poll_interval=0)


def test_text_to_video_round_trip(sora_server: LocalServer, out: Path) -> None:
    p = provider(sora_server)
    task_id = p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "sora-2", duration=8, ratio="16:9"))
    create = sora_server.seen("POST", r"^/v1/videos$")[0]
    assert create.headers["content-type"].startswith("multipart/form-data")  # always multipart
    assert create.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    app = sora_server.app
    assert isinstance(app, SoraApp)
    assert app.jobs[task_id].body == {
        "prompt": "a lighthouse at dusk",
        "model": "sora-2",
        "seconds": "8",
        "size": "1280x720",
    }
    st, states = wait_done(p, task_id)
    assert st.state is TaskState.SUCCEEDED and states[-1] == "completed"
    assert st.retry_after == 2.0  # the openai-poll-after-ms hint
    dest = p.fetch(st, out / "sora.mp4")
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == app.jobs[task_id].sha
    content = sora_server.seen("GET", r"/content$")[0]
    assert content.headers["authorization"] == f"Bearer {OPENAI_KEY}"  # the API host, pinned
    assert content.headers["accept"] == "application/binary"


def test_image_reference_goes_as_a_file_part(sora_server: LocalServer, tmp_path: Path) -> None:
    img = tmp_path / "ref.png"
    img.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\1" * 300)
    p = provider(sora_server)
    task_id = p.submit(
        make_req(ShotKind.IMAGE_TO_VIDEO, "sora-2-pro", duration=4, ratio="720:1280", source_image=img)
    )
    app = sora_server.app
    assert isinstance(app, SoraApp)
    assert app.jobs[task_id].body["input_reference"] == {"filename": "ref.png", "bytes": 308}
    assert app.jobs[task_id].body["size"] == "720x1280"


def test_failed_video(sora_server: LocalServer) -> None:
    app = sora_server.app
    assert isinstance(app, SoraApp)
    app.fail = "moderation blocked the output"
    p = provider(sora_server)
    st, _ = wait_done(p, p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "sora-2", duration=4)))
    assert st.state is TaskState.FAILED and st.failure == "moderation blocked the output"
    assert st.failure_code == "video_generation_failed"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (dict(duration=5), "choose 4, 8 or 12"),
        (dict(model="sora-3"), "unknown model"),
        (dict(ratio="4:3"), "ratio 4:3"),
        (dict(kind=ShotKind.VIDEO_TO_VIDEO), "cannot do"),
    ],
)
def test_refused_before_any_request(sora_server: LocalServer, kw: dict[str, Any], message: str) -> None:
    r = make_req(kw.pop("kind", ShotKind.TEXT_TO_VIDEO), kw.pop("model", "sora-2"), **{"duration": 4, **kw})
    with pytest.raises(UsageError, match=message):
        provider(sora_server).submit(r)
    assert sora_server.requests == []


def test_cancel_deletes(sora_server: LocalServer) -> None:
    app = sora_server.app
    assert isinstance(app, SoraApp)
    app.render_s = 30
    p = provider(sora_server)
    task_id = p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "sora-2", duration=4))
    p.cancel(task_id)
    assert app.jobs[task_id].deleted
    p.cancel(task_id)  # gone already: fine


def test_shutdown_is_named(sora_server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    """Past 2026-09-24 a validation warns (once) and a 404 from the service says why."""
    from shotline.core.generate.providers.http import RemoteError
    from shotline.core.generate.providers.sora import SHUTDOWN

    p = provider(sora_server)
    with caplog.at_level("WARNING"):
        p.validate(make_req(ShotKind.TEXT_TO_VIDEO, "sora-2", duration=4))
        p.validate(make_req(ShotKind.TEXT_TO_VIDEO, "sora-2", duration=4, take=2))
    import datetime as dt

    if dt.date.today() < SHUTDOWN:  # pragma: no cover - only before the shutdown date
        return
    assert sum("shut down" in r.getMessage() for r in caplog.records) == 1
    sora_server.fault("POST", r"^/v1/videos$", status=404, body=b'{"error": {"message": "Not found"}}')
    with pytest.raises(RemoteError, match="shut the Sora API down on 2026-09-24"):
        p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "sora-2", duration=4))
