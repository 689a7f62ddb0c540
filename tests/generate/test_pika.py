"""The Pika client (through fal's queue API) against the local stand-in."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from shotline.core.errors import UsageError
from shotline.core.generate.providers.base import ShotKind, TaskState
from shotline.core.generate.providers.pika import PikaProvider
from tests.generate.servers import fixtures
from tests.generate.servers.base import LocalServer
from tests.generate.servers.fixtures import FAL_KEY, make_req, wait_done
from tests.generate.servers.others import FalApp

fal_server = fixtures.fal_server


def provider(server: LocalServer) -> PikaProvider:
    return PikaProvider(base_url=server.url, allow_http_loopback=True, poll_interval=0)


def app_of(server: LocalServer) -> FalApp:
    assert isinstance(server.app, FalApp)
    return server.app


def test_queue_round_trip(fal_server: LocalServer, out: Path) -> None:
    app_of(fal_server).queue_s = app_of(fal_server).render_s = 0.4  # wide enough to see each state under load
    p = provider(fal_server)
    task_id = p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "v2.5", seed=11, options={"resolution": "1080p"}))
    model_id, rid = task_id.split("|")
    assert model_id == "fal-ai/pika/v2.5/text-to-video"
    create = fal_server.seen("POST", r"^/fal-ai/pika/v2\.5/text-to-video$")[0]
    assert create.headers["authorization"] == f"Key {FAL_KEY}"  # Key, not Bearer
    assert json.loads(create.body) == {
        "prompt": "a lighthouse at dusk",
        "duration": 5,
        "seed": 11,
        "resolution": "1080p",
    }
    st, states = wait_done(p, task_id)
    assert states == ["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
    assert fal_server.seen("GET", rf"^/fal-ai/pika/requests/{rid}/status$")  # base app id, no sub-path
    dest = p.fetch(st, out / "p.mp4")
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == app_of(fal_server).jobs[rid].sha


def test_image_to_video_and_aspect(fal_server: LocalServer, tmp_path: Path) -> None:
    img = tmp_path / "s t i l l.png"
    img.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\3" * 10)
    p = provider(fal_server)
    p.submit(make_req(ShotKind.IMAGE_TO_VIDEO, "pika-2.2", source_image=img, duration=10))
    p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "v2.2", ratio="1080:1350"))
    i2v = json.loads(fal_server.seen("POST", r"image-to-video$")[0].body)
    assert base64.b64decode(i2v["image_url"].split(",", 1)[1]) == img.read_bytes()
    assert i2v["duration"] == 10 and "aspect_ratio" not in i2v
    assert json.loads(fal_server.seen("POST", r"v2\.2/text-to-video$")[0].body)["aspect_ratio"] == "4:5"


def test_failed_request_reads_as_failed(fal_server: LocalServer) -> None:
    app_of(fal_server).fail = "NSFW content detected"
    p = provider(fal_server)
    st, _ = wait_done(p, p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "v2.5")))
    assert st.state is TaskState.FAILED and "NSFW" in (st.failure or "")


def test_cancel_in_queue(fal_server: LocalServer) -> None:
    app_of(fal_server).queue_s = 30
    p = provider(fal_server)
    task_id = p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "v2.5"))
    p.cancel(task_id)
    assert fal_server.seen("PUT", r"/cancel$")
    assert app_of(fal_server).jobs[task_id.split("|")[1]].cancelled
    assert p.poll(task_id).state is TaskState.FAILED  # result of a cancelled request is an error


@pytest.mark.parametrize(
    ("kind", "model", "kw", "message"),
    [
        (ShotKind.IMAGE_TO_VIDEO, "v2.5", {}, "not offered"),
        (ShotKind.TEXT_TO_VIDEO, "v3", {}, "not offered"),
        (ShotKind.TEXT_TO_VIDEO, "v2.5", {"duration": 8}, "choose 5 or 10"),
        (ShotKind.TEXT_TO_VIDEO, "v2.2", {"options": {"resolution": "480p"}}, "resolution"),
        (ShotKind.TEXT_TO_VIDEO, "v2.2", {"ratio": "21:9"}, "ratio 21:9"),
    ],
)
def test_refused_before_any_request(
    fal_server: LocalServer, kind: ShotKind, model: str, kw: dict, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        provider(fal_server).submit(make_req(kind, model, **kw))
    assert fal_server.requests == []


def test_task_urls_never_leave_the_queue_host(fal_server: LocalServer) -> None:
    p = provider(fal_server)
    with pytest.raises(UsageError, match="malformed"):
        p.poll("https://evil.example/steal|x")
