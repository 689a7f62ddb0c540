"""The Runway provider, driving the real runwayml SDK against the local Runway stand-in."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

from shotline.core.errors import ProviderError, UsageError
from shotline.core.generate.providers.base import GenerationRequest, ShotKind, TaskState, TaskStatus
from shotline.core.generate.providers.runway import RunwayProvider, catalog, pick_ratio
from tests.generate.servers import fixtures
from tests.generate.servers.base import LocalServer
from tests.generate.servers.fixtures import RUNWAY_KEY
from tests.generate.servers.runway import Outcome, RunwayApp

runway_server = fixtures.runway_server


def req(kind: ShotKind = ShotKind.TEXT_TO_VIDEO, model: str = "gen4.5", **kw: Any) -> GenerationRequest:
    base: dict[str, Any] = dict(
        shot_id="s1",
        take=1,
        kind=kind,
        prompt="a lighthouse at dusk",
        model=model,
        duration=5,
        ratio="1280:720",
    )
    base.update(kw)
    return GenerationRequest(**base)


def provider(server: LocalServer, **kw: Any) -> RunwayProvider:
    return RunwayProvider(base_url=server.url, allow_http_loopback=True, poll_interval=0, **kw)


def app(server: LocalServer) -> RunwayApp:
    assert isinstance(server.app, RunwayApp)
    return server.app


def wait_done(p: RunwayProvider, task_id: str, limit: int = 400) -> tuple[TaskStatus, list[str]]:
    seen: list[str] = []
    for _ in range(limit):
        st = p.poll(task_id)
        if not seen or seen[-1] != st.raw_state:
            seen.append(st.raw_state)
        if st.state.terminal:
            return st, seen
        time.sleep(0.01)
    raise AssertionError(f"task {task_id} never finished: {seen}")


def test_catalog_follows_the_installed_sdk() -> None:
    cat = catalog()
    assert "gen4.5" in cat[ShotKind.TEXT_TO_VIDEO]
    assert "gen4_turbo" in cat[ShotKind.IMAGE_TO_VIDEO]
    assert "gen4_turbo" not in cat[ShotKind.TEXT_TO_VIDEO]  # image-only model
    assert "act_two" in cat[ShotKind.CHARACTER_PERFORMANCE]
    assert set(cat[ShotKind.UPSCALE]) == {"magnific_video_upscaler_creative", "enhance_frame_rate"}
    gen45 = cat[ShotKind.TEXT_TO_VIDEO]["gen4.5"].fields
    assert gen45["duration"].int_range == (2, 10)  # read from the SDK docstring
    assert gen45["ratio"].choices == ("1280:720", "720:1280")
    assert cat[ShotKind.TEXT_TO_VIDEO]["veo3.1"].fields["duration"].choices == (4, 6, 8)
    for gone in ("gen3a_turbo", "gen4_aleph", "upscale_v1", "veo3"):
        assert all(gone not in models for models in cat.values())


def test_ratio_by_aspect() -> None:
    assert pick_ratio("16:9", ("1280:720", "720:1280")) == "1280:720"
    assert pick_ratio("9:16", ("1280:720", "720:1280")) == "720:1280"
    assert pick_ratio("4:3", ("1280:720", "720:1280")) is None


def test_text_to_video_round_trip(runway_server: LocalServer, out: Path) -> None:
    p = provider(runway_server)
    task_id = p.submit(req(seed=7, ratio="16:9"))
    create = runway_server.seen("POST", r"^/v1/text_to_video$")[0]
    assert json.loads(create.body) == {
        "model": "gen4.5",
        "promptText": "a lighthouse at dusk",
        "ratio": "1280:720",
        "duration": 5,
        "seed": 7,
    }
    assert create.headers["authorization"] == f"Bearer {RUNWAY_KEY}"
    assert create.headers["x-runway-version"] == "2024-11-06"
    assert "x-stainless-retry-count" in create.headers  # it is the real SDK talking
    st, states = wait_done(p, task_id)
    assert st.state is TaskState.SUCCEEDED and st.cost == 25.0
    assert states[-1] == "SUCCEEDED"
    dest = p.fetch(st, out / "take.mp4")
    task = app(runway_server).tasks[task_id]
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == task.sha
    assert not (out / "take.mp4.part").exists()
    # the download went to storage without the API key (the stand-in would answer 400)
    assert runway_server.seen("GET", r"^/files/")


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        (dict(model="gen3a_turbo"), "not available"),  # removed in SDK 5.0
        (dict(model="veo3"), "not available"),  # gone by 5.24
        (dict(model="veo3.1", duration=5), "not offered"),  # 4, 6 or 8 only
        (dict(duration=11), "outside 2-10"),
        (dict(duration=4.5), "whole number"),
        (dict(ratio="4:3"), "ratio 4:3"),
        (dict(seed=2**32), "seed"),
        (dict(prompt="x" * 1001), "1000 characters"),
        (dict(kind=ShotKind.IMAGE_TO_VIDEO, model="gen4_turbo"), "promptImage"),
        (dict(kind=ShotKind.EXTEND), "cannot do extend"),
        (dict(options={"motion": 3}), "unknown option"),
    ],
)
def test_refused_before_any_request(runway_server: LocalServer, kw: dict[str, Any], message: str) -> None:
    p = provider(runway_server)
    with pytest.raises(UsageError, match=message):
        p.validate(req(**kw))
    with pytest.raises(UsageError, match=message):
        p.submit(req(**kw))
    assert runway_server.requests == []


def test_image_to_video_small_image_goes_as_data_uri(runway_server: LocalServer, tmp_path: Path) -> None:
    img = tmp_path / "still one.png"
    img.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    p = provider(runway_server)
    p.submit(req(ShotKind.IMAGE_TO_VIDEO, "gen4_turbo", source_image=img, duration=10, ratio="960:960"))
    body = json.loads(runway_server.seen("POST", r"^/v1/image_to_video$")[0].body)
    assert body["promptImage"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert body["ratio"] == "960:960" and body["duration"] == 10
    assert not runway_server.seen("POST", r"^/v1/uploads$")


def test_big_video_goes_through_an_ephemeral_upload(runway_server: LocalServer, tmp_path: Path) -> None:
    video = tmp_path / "plate.mp4"
    video.write_bytes(b"\0" * (17 * 1024 * 1024))  # over the 16 MB data-URI limit for video
    p = provider(runway_server)
    p.submit(
        req(ShotKind.VIDEO_TO_VIDEO, "aleph2", source_video=video, options={"targetAspectRatio": "16:9"})
    )
    body = json.loads(runway_server.seen("POST", r"^/v1/video_to_video$")[0].body)
    assert body["videoUri"].startswith("runway://uploads/")
    assert body["targetAspectRatio"] == "16:9"
    start = json.loads(runway_server.seen("POST", r"^/v1/uploads$")[0].body)
    assert start == {"filename": "plate.mp4", "type": "ephemeral"}
    uploaded = next(iter(app(runway_server).uploads.values()))
    assert len(uploaded) > 17 * 1024 * 1024  # the file went up as a multipart part


def test_other_endpoints_send_their_documented_bodies(runway_server: LocalServer, tmp_path: Path) -> None:
    face = tmp_path / "face.jpg"
    face.write_bytes(b"\xff\xd8\xff" + b"\0" * 64)
    drive = tmp_path / "drive.mp4"
    drive.write_bytes(b"\0" * 128)
    p = provider(runway_server)
    p.submit(
        req(
            ShotKind.CHARACTER_PERFORMANCE,
            "act_two",
            source_image=face,
            source_video=drive,
            options={"expressionIntensity": 3},
        )
    )
    p.submit(
        req(
            ShotKind.SOUND_EFFECT,
            "eleven_text_to_sound_v2",
            prompt="rain on a tin roof",
            duration=2.5,
            options={"loop": True},
        )
    )
    p.submit(req(ShotKind.UPSCALE, "enhance_frame_rate", source_video=drive, fps=29.97))
    p.submit(
        req(
            ShotKind.TEXT_TO_IMAGE,
            "gen4_image",
            prompt="@hero on a pier",
            ratio="1920:1080",
            reference_images=(face,),
        )
    )
    bodies = {r.path: json.loads(r.body) for r in runway_server.seen("POST", r"^/v1/")}
    act = bodies["/v1/character_performance"]
    assert act["character"]["type"] == "image" and act["character"]["uri"].startswith(
        "data:image/jpeg;base64,"
    )
    assert act["reference"]["type"] == "video" and act["expressionIntensity"] == 3
    assert bodies["/v1/sound_effect"] == {
        "model": "eleven_text_to_sound_v2",
        "promptText": "rain on a tin roof",
        "duration": 2.5,
        "loop": True,
    }
    assert bodies["/v1/video_upscale"]["targetFramerate"] == "29_97"
    img = bodies["/v1/text_to_image"]
    assert img["referenceImages"][0]["tag"] == "face" and img["ratio"] == "1920:1080"


def test_throttled_then_running_is_queueing_not_failure(runway_server: LocalServer) -> None:
    a = app(runway_server)
    a.throttle_s, a.render_s = 0.4, 0.4  # wide enough to see each state under load
    p = provider(runway_server)
    task_id = p.submit(req())
    first = p.poll(task_id)
    assert first.state is TaskState.QUEUED and first.raw_state == "THROTTLED"
    st, states = wait_done(p, task_id)
    assert states == ["THROTTLED", "RUNNING", "SUCCEEDED"]
    assert sum(a.creates.values()) == 1  # never resubmitted


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        ("SAFETY.INPUT.TEXT", False),
        ("ASSET.INVALID", False),
        ("INTERNAL.BAD_OUTPUT.CODE01", True),
        ("SAFETY.OUTPUT.VIDEO", True),
        ("INTERNAL", True),
    ],
)
def test_failure_codes(runway_server: LocalServer, code: str, retryable: bool) -> None:
    app(runway_server).outcome = lambda body: Outcome("FAILED", "moderation or model failure", code)
    p = provider(runway_server)
    st, _ = wait_done(p, p.submit(req()))
    assert st.state is TaskState.FAILED
    assert st.failure_code == code and st.retryable is retryable
    assert st.cost == 0.0


def test_cancel_deletes_a_running_task(runway_server: LocalServer) -> None:
    app(runway_server).render_s = 30
    p = provider(runway_server)
    task_id = p.submit(req())
    p.cancel(task_id)
    st = p.poll(task_id)
    assert st.state is TaskState.CANCELLED and st.raw_state == "CANCELLED"
    p.cancel("no-such-task")  # already gone: not an error


def test_estimate_cost_per_model() -> None:
    p = RunwayProvider()
    assert p.estimate_cost(req(duration=5)) == 60.0  # gen4.5, 12 credits/s
    assert p.estimate_cost(req(model="veo3.1", duration=8)) == 160.0
    assert p.estimate_cost(req(model="veo3.1", duration=8, options={"audio": True})) == 320.0
    assert p.estimate_cost(req(ShotKind.TEXT_TO_IMAGE, "gen4_image_turbo")) == 2.0


def test_missing_key_is_a_clear_error(runway_server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNWAYML_API_SECRET")
    with pytest.raises(ProviderError, match="RUNWAYML_API_SECRET"):
        provider(runway_server).submit(req())


def test_plain_http_is_refused_by_default(runway_server: LocalServer) -> None:
    with pytest.raises(UsageError, match="only https"):
        RunwayProvider(base_url=runway_server.url)


def test_prepare_uploads_once_before_the_create(runway_server: LocalServer, tmp_path: Path) -> None:
    video = tmp_path / "plate.mp4"
    video.write_bytes(b"\0" * (17 * 1024 * 1024))
    p = provider(runway_server)
    r = req(ShotKind.VIDEO_TO_VIDEO, "aleph2", source_video=video)
    p.prepare(r)  # the upload happens here, before the take is marked "submitting"
    assert len(runway_server.seen("POST", r"^/v1/uploads$")) == 1
    assert not runway_server.seen("POST", r"^/v1/video_to_video$")
    p.submit(r)
    p.submit(req(ShotKind.VIDEO_TO_VIDEO, "aleph2", source_video=video, take=2))
    assert len(runway_server.seen("POST", r"^/v1/uploads$")) == 1  # the runway:// URI is reused
    assert len(runway_server.seen("POST", r"^/v1/video_to_video$")) == 2


def test_fields_a_model_lacks_are_left_out_not_fatal(runway_server: LocalServer, tmp_path: Path) -> None:
    face = tmp_path / "mara.png"
    face.write_bytes(b"\x89PNG\r\n\x1a\n")
    p = provider(runway_server)
    # storyboard-wide negative prompt and character sheets: gen4.5 t2v has neither field
    p.submit(req(negative_prompt="watermark", reference_images=(face,), seed=9))
    p.submit(req(model="veo3.1", duration=4, negative_prompt="watermark"))
    bodies = [json.loads(r.body) for r in runway_server.seen("POST", r"^/v1/text_to_video$")]
    assert "negativePrompt" not in bodies[0] and "referenceImages" not in bodies[0] and bodies[0]["seed"] == 9
    assert bodies[1]["negativePrompt"] == "watermark"  # veo3.1 has the field
