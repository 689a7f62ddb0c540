"""The Kling client (JWT auth, envelope codes, external_task_id) against the local stand-in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from shotline.core.errors import UsageError
from shotline.core.generate.providers.base import ShotKind, TaskState
from shotline.core.generate.providers.http import RemoteError, RetryPolicy
from shotline.core.generate.providers.kling import KlingProvider, external_task_id, mint_jwt
from tests.generate.servers import fixtures
from tests.generate.servers.base import LocalServer
from tests.generate.servers.fixtures import make_req, wait_done
from tests.generate.servers.others import KlingApp

kling_server = fixtures.kling_server


def provider(server: LocalServer) -> KlingProvider:
    return KlingProvider(
        base_url=server.url,
        allow_http_loopback=True,
        poll_interval=0,
        policy=RetryPolicy(attempts=3, base=0.01),
    )


def app_of(server: LocalServer) -> KlingApp:
    assert isinstance(server.app, KlingApp)
    return server.app


def test_jwt_is_standard_hs256() -> None:
    token = mint_jwt("ak", "sk", now=1_700_000_000)
    h, p, s = token.split(".")
    pad = lambda x: x + "=" * (-len(x) % 4)  # noqa: E731
    assert json.loads(base64.urlsafe_b64decode(pad(h))) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(base64.urlsafe_b64decode(pad(p))) == {
        "iss": "ak",
        "exp": 1_700_001_800,
        "nbf": 1_699_999_995,
    }
    good = hmac.new(b"sk", f"{h}.{p}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(pad(s)) == good


def test_text_to_video_round_trip(kling_server: LocalServer, out: Path) -> None:
    p = provider(kling_server)
    r = make_req(
        ShotKind.TEXT_TO_VIDEO,
        "kling-v2-5-turbo",
        duration=10,
        ratio="9:16",
        negative_prompt="blur",
        options={"mode": "pro"},
    )
    task_id = p.submit(r)
    assert task_id.startswith("text2video:")
    create = kling_server.seen("POST", r"^/v1/videos/text2video$")[0]
    assert json.loads(create.body) == {
        "model_name": "kling-v2-5-turbo",
        "prompt": "a lighthouse at dusk",
        "duration": "10",
        "external_task_id": external_task_id(r),
        "negative_prompt": "blur",
        "aspect_ratio": "9:16",
        "mode": "pro",
    }
    st, states = wait_done(p, task_id)
    assert st.state is TaskState.SUCCEEDED and states[-1] == "succeed" and st.cost == 1.0
    dest = p.fetch(st, out / "k.mp4")
    job = app_of(kling_server).jobs[task_id.split(":", 1)[1]]
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == job.sha


def test_image_is_raw_base64(kling_server: LocalServer, tmp_path: Path) -> None:
    img = tmp_path / "still.jpg"
    img.write_bytes(b"\xff\xd8\xff" + b"\2" * 50)
    p = provider(kling_server)
    p.submit(make_req(ShotKind.IMAGE_TO_VIDEO, "kling-v2-1", source_image=img))
    body = json.loads(kling_server.seen("POST", r"image2video$")[0].body)
    assert base64.b64decode(body["image"]) == img.read_bytes()
    assert "aspect_ratio" not in body  # image2video follows the image


def test_a_create_in_doubt_is_found_not_repeated(kling_server: LocalServer) -> None:
    kling_server.fault("POST", r"text2video$", "reset_after")  # accepted, but the answer is lost
    p = provider(kling_server)
    r = make_req(ShotKind.TEXT_TO_VIDEO, "kling-v3", duration=7)
    with pytest.raises(RemoteError) as info:
        p.submit(r)
    assert info.value.maybe_created
    found = p.find_task(r)
    assert found is not None and p.poll(found).task_id == found
    assert sum(app_of(kling_server).creates.values()) == 1
    assert p.find_task(make_req(ShotKind.TEXT_TO_VIDEO, "kling-v3", duration=8)) is None


def test_rate_limit_is_retried_but_no_balance_is_not(kling_server: LocalServer) -> None:
    busy = json.dumps(
        {"code": 1303, "message": "parallel task over resource pack limit", "request_id": "r"}
    ).encode()
    broke = json.dumps({"code": 1102, "message": "resource pack depleted", "request_id": "r"}).encode()
    kling_server.fault("POST", r"text2video$", status=429, body=busy, times=2)
    p = provider(kling_server)
    p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "kling-v1"))
    assert len(kling_server.seen("POST", r"text2video$")) == 3
    kling_server.fault("POST", r"text2video$", status=429, body=broke, times=5)
    with pytest.raises(RemoteError) as info:
        p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "kling-v1", take=2))
    assert info.value.code == "1102" and not info.value.retryable
    assert len(kling_server.seen("POST", r"text2video$")) == 4  # one try, no retries


def test_failed_task(kling_server: LocalServer) -> None:
    app_of(kling_server).fail = "content-safety policy"
    p = provider(kling_server)
    st, _ = wait_done(p, p.submit(make_req(ShotKind.TEXT_TO_VIDEO, "kling-v1")))
    assert st.state is TaskState.FAILED and st.failure == "content-safety policy"


@pytest.mark.parametrize(
    ("kind", "model", "kw", "message"),
    [
        (ShotKind.TEXT_TO_VIDEO, "kling-v1", {"duration": 7}, "choose 5, 10"),
        (ShotKind.TEXT_TO_VIDEO, "kling-v3", {"duration": 16}, "not offered"),
        (ShotKind.TEXT_TO_VIDEO, "kling-v2-1", {}, "unknown model"),
        (ShotKind.TEXT_TO_VIDEO, "kling-v1", {"ratio": "4:3"}, "ratio 4:3"),
        (ShotKind.IMAGE_TO_VIDEO, "kling-v1", {}, "needs a source image"),
    ],
)
def test_refused_before_any_request(
    kling_server: LocalServer, kind: ShotKind, model: str, kw: dict, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        provider(kling_server).submit(make_req(kind, model, **kw))
    assert kling_server.requests == []


def test_orchestrator_finds_a_create_in_doubt_instead_of_paying_again(
    kling_server: LocalServer, tmp_path: Path
) -> None:
    from shotline.core.generate.orchestrator import BatchConfig, Orchestrator, TakePlan, request_hash

    kling_server.fault("POST", r"text2video$", "reset_after")  # the create lands; its answer is lost
    p = provider(kling_server)
    reqs = [
        make_req(ShotKind.TEXT_TO_VIDEO, "kling-v1", shot_id=f"k{i}", prompt=f"shot {i}") for i in range(3)
    ]
    plans = [
        TakePlan("kling", r, request_hash("kling", r), 0.0, "units", Path("shots") / f"{r.shot_id}.mp4")
        for r in reqs
    ]
    orch = Orchestrator(tmp_path, providers={"kling": p}, config=BatchConfig(poll_interval=0.02))
    try:
        result = orch.run(plans)
    finally:
        orch.close()
    assert [o.status for o in result.outcomes] == ["done"] * 3
    assert sum(app_of(kling_server).creates.values()) == 3  # one create per take, the lost answer included
    assert len(kling_server.seen("GET", r"/shotline-")) == 1  # looked up by its external_task_id
