"""Shot detection on a lavfi film whose every transition is known (tests/filmkit.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.errors import DependencyError
from tests.filmkit import FLASH, SHOTS, cut_film
from tests.mediakit import decode_gray

pytest.importorskip("scenedetect", reason="pip install 'shotline[detect]'")

from shotline.core.ops import detect as dt


@pytest.fixture(scope="module")
def film(tmp_path_factory: pytest.TempPathFactory):
    return cut_film(tmp_path_factory.mktemp("detect") / "film.mp4")


@pytest.fixture(scope="module")
def found(film) -> dt.Detection:
    return dt.detect(film[0])


def test_every_transition_found_at_its_frames_and_no_false_cut(film, found: dt.Detection) -> None:
    _, truth, frames = film
    assert found.frames == frames
    assert [c.kind for c in found.cuts] == [t.kind for t in truth], found.to_dict()["cuts"]
    for got, want in zip(found.cuts, truth):
        if want.kind == "cut":
            assert (got.start, got.end, got.frame) == (want.start, want.end, want.start)
        else:  # dissolve or fade: both ends within 2 frames, the boundary inside it
            assert abs(got.start - want.start) <= 2 and abs(got.end - want.end) <= 2, (got, want)
            assert want.start <= got.frame < want.end
        assert 0 < got.confidence <= 1


def test_flash_and_pan_are_not_cuts(film, found: dt.Detection) -> None:
    _, truth, _ = film
    flash_at = sum(f for _, f in SHOTS[: FLASH[0]]) - 16 + FLASH[1]  # the dissolve overlaps 16 frames
    # PySceneDetect's AdaptiveDetector proposes the flash; the check turns it down and says why
    assert any(r["frame"] == flash_at and "flash" in r["why"] for r in found.rejected), found.rejected
    boundaries = {c.frame for c in found.cuts}
    pan_start = next(t.start for t in truth if t.start > flash_at)
    pan_end = next(t.start for t in truth if t.start > pan_start)
    assert not any(pan_start < b < pan_end for b in boundaries)
    assert not any(flash_at - 3 <= b <= flash_at + 3 for b in boundaries)


def test_shots_tile_the_file(found: dt.Detection) -> None:
    assert found.shots[0].start == 0 and found.shots[-1].end == found.frames
    for a, b in zip(found.shots, found.shots[1:]):
        assert a.end == b.start
    assert [s.transition_in.kind if s.transition_in else None for s in found.shots][:4] == [
        None,
        "cut",
        "cut",
        "dissolve",
    ]


def test_a_single_shot_has_no_cut(clips) -> None:
    det = dt.detect(clips(duration=2.0, source="testsrc2", audio=None))
    assert det.cuts == () and len(det.shots) == 1 and det.shots[0].end == det.frames == 50


def test_cli_writes_a_timeline_of_the_original_and_splits_frame_exactly(film, found, tmp_path: Path) -> None:
    path, _, frames = film
    out, shots_dir = tmp_path / "cuts.otio", tmp_path / "shots"
    r = CliRunner().invoke(
        cli, ["timeline", "detect", str(path), "-o", str(out), "--split", str(shots_dir), "--json"]
    )
    assert r.exit_code == 0, r.output
    payload = json.loads(r.output)
    assert len(payload["shots"]) == len(found.shots) == len(payload["split"])

    tl = otio.adapters.read_from_file(str(out))
    clips = list(tl.video_tracks()[0].find_clips())
    assert len(clips) == len(found.shots)
    assert {Path(c.media_reference.target_url.removeprefix("file://")) for c in clips} == {path.resolve()}
    assert sum(c.source_range.duration.to_frames() for c in clips) == frames
    for clip, shot in zip(clips, found.shots):
        assert clip.source_range.start_time.to_frames() == shot.start
        (marker,) = clip.markers
        assert marker.metadata["shotline"]["confidence"] == pytest.approx(shot.confidence)
        assert f"shot {shot.index}" in marker.comment
    dissolve = clips[3].metadata["shotline"]["transition_in"]
    assert dissolve["kind"] == "dissolve" and dissolve["length"] >= 13

    source = decode_gray(path)
    for entry, shot in zip(payload["split"], found.shots):
        assert entry["frames"] == shot.end - shot.start
        got = decode_gray(entry["output"])
        assert len(got) == shot.end - shot.start
        # first and last frames are the source's frames at the shot's bounds
        for mine, theirs in ((got[0], source[shot.start]), (got[-1], source[shot.end - 1])):
            assert np.abs(mine.astype(int) - theirs.astype(int)).mean() < 3
    # shots 1 and 2 begin and end on keyframes (1 s GOPs): stream-copied whole, no re-encode
    assert [e["copied_frames"] == e["frames"] for e in payload["split"][:2]] == [True, True]
    assert payload["split"][3]["copied_frames"] < payload["split"][3]["frames"]  # the dissolve's midpoint


def test_missing_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "scenedetect", None)
    with pytest.raises(DependencyError, match=r"shotline\[detect\]"):
        dt.require_scenedetect()
    r = CliRunner().invoke(cli, ["timeline", "detect", "x.mp4", "-o", "y.otio"])
    assert r.exit_code == DependencyError.exit_code


def test_long_films_are_searched_in_blocks_with_the_same_result(
    film, found: dt.Detection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dt, "_BLOCK", 37)  # blocks end inside the dissolve and the fade
    again = dt.detect(film[0])
    assert [(c.kind, c.start, c.end, c.frame) for c in again.cuts] == [
        (c.kind, c.start, c.end, c.frame) for c in found.cuts
    ]
