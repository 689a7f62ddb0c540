"""The Luma client (legacy Dream Machine API) against the local stand-in."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from shotline.core.errors import UsageError
from shotline.core.generate.providers.base import ShotKind, TaskState
from shotline.core.generate.providers.luma import LumaProvider
from tests.generate.servers import fixtures
from tests.generate.servers.base import LocalServer
from tests.generate.servers.fixtures import LUMA_KEY, make_req, wait_done
from tests.generate.servers.others import LumaApp

luma_server = fixtures.luma_server


def provider(server: LocalServer) -> LumaProvider:
    return LumaProvider(base_url=server.url + "/dream-machine/v1", allow_http_loopback=True, poll_interval=0)


def app_of(server: LocalServer) -> LumaApp:
    assert isinstance(server.app, LumaApp)
    return server.app


def test_round_trip(luma_server: LocalServer, out: Path) -> None:
    app_of(luma_server).queue_s = app_of(luma_server).render_s = (
        0.4  # wide enough to see each state under load
    )
    p = provider(luma_server)
    task_id = p.submit(
        make_req(
            ShotKind.TEXT_TO_VIDEO,
            "ray-2",
            duration=9,
            ratio="1920:1080",
            options={"resolution": "720p", "loop": False},
        )
    )
    create = luma_server.seen("POST", r"/generations/video$")[0]
    assert create.path == "/dream-machine/v1/generations/video"
    assert create.headers["authorization"] == f"Bearer {LUMA_KEY}"
    assert json.loads(create.body) == {
        "model": "ray-2",
        "prompt": "a lighthouse at dusk",
        "aspect_ratio": "16:9",
        "duration": "9s",
        "resolution": "720p",
        "loop": False,
    }
    st, states = wait_done(p, task_id)
    assert states == ["queued", "dreaming", "completed"]
    dest = p.fetch(st, out / "luma.mp4")
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == app_of(luma_server).jobs[task_id].sha


def test_image_and_extend_keyframes(luma_server: LocalServer) -> None:
    p = provider(luma_server)
    p.submit(
        make_req(ShotKind.IMAGE_TO_VIDEO, "ray-flash-2", options={"image_url": "https://cdn.example/a.jpg"})
    )
    p.submit(make_req(ShotKind.EXTEND, "ray-2", options={"generation_id": "prev-gen"}))
    bodies = [json.loads(r.body) for r in luma_server.seen("POST", r"/generations/video$")]
    assert bodies[0]["keyframes"] == {"frame0": {"type": "image", "url": "https://cdn.example/a.jpg"}}
    assert bodies[1]["keyframes"] == {"frame0": {"type": "generation", "id": "prev-gen"}}


def test_failed_generation(luma_server: LocalServer) -> None:
    app_of(luma_server).fail = "prompt rejected"
    p = provider(luma_server)
    st, _ = wait_done(p, p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "ray-2")))
    assert st.state is TaskState.FAILED and st.failure == "prompt rejected"


@pytest.mark.parametrize(
    ("kind", "model", "kw", "message"),
    [
        (ShotKind.TEXT_TO_VIDEO, "ray-3", {}, "unknown model"),
        (ShotKind.TEXT_TO_VIDEO, "ray-2", {"duration": 6}, "choose 5 or 9"),
        (ShotKind.TEXT_TO_VIDEO, "ray-2", {"ratio": "5:4"}, "ratio 5:4"),
        (
            ShotKind.IMAGE_TO_VIDEO,
            "ray-2",
            {"options": {"image_url": "http://cdn.example/a.jpg"}},
            "only https",
        ),
        (ShotKind.IMAGE_TO_VIDEO, "ray-2", {}, "https URLs"),
        (ShotKind.TEXT_TO_VIDEO, "ray-2", {"options": {"resolution": "8k"}}, "resolution"),
    ],
)
def test_refused_before_any_request(
    luma_server: LocalServer, kind: ShotKind, model: str, kw: dict, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        provider(luma_server).submit(make_req(kind, model, **kw))
    assert luma_server.requests == []
