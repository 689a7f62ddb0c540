"""The ``shotline timeline build`` and ``export`` commands."""

from __future__ import annotations

import json

import opentimelineio as otio
import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from tests.timeline import video_track


@pytest.fixture
def runner():
    return CliRunner()


def test_build_from_clips_then_export(runner, clips, out):
    a = clips(duration=2, rate="24", tone=440)
    b = clips(duration=2, rate="24", tone=550)
    film = out / "film.otio"
    res = runner.invoke(
        cli,
        [
            "timeline",
            "build",
            str(a),
            str(b),
            "--transition",
            "dissolve:0.5",
            "--fade-out",
            "1",
            "-o",
            str(film),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "2 clips, 2 transitions, 3.500 s at 24 fps" in res.output  # the dissolve and the fade out
    tl = otio.adapters.read_from_file(str(film))
    assert tl.duration() == otio.opentime.RationalTime(84, 24)
    res = runner.invoke(cli, ["timeline", "export", str(film), "-f", "edl", "-o", str(out / "film.edl")])
    assert res.exit_code == 0, res.output
    assert "dropped: audio track" in res.output and "wrote" in res.output
    assert "D 012" in (out / "film.edl").read_text()
    # and back: an EDL carries no rate, so it is given
    res = runner.invoke(
        cli,
        ["timeline", "export", str(out / "film.edl"), "--rate", "24", "-o", str(out / "back.otio"), "--json"],
    )
    assert res.exit_code == 0, res.output
    back = otio.adapters.read_from_file(str(out / "back.otio"))
    assert back.duration() == otio.opentime.RationalTime(84, 24)


def test_build_json_speed_and_freeze(runner, clips, out):
    a = clips(duration=2, rate="24", audio=None)
    res = runner.invoke(
        cli,
        [
            "timeline",
            "build",
            str(a),
            str(a),
            "--speed",
            "1:2",
            "--freeze",
            "2:0.5",
            "-o",
            str(out / "f.otio"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert payload["timeline"]["clips"] == 2 and payload["timeline"]["duration"] == pytest.approx(1.5)
    tl = otio.adapters.read_from_file(str(out / "f.otio"))
    first, second = video_track(tl).find_clips()
    assert first.effects[0].time_scalar == 2.0 and isinstance(second.effects[0], otio.schema.FreezeFrame)


def test_build_storyboard_with_media_dir(runner, clips, tmp_path, out):
    import shutil

    sb = tmp_path / "film.yaml"
    sb.write_text(
        "title: T\noutput: {fps: 24}\nshots:\n  - id: s1\n    prompt: x\n    duration: 1\n", encoding="utf-8"
    )
    media = tmp_path / "renders"
    media.mkdir()
    shutil.copy(clips(duration=1, rate="24"), media / "s1.mp4")
    res = runner.invoke(
        cli, ["timeline", "build", str(sb), "--media-dir", str(media), "-o", str(out / "t.otioz")]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["timeline", "build", str(sb), "-o", str(out / "t.otio")])
    assert res.exit_code == 7 and "no media for shot(s) s1" in res.output
    res = runner.invoke(cli, ["timeline", "build", str(sb), "--allow-missing", "-o", str(out / "t.otio")])
    assert res.exit_code == 0 and "offline" in res.output


def test_export_for_resolve_and_strict(runner, clips, out):
    a = clips(duration=2, rate="24")
    film = out / "film.otio"
    assert (
        runner.invoke(
            cli, ["timeline", "build", str(a), str(a), "--transition", "dissolve:0.5", "-o", str(film)]
        ).exit_code
        == 0
    )
    res = runner.invoke(cli, ["timeline", "export", str(film), "--for", "resolve", "-o", str(out / "r.otio")])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "r.otio").read_text())["metadata"]["Resolve_OTIO"]
    res = runner.invoke(
        cli, ["timeline", "export", str(film), "-f", "fcpxml", "--strict", "-o", str(out / "s.fcpxml")]
    )
    assert res.exit_code == 7 and "would drop" in res.output
    assert not (out / "s.fcpxml").exists()


def test_cli_errors_are_one_line_with_exit_codes(runner, clips, out, tmp_path):
    a = clips(duration=1, rate="24")
    bad = tmp_path / "bad.otio"
    bad.write_text("nope")
    res = runner.invoke(cli, ["timeline", "export", str(bad), "-f", "edl", "-o", str(out / "x.edl")])
    assert res.exit_code == 7 and "bad.otio: OTIO cannot read" in res.output and "Traceback" not in res.output
    res = runner.invoke(
        cli,
        [
            "timeline",
            "build",
            str(a),
            str(a),
            str(a),
            "--transition",
            "dissolve:0.9",
            "-o",
            str(out / "x.otio"),
        ],
    )
    assert res.exit_code == 7 and "shorten the transitions" in res.output
    res = runner.invoke(
        cli, ["timeline", "build", str(a), "--transition", "spin:1", "-o", str(out / "x.otio")]
    )
    assert res.exit_code == 2
    res = runner.invoke(cli, ["timeline", "build", str(tmp_path / "missing.mp4"), "-o", str(out / "x.otio")])
    assert res.exit_code == 3 and "missing.mp4" in res.output
    (out / "x.otio").write_text("keep")
    res = runner.invoke(cli, ["timeline", "build", str(a), "-o", str(out / "x.otio")])
    assert res.exit_code == 2 and (out / "x.otio").read_text() == "keep"
    assert sorted(p.name for p in out.iterdir()) == ["x.otio"]


def test_build_trims_shots(runner, clips, out):
    a = clips(duration=2, rate="24", audio=None)
    res = runner.invoke(
        cli,
        [
            "timeline",
            "build",
            str(a),
            str(a),
            "--trim",
            "1:0.5-1.5",
            "--trim",
            "2:1.5-",
            "-o",
            str(out / "t.otio"),
        ],
    )
    assert res.exit_code == 0, res.output
    first, second = video_track(otio.adapters.read_from_file(str(out / "t.otio"))).find_clips()
    assert (first.source_range.start_time.value, first.source_range.duration.value) == (12, 24)
    assert (second.source_range.start_time.value, second.source_range.duration.value) == (36, 12)
    res = runner.invoke(cli, ["timeline", "build", str(a), "--trim", "1:2-1", "-o", str(out / "x.otio")])
    assert res.exit_code == 2 and "IN < OUT" in res.output


def test_export_reports_what_reads_back_changed_and_strict_refuses_it(runner, clips, out):
    a = clips(duration=2, rate="24", audio=None)
    tl = otio.schema.Timeline(name="tail")
    t = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    rng = otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(20, 24))
    t.append(
        otio.schema.Clip(
            name="a", media_reference=otio.schema.ExternalReference(target_url=str(a)), source_range=rng
        )
    )
    t.append(otio.schema.Gap(source_range=rng))  # FCPXML loses a trailing gap
    tl.tracks.append(t)
    film = out / "tail.otio"
    otio.adapters.write_to_file(tl, str(film))
    res = runner.invoke(cli, ["timeline", "export", str(film), "-o", str(out / "t.fcpxml")])
    assert res.exit_code == 0, res.output
    assert "reads back changed: video track Video: 40 frames long, reads back as 20" in res.output
    res = runner.invoke(cli, ["timeline", "export", str(film), "--strict", "-o", str(out / "s.fcpxml")])
    assert res.exit_code == 7 and "would change the edit" in res.output
    assert not (out / "s.fcpxml").exists()


def test_otioz_export_relinks_with_media_dir_and_bundles_references_when_asked(runner, clips, out, tmp_path):
    a = clips(duration=1, rate="24", audio=None, name="take.mp4")
    tl = otio.schema.Timeline(name="moved")
    t = otio.schema.Track(kind=otio.schema.TrackKind.Video)
    rng = otio.opentime.TimeRange(otio.opentime.RationalTime(0, 24), otio.opentime.RationalTime(10, 24))
    ref = otio.schema.ExternalReference(target_url="media/take.mp4")  # relative: from the timeline's folder
    t.append(otio.schema.Clip(name="take", media_reference=ref, source_range=rng))
    tl.tracks.append(t)
    film = tmp_path / "moved.otio"
    otio.adapters.write_to_file(tl, str(film))
    res = runner.invoke(cli, ["timeline", "export", str(film), "-o", str(out / "a.otioz")])
    assert res.exit_code == 7 and "--media-dir" in res.output
    res = runner.invoke(
        cli, ["timeline", "export", str(film), "--media-dir", str(a.parent), "-o", str(out / "b.otioz")]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["timeline", "export", str(film), "--allow-missing", "-o", str(out / "c.otioz")])
    assert res.exit_code == 0 and "without media" in res.output
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "take.mp4").write_bytes(a.read_bytes())
    res = runner.invoke(cli, ["timeline", "export", str(film), "-o", str(out / "d.otioz")])
    assert res.exit_code == 0, res.output
