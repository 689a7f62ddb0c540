"""Take review on synthetic takes with planted defects: each defect is caught, the clean take wins."""

from __future__ import annotations

from pathlib import Path

import pytest

from shotline.core.review import ReviewConfig, choose, measure, review
from tests.mediakit import ffmpeg

# A smooth 2 px/frame pan across a still: steady motion, no defects.
PAN = "crop=320:180:x='40+2*n':y=40"


def _take(root: Path, name: str, vf: str, audio: str | None = None) -> Path:
    path = root / f"{name}.mp4"
    if path.exists():
        return path
    args = ["-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=0.04,loop=loop=-1:size=1,trim=end_frame=50"]
    if audio:
        args += ["-f", "lavfi", "-i", audio]
    args += ["-vf", vf + ",format=yuv420p", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "16"]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    ffmpeg(*args, str(path))
    return path


@pytest.fixture(scope="module")
def takes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("takes")
    return {
        "clean": _take(root, "clean", PAN),
        "black": _take(root, "black", PAN + ",drawbox=c=black:t=fill:enable='between(t,0.5,1.5)'"),
        "frozen": _take(root, "frozen", PAN + ",trim=end_frame=22,tpad=stop=28:stop_mode=clone"),
        "strobe": _take(
            root, "strobe", PAN + ",geq=lum='lum(X,Y)*if(mod(N,2),1.4,0.55)':cb='cb(X,Y)':cr='cr(X,Y)'"
        ),
        "blur": _take(root, "blur", PAN + ",gblur=sigma=5"),
        "shaky": _take(root, "shaky", "crop=320:180:x='40+2*n+if(mod(n,3),7,-7)':y='40+if(mod(n,4),-5,5)'"),
    }


def test_clean_take_passes_with_plausible_metrics(takes):
    r = review(takes["clean"], duration=2.0, aspect=16 / 9)
    assert r.passed, r.failures
    m = r.metrics
    assert m.frames == 50 and m.duration == pytest.approx(2.0, abs=0.05)
    assert m.longest_black == 0 and m.longest_freeze == 0
    assert m.jitter < 0.5 and m.flicker < 2
    assert m.sharpness > 100


@pytest.mark.parametrize(
    "name, word",
    [("black", "black"), ("frozen", "frozen"), ("strobe", "flicker"), ("shaky", "jitter")],
)
def test_planted_defect_is_caught(takes, name, word):
    r = review(takes[name])
    assert not r.passed
    assert any(word in f for f in r.failures), r.failures


def test_black_and_frozen_durations_are_measured(takes):
    black = measure(takes["black"])
    assert black.longest_black == pytest.approx(1.0, abs=0.1)
    frozen = measure(takes["frozen"])
    assert frozen.longest_freeze == pytest.approx(27 / 25, abs=0.1)


def test_blur_scores_lower_and_clean_take_wins(takes):
    reviews = [review(p) for p in takes.values()]
    choice = choose(reviews)
    assert choice.chosen is not None
    assert Path(choice.chosen.path).name == "clean.mp4"
    blur = next(r for r in reviews if r.path.endswith("blur.mp4"))
    clean = next(r for r in reviews if r.path.endswith("clean.mp4"))
    assert blur.metrics.sharpness < clean.metrics.sharpness / 3
    assert "chosen" in choice.reasons[clean.path]
    assert choice.reasons[str(takes["black"])].startswith("rejected: black")


def test_a_requested_still_may_hold(takes):
    r = review(takes["frozen"], expect_motion=False)
    assert r.passed and any("a still was asked for" in n for n in r.notes)


def test_sharpness_floor_is_configurable(takes):
    r = review(takes["blur"], config=ReviewConfig(min_sharpness=500))
    assert any("soft" in f for f in r.failures)


def test_request_mismatch_and_silence(takes, tmp_path: Path):
    r = review(takes["clean"], duration=5.0, aspect=9 / 16, want_audio=True)
    text = " | ".join(r.failures)
    assert "duration 2.00 s, asked 5.00 s" in text
    assert "aspect" in text
    assert "no audio" in text
    silent = _take(tmp_path, "silent", PAN, audio="anullsrc=r=48000:cl=stereo")
    loud = _take(tmp_path, "loud", PAN, audio="sine=f=440:r=48000")
    assert any("silent" in f for f in review(silent, want_audio=True).failures)
    assert review(loud, want_audio=True).passed


def test_no_passing_take_chooses_nothing(takes):
    choice = choose([review(takes["black"]), review(takes["frozen"])])
    assert choice.chosen is None
    assert all(v.startswith("rejected") for v in choice.reasons.values())


def test_explain_choice_names_the_deciding_metric_in_words():
    from shotline.core.review import ReviewConfig, explain_choice

    def take(n: int, passed: bool, score: float, failures: list[str] = (), **m: float) -> dict:
        metrics = {"sharpness": 400.0, "flicker": 0.2, "jitter": 0.05, "clipped": 0.0, "longest_freeze": 0.0}
        metrics.update(m)
        return {"path": f"t{n}.mp4", "take": n, "passed": passed, "score": score, "failures": list(failures),
                "metrics": metrics}  # fmt: skip

    takes = [
        take(1, True, 5.99, sharpness=400.0),
        take(2, False, 6.1, ["frozen for 1.40 s (limit 0.50 s)"], longest_freeze=1.4),
        take(3, True, 5.70, sharpness=300.0),
    ]
    why = explain_choice(takes, "t1.mp4", ReviewConfig())
    assert why["t2.mp4"].metric == "longest_freeze"
    assert why["t2.mp4"].words == "take 2 froze for 1.40 s, over the 0.50 s limit"
    assert why["t1.mp4"].metric == "sharpness"
    assert why["t1.mp4"].words.startswith("take 1 chosen over take 3: sharper, sharpness 400 vs 300")
    assert why["t3.mp4"].words.startswith("take 3 passed but lost to take 1: softer, sharpness 300 vs 400")
    mine = explain_choice(takes, "t1.mp4", ReviewConfig(), picked_by_editor="t3.mp4")
    assert mine["t3.mp4"].words == "take 3 chosen by the editor (selection.json)"
    assert mine["t1.mp4"].words.startswith("review's pick, overridden by the editor: take 1 chosen")
    alone = explain_choice([takes[0]], "t1.mp4")
    assert alone["t1.mp4"].words == "take 1 chosen: the only take" and alone["t1.mp4"].metric is None
