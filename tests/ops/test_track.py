"""reframe --track: a real face (scikit-image's astronaut) crossing a 16:9 film, reframed to 9:16."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.errors import DependencyError
from shotline.core.ops import track as tr
from shotline.core.ops.presets import Preset, get_preset
from shotline.core.ops.reframe import geometry, plan_reframe, reframe
from tests.filmkit import FACE_CUT, FACE_FRAMES, FACE_SIZE, face_box, face_film, face_x
from tests.mediakit import decode_gray

pytest.importorskip("skimage", reason="the astronaut photograph comes from scikit-image (dev extra)")
cv2 = pytest.importorskip("cv2", reason="pip install 'shotline[track]'")
SMALL = Preset("small916", "9:16 test size", 180, 320)


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return face_film(tmp_path_factory.mktemp("track") / "face.mp4")


@pytest.fixture(scope="module")
def observed(film: Path) -> tr.Observations:
    cuts, why = tr.shot_cuts(film)
    assert why is None and cuts == (FACE_CUT,)  # the path is cut where the shot changes
    return tr.observe(film, "face", cuts=cuts)


def _plan(obs: tr.Observations, preset: Preset) -> tr.CameraPath:
    geo = geometry(FACE_SIZE, (preset.width, preset.height), "crop")
    return tr.plan_path(obs, geo.scaled, geo.frame, mode="face", cuts=(FACE_CUT,))


def _inside(x: int, window: int, scale: float, frame: int) -> bool:
    x0, _, x1, _ = face_box(frame)
    return x0 * scale >= x and x1 * scale <= x + window


def test_face_stays_inside_the_9_16_window(observed: tr.Observations) -> None:
    path = _plan(observed, get_preset("tiktok"))
    k = path.scaled[0] / FACE_SIZE[0]
    inside = sum(_inside(path.x[t], path.window[0], k, t) for t in range(FACE_FRAMES))
    assert path.frames == FACE_FRAMES
    assert inside / FACE_FRAMES >= 0.98, inside
    # the centre crop on the same film loses the face most of the time
    centre = geometry(FACE_SIZE, (1080, 1920), "crop").crop
    assert centre is not None
    centre_inside = sum(_inside(centre[0], path.window[0], k, t) for t in range(FACE_FRAMES))
    assert centre_inside / FACE_FRAMES < 0.6, centre_inside


def test_path_is_smooth_holds_still_and_cuts_at_the_shot_cut(observed: tr.Observations) -> None:
    path = _plan(observed, get_preset("tiktok"))
    k = path.scaled[0] / FACE_SIZE[0]
    subject_speed = max(abs(face_x(t + 1) - face_x(t)) for t in range(FACE_CUT - 1)) * k
    # no jitter: the speed never passes the subject's, the acceleration stays under the bound
    # the planner guarantees for that speed (Gaussian corners + 2 px of rounding)
    assert path.speed() <= subject_speed + 1
    assert path.accel() <= path.accel_bound(subject_speed), (path.accel(), path.accel_bound(subject_speed))
    # the naive follower (window centred on each detection) is far rougher
    naive = np.array([(b[0] + b[2]) / 2 for b in path.subject if b is not None][:FACE_CUT])
    assert np.abs(np.diff(naive, 2)).max() > 3 * path.accel()
    # the last shot: the subject never moves, so neither does the window, from its first frame
    assert set(path.x[FACE_CUT:]) == {path.x[FACE_CUT]}
    # the pause between the moves (frames 74-133): once the easing (3 sigma) is over, it holds
    ease = round(3 * path.smooth * 25)
    assert len(set(path.x[74 + ease : 134 - ease])) == 1
    # and no wobble anywhere: the window turns round once (right, then back left) in the first shot
    steps = [b - a for a, b in zip(path.x[:FACE_CUT], path.x[1:FACE_CUT]) if b != a]
    assert sum(1 for a, b in zip(steps, steps[1:]) if (a > 0) != (b > 0)) == 1
    # the path jumps at the cut instead of panning across it
    assert abs(path.x[FACE_CUT] - path.x[FACE_CUT - 1]) > 10 * path.speed() / 4
    assert set(path.y) == {0}  # 16:9 -> 9:16 keeps the full height


def test_render_follows_the_path_in_one_pass(film: Path, observed: tr.Observations, tmp_path: Path) -> None:
    path = _plan(observed, SMALL)
    out = tmp_path / "vertical.mp4"
    plan = plan_reframe(film, out, SMALL, path=path)
    assert len(plan.steps) == 1 and "sendcmd" in " ".join(plan.steps[0].args)
    result = reframe(film, out, SMALL, path=path)
    assert (result.width, result.height) == (180, 320) and result.track is not None
    src, got = decode_gray(film), decode_gray(out)
    assert len(got) == len(src)
    sw, sh = path.scaled
    for t in range(0, len(got), 7):
        big = cv2.resize(src[t], (sw, sh), interpolation=cv2.INTER_AREA).astype(int)
        on_path = np.abs(got[t].astype(int) - big[:, path.x[t] : path.x[t] + 180]).mean()
        shifted = min(path.x[t] + 12, sw - 180) if path.x[t] < sw - 192 else path.x[t] - 12
        off_path = np.abs(got[t].astype(int) - big[:, shifted : shifted + 180]).mean()
        assert on_path < 5 and on_path < off_path, (t, on_path, off_path)


def test_held_subject_with_jittery_detections_gives_a_still_window() -> None:
    rng = np.random.default_rng(3)
    boxes = []
    for t in range(100):
        if t % 9 == 4:
            boxes.append(None)  # missed frames hold the last position
            continue
        cx = 300 + rng.uniform(-4, 4)
        boxes.append((cx - 40, 100.0, cx + 40, 180.0))
    obs = tr.Observations(
        tuple(boxes), tuple("face" if b else "" for b in boxes), tr.Fraction(25), (640, 360), "t"
    )
    path = tr.plan_path(obs, (640, 360), (202, 360), mode="face")
    assert len(set(path.x)) == 1 and path.still_frames() == 2 * 99
    none = tr.Observations((None,) * 10, ("",) * 10, tr.Fraction(25), (640, 360), "t")
    assert set(tr.plan_path(none, (640, 360), (202, 360), mode="face").x) == {(640 - 202) // 2}


def test_motion_mode_follows_the_moving_photograph(film: Path) -> None:
    obs = tr.observe(film, "motion")
    moving = [t for t in range(30, 70) if obs.kinds[t] == "motion"]
    assert len(moving) > 30
    centres = [(obs.boxes[t][0] + obs.boxes[t][2]) / 2 for t in moving]  # type: ignore[index]
    assert centres[-1] - centres[0] > 150  # it moved right with the subject


def test_cli_dry_run_json_shows_the_path(film: Path, tmp_path: Path) -> None:
    out = tmp_path / "v.mp4"
    r = CliRunner().invoke(
        cli,
        [
            "reframe",
            str(film),
            "--preset",
            "tiktok",
            "--track",
            "face",
            "-o",
            str(out),
            "--dry-run",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    payload = json.loads(r.output)
    assert payload["track"]["cuts"] == [FACE_CUT] and len(payload["track"]["x"]) == FACE_FRAMES
    assert payload["track"]["subject_found"] == FACE_FRAMES and not out.exists()
    assert any("sendcmd" in c for c in payload["commands"])
    r = CliRunner().invoke(
        cli, ["reframe", str(film), "-p", "tiktok", "--track", "face", "--mode", "pad", "-o", str(out)]
    )
    assert r.exit_code == 2


def test_opencv_without_cascades_names_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", types.SimpleNamespace(__version__="5.0.0"))
    with pytest.raises(DependencyError, match="opencv-python>=4.8,<5"):
        tr.require_cv2()
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(DependencyError, match=r"shotline\[track\]"):
        tr.require_cv2()


def test_a_phone_clip_is_tracked_the_way_the_player_turns_it(
    film: Path, observed: tr.Observations, tmp_path: Path
) -> None:
    from tests.mediakit import ffmpeg

    # pixels stored turned a quarter clockwise, with the display matrix that turns them back
    turned, tagged = tmp_path / "turned.mp4", tmp_path / "phone.mp4"
    ffmpeg("-i", str(film), "-frames:v", "12", "-vf", "transpose=clock", "-c:v", "libx264", str(turned))
    ffmpeg("-display_rotation:v:0", "90", "-i", str(turned), "-c", "copy", str(tagged))
    obs = tr.observe(tagged, "face")
    assert obs.size == FACE_SIZE and obs.found == 12
    for got, want in zip(obs.boxes, observed.boxes[:12]):
        assert got is not None and want is not None
        assert max(abs(a - b) for a, b in zip(got, want)) < 6, (got, want)
