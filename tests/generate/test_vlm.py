"""Prompt-adherence review against local stand-ins of OpenAI's Responses API and Gemini's
generateContent (real sockets, real httpx, real frames), with the faults the services show."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from shotline.core.errors import UsageError
from shotline.core.generate import vlm
from shotline.core.generate.providers.http import RemoteError, RetryPolicy
from shotline.core.generate.storyboard import from_dict
from shotline.core.review import TakeMetrics, TakeReview, choose
from tests.generate.servers.base import Fault, LocalServer
from tests.generate.servers.vlm import GeminiApp, OpenAIResponsesApp

OPENAI_KEY = "sk-test-5ECRET-review-0123456789"
GEMINI_KEY = "AIza-test-5ECRET-gemini-0123456789"
PROMPT = "a red ball rolling across the floor"


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with LocalServer(OpenAIResponsesApp(OPENAI_KEY)) as server:
        yield server


@pytest.fixture
def gemini_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    monkeypatch.setenv("GEMINI_API_KEY", GEMINI_KEY)
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    with LocalServer(GeminiApp(GEMINI_KEY)) as server:
        yield server


@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from tests.mediakit import ffmpeg

    d = tmp_path_factory.mktemp("vlm")
    out = {}
    for colour in ("red", "blue"):
        p = d / f"{colour}.mp4"
        src = f"color=c={colour}:s=320x180:r=25:d=1.2,noise=alls=12:allf=t"
        ffmpeg("-f", "lavfi", "-i", src, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(p))
        out[colour] = p
    return out


def _spec(server: LocalServer, model: str, **kw: object) -> vlm.VlmSpec:
    base = server.url + ("/v1" if not model.startswith("gemini") else "/v1beta")
    return vlm.VlmSpec(model=model, base_url=base, **kw)  # type: ignore[arg-type]


def _reviewer(spec: vlm.VlmSpec, sleeps: list[float] | None = None, **kw: object) -> vlm.Reviewer:
    return vlm.Reviewer(
        spec,
        allow_http_loopback=True,
        sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
        **kw,  # type: ignore[arg-type]
    )


def test_openai_responses_contract_and_verdicts(openai_server: LocalServer, takes: dict[str, Path]) -> None:
    spec = _spec(openai_server, "gpt-4.1-mini")
    with _reviewer(spec) as r:
        red, blue = r.judge(takes["red"], PROMPT), r.judge(takes["blue"], PROMPT)
    assert (red.score, red.seen, red.missing) == (1.0, ("red",), ())
    assert (blue.score, blue.seen, blue.missing) == (0.0, (), ("red",))
    assert red.service == "openai" and red.frames == 4 and red.input_tokens == 100 + 4 * 85
    assert red.cost == pytest.approx((440 * 0.40 + 40 * 1.60) / 1e6)
    req = openai_server.requests[0]
    assert req.path == "/v1/responses" and req.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    body = req.json()
    content = body["input"][0]["content"]
    assert body["model"] == "gpt-4.1-mini" and body["store"] is False
    assert PROMPT in content[0]["text"] and [c["type"] for c in content[1:]] == ["input_image"] * 4
    jpeg = base64.b64decode(content[1]["image_url"].split(",", 1)[1])
    assert jpeg[:2] == b"\xff\xd8" and content[1]["detail"] == "low"
    assert body["text"]["format"]["schema"]["required"] == ["score", "seen", "missing", "reason"]
    assert r.spent == pytest.approx(red.cost + blue.cost)


def test_gemini_generate_content_contract(gemini_server: LocalServer, takes: dict[str, Path]) -> None:
    spec = _spec(gemini_server, "gemini-2.5-flash", frames=3)
    with _reviewer(spec) as r:
        verdict = r.judge(takes["red"], PROMPT)
    assert verdict.score == 1.0 and verdict.service == "gemini" and verdict.frames == 3
    req = gemini_server.requests[0]
    assert req.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert req.headers["x-goog-api-key"] == GEMINI_KEY and "authorization" not in req.headers
    parts = req.json()["contents"][0]["parts"]
    assert sum("inline_data" in p for p in parts) == 3


def test_google_api_key_is_the_fallback(monkeypatch: pytest.MonkeyPatch, takes: dict[str, Path]) -> None:
    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    monkeypatch.setenv("GOOGLE_API_KEY", GEMINI_KEY)
    with (
        LocalServer(GeminiApp(GEMINI_KEY)) as server,
        _reviewer(_spec(server, "gemini:gemini-2.5-flash")) as r,
    ):
        assert r.judge(takes["red"], PROMPT).score == 1.0


def test_429_is_retried_after_the_wait_each_service_asks(
    openai_server: LocalServer, gemini_server: LocalServer, takes: dict[str, Path]
) -> None:
    openai_server.faults.append(
        Fault(
            "POST",
            "/v1/responses",
            status=429,
            headers={"retry-after": "3"},
            body=b'{"error": {"message": "Rate limit"}}',
        )
    )
    retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
    gemini_err = {
        "error": {
            "code": 429,
            "message": "Resource exhausted",
            "status": "RESOURCE_EXHAUSTED",
            "details": [retry],
        }
    }
    gemini_server.faults.append(
        Fault("POST", "generateContent", status=429, body=json.dumps(gemini_err).encode())
    )
    sleeps: list[float] = []
    with _reviewer(_spec(openai_server, "gpt-4.1-mini"), sleeps) as r:
        assert r.judge(takes["red"], PROMPT).score == 1.0
    with _reviewer(_spec(gemini_server, "gemini-2.5-flash"), sleeps) as r:
        assert r.judge(takes["red"], PROMPT).score == 1.0
    assert sleeps == [3.0, 7.0]
    assert len(openai_server.requests) == 2 and len(gemini_server.requests) == 2


def test_a_timeout_is_not_repeated_and_its_estimate_is_counted(
    openai_server: LocalServer, takes: dict[str, Path]
) -> None:
    openai_server.faults.append(Fault("POST", "/v1/responses", action="slow", delay=1.5))
    spec = _spec(openai_server, "gpt-4.1-mini")
    with _reviewer(spec, timeout=0.3) as r:
        with pytest.raises(RemoteError) as exc:
            r.judge(takes["red"], PROMPT)
        assert exc.value.maybe_created and r.spent == pytest.approx(vlm.estimate_cost(spec, PROMPT))
    assert len(openai_server.requests) == 1  # it may have been billed: never sent twice blindly


@pytest.mark.parametrize(
    ("answer", "fault", "words"),
    [
        ("notjson", None, "not JSON"),
        ("badschema", None, "does not match the verdict schema"),
        ("refusal", None, "refused"),
        ("incomplete", None, "'incomplete' (max_output_tokens)"),
        ("ok", "malformed", "malformed JSON"),
        ("ok", "500", "HTTP 500"),
    ],
)
def test_broken_answers_become_notes_not_verdicts(
    openai_server: LocalServer, takes: dict[str, Path], answer: str, fault: str | None, words: str
) -> None:
    app = openai_server.app
    assert isinstance(app, OpenAIResponsesApp)
    app.answer = answer
    if fault == "malformed":
        openai_server.faults.append(Fault("POST", "/v1/responses", action="malformed"))
    elif fault == "500":
        openai_server.faults.append(Fault("POST", "/v1/responses", status=500, times=5))
    run = vlm.judge_takes(
        _spec(openai_server, "gpt-4.1-mini"),
        [(takes["red"], PROMPT)],
        allow_http_loopback=True,
        sleep=lambda s: None,
        policy=RetryPolicy(attempts=2, base=0.0),
    )
    assert run.verdicts == {} and len(run.notes) == 1 and words in run.notes[0], run.notes


@pytest.mark.parametrize(
    ("answer", "words"), [("blocked", "blocked (SAFETY)"), ("safety", "stopped early (SAFETY)")]
)
def test_gemini_blocked_and_stopped_answers(
    gemini_server: LocalServer, takes: dict[str, Path], answer: str, words: str
) -> None:
    app = gemini_server.app
    assert isinstance(app, GeminiApp)
    app.answer = answer
    with (
        _reviewer(_spec(gemini_server, "gemini-2.5-flash")) as r,
        pytest.raises(vlm.AdherenceError, match=re.escape(words)),
    ):
        r.judge(takes["red"], PROMPT)


def test_keys_never_shown(
    openai_server: LocalServer, takes: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "sk-test-5ECRET-wrong-9876543210"
    monkeypatch.setenv("OPENAI_API_KEY", wrong)
    run = vlm.judge_takes(
        _spec(openai_server, "gpt-4.1-mini"),
        [(takes["red"], PROMPT)],
        allow_http_loopback=True,
        sleep=lambda s: None,
    )
    assert "HTTP 401" in run.notes[0] and "Incorrect API key provided" in run.notes[0]
    assert wrong not in run.notes[0] and OPENAI_KEY not in run.notes[0]
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(UsageError, match="OPENAI_API_KEY") as exc:
        vlm.Reviewer(_spec(openai_server, "gpt-4.1-mini"), allow_http_loopback=True)
    assert wrong not in str(exc.value)


def test_budget_refuses_before_any_call_and_stops_between_calls(
    openai_server: LocalServer, takes: dict[str, Path]
) -> None:
    one = vlm.estimate_cost(vlm.VlmSpec("gpt-4.1-mini"), PROMPT)
    pairs = [(takes["red"], PROMPT), (takes["blue"], PROMPT)]
    with pytest.raises(UsageError, match="over the review budget"):
        vlm.judge_takes(
            _spec(openai_server, "gpt-4.1-mini", budget=1.5 * one), pairs, allow_http_loopback=True
        )
    assert openai_server.requests == []
    # a cap the first estimate fits: the first call's real cost (from the usage the service reports)
    # leaves less than the next estimate, so the second take is refused before any request
    with _reviewer(_spec(openai_server, "gpt-4.1-mini", budget=1.2 * one)) as r:
        r.judge(takes["red"], PROMPT)
        assert 0 < r.spent < one
        with pytest.raises(vlm.AdherenceError, match="review budget reached"):
            r.judge(takes["blue"], PROMPT)
    assert len(openai_server.requests) == 1


def test_unknown_model_price_must_be_given(openai_server: LocalServer) -> None:
    with pytest.raises(UsageError, match="no price known"):
        vlm.Reviewer(_spec(openai_server, "my-local-vlm"), allow_http_loopback=True)
    r = vlm.Reviewer(_spec(openai_server, "my-local-vlm", price=(1.0, 2.0)), allow_http_loopback=True)
    r.close()


def _take(path: str, score: float, passed: bool = True, adherence: float | None = None) -> TakeReview:
    m = TakeMetrics(5.0, 125, 1280, 720, 0.0, 0.0, 0.0, 0.0, 0.5, 0.1, 100.0, 0.0, None)
    a = (
        None
        if adherence is None
        else {"score": adherence, "seen": [], "missing": ["red"], "model": "gpt-4.1-mini"}
    )
    return TakeReview(path, m, () if passed else ("black for 1.00 s",), score, adherence=a)


def test_adherence_is_one_more_signal_in_take_choice_never_the_only_one() -> None:
    # a slightly sharper take that misses the prompt loses to one that shows it
    choice = choose([_take("a.mp4", 5.2, adherence=0.1), _take("b.mp4", 5.0, adherence=0.9)])
    assert choice.chosen is not None and choice.chosen.path == "b.mp4"
    assert "prompt adherence 0.90 by gpt-4.1-mini" in choice.reasons["b.mp4"]
    # a failed take stays rejected whatever the model says, and a clear metric gap still wins
    choice = choose([_take("c.mp4", 9.0, passed=False, adherence=1.0), _take("d.mp4", 3.0, adherence=0.2)])
    assert choice.chosen is not None and choice.chosen.path == "d.mp4"
    assert choice.reasons["c.mp4"].startswith("rejected: black")
    choice = choose([_take("e.mp4", 8.0, adherence=0.3), _take("f.mp4", 5.0, adherence=0.9)])
    assert choice.chosen is not None and choice.chosen.path == "e.mp4"
    assert "adherence" in json.dumps(_take("g.mp4", 1.0, adherence=0.5).to_dict())
    assert "adherence" not in _take("h.mp4", 1.0).to_dict()


def test_storyboard_review_block() -> None:
    shots = [{"id": "a", "prompt": "a red ball"}]
    sb = from_dict({"review": {"model": "gemini-2.5-flash", "frames": 3, "budget": 0.25}, "shots": shots})
    assert sb.review is not None and (sb.review.model, sb.review.frames, sb.review.budget) == (
        "gemini-2.5-flash",
        3,
        0.25,
    )
    assert from_dict({"shots": shots}).review is None  # off by default
    assert from_dict({"review": "gpt-4.1-mini", "shots": shots}).review.model == "gpt-4.1-mini"  # type: ignore[union-attr]
    with pytest.raises(UsageError, match="review price"):
        from_dict({"review": {"model": "x", "price": "cheap"}, "shots": shots})


ONE_SHOT = """
title: Ball
output: {width: 320, height: 180, fps: 25}
review: {model: gpt-4.1-mini, frames: 2, budget: 0.05}
shots:
  - id: a
    prompt: a red ball on a white floor
    duration: 1.0
    takes: 2
"""


def test_produce_review_stage_adds_the_labelled_verdicts(openai_server: LocalServer, tmp_path: Path) -> None:
    from shotline.core.produce.producer import ProduceOptions, produce
    from shotline.core.produce.report import ReportShot, ReportTake, _take_html

    sb = tmp_path / "ball.yaml"
    sb.write_text(ONE_SHOT, encoding="utf-8")
    opts = ProduceOptions(
        preview_format="webp", only=("generate", "review"), review_base_url=openai_server.url + "/v1"
    )
    res = produce(sb, tmp_path / "out", opts)
    review = json.loads((tmp_path / "out" / "review.json").read_text(encoding="utf-8"))
    takes = review["a"]["takes"]
    assert len(takes) == 2 and len(openai_server.requests) == 2
    for t in takes:
        a = t["adherence"]
        assert a["signal"] == "prompt adherence (vision-language model)" and a["model"] == "gpt-4.1-mini"
        assert a["frames"] == 2 and 0 <= a["score"] <= 1 and a["cost_usd"] > 0
    assert any("prompt adherence" in why for why in review["a"]["reasons"].values())
    assert not [n for n in res.notes if "prompt-adherence" in n]
    take = ReportTake(1, takes[0]["path"], None, True, True, "chosen", adherence=takes[0]["adherence"])
    shot = ReportShot("a", "prompt", "local", "animatic", 1.0, (take,))
    html = _take_html(shot, take, "credits", tmp_path)
    assert "prompt adherence" in html and "one signal among the metrics" in html
