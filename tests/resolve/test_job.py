"""Writing the job: preset mapping, rates, markers, validation, and the `shotline resolve job` command."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.errors import MediaError, TimelineError, UsageError
from shotline.resolve_plugin import job as jobmod
from shotline.resolve_plugin.shotline_resolve import read_fcp7, read_otio, validate_job


@pytest.mark.parametrize(
    ("rate", "name"),
    [
        (Fraction(24000, 1001), "23.976"),
        (Fraction(24), "24"),
        (Fraction(25), "25"),
        (Fraction(30000, 1001), "29.97"),
        (Fraction(60000, 1001), "59.94"),
        (23.976023976, "23.976"),
    ],
)
def test_resolve_rate_names(rate, name):
    assert jobmod.resolve_rate(rate) == name


def test_rates_resolve_cannot_run_at_are_refused():
    with pytest.raises(UsageError, match="12.500 fps"):
        jobmod.resolve_rate(Fraction(25, 2))


def test_presets_map_to_resolve_ids_and_sizes():
    yt = jobmod.render_target("youtube")
    assert (yt.preset, yt.format, yt.codec, yt.width, yt.height) == (
        "youtube-1080p",
        "mp4",
        "H264",
        1920,
        1080,
    )
    assert jobmod.render_target("tiktok").width == 1080 and jobmod.render_target("tiktok").height == 1920
    assert jobmod.render_target("4k").quality == "Best"  # crf 18 -> Resolve's top quality word
    with pytest.raises(UsageError, match="unknown preset"):
        jobmod.render_target("betamax")


def test_platform_frame_rate_caps_become_render_rates():
    assert jobmod.render_target("instagram", Fraction(60)).frame_rate == 30.0
    assert jobmod.render_target("instagram", Fraction(60000, 1001)).frame_rate == 29.97
    assert jobmod.render_target("instagram", Fraction(25)).frame_rate is None  # under the cap: as is
    assert jobmod.render_target("youtube", Fraction(60)).frame_rate is None
    assert "frame_rate" not in jobmod.render_target("youtube", Fraction(24)).to_job("/r", "f")


def test_job_carries_the_timeline_facts(edit, drx, tmp_path):
    job = jobmod.build_job(edit.path, drx=drx, presets=["youtube", "x"], render_dir=tmp_path / "r")
    assert validate_job(job) == []
    assert job["project"] == {"name": None, "frame_rate": "24", "width": 160, "height": 90}
    assert job["timeline"]["name"] == "Promo Edit" and job["timeline"]["path"] == str(edit.path)
    assert job["grades"]["all"] == str(drx)
    # shot markers land at record frames: 2 frames into each shot
    assert [(m["frame"], m["color"], m["name"]) for m in job["markers"]] == [
        (2, "Green", "shot1"),
        (38, "Green", "shot2"),
    ]
    assert json.loads(job["markers"][0]["custom_data"]) == {}
    files = [j["file_name"] for j in job["render"]["jobs"]]
    # named after the timeline as Resolve names it on import (the script fills it in)
    assert files == ["{timeline} - youtube-1080p", "{timeline} - x"]


def test_stdlib_readers_agree_with_opentimelineio(edit, tmp_path):
    """The script's own OTIO and FCP7 readers see the same cut as OTIO does."""
    otio_view = read_otio(str(edit.path), edit.rate)
    assert [(c["shot"], c["start"], c["duration"]) for c in otio_view[0]["clips"]] == edit.clips
    assert otio_view[0]["transitions"] == [{"cut": 36, "in": 6, "out": 6}]
    xml = jobmod.write_fcp7_xml(edit.path, tmp_path / "edit.xml")
    xml_view = read_fcp7(str(xml), edit.rate)
    assert [(c["shot"], c["start"], c["duration"]) for c in xml_view[0]["clips"]] == edit.clips
    assert xml_view[0]["transitions"] == [{"cut": 36, "in": 6, "out": 6}]


def test_missing_inputs_name_the_file(edit, tmp_path):
    with pytest.raises(MediaError, match="nope.drx"):
        jobmod.build_job(edit.path, drx=tmp_path / "nope.drx")
    with pytest.raises(MediaError, match="gone.otio: timeline file not found"):
        jobmod.build_job(tmp_path / "gone.otio")
    bad = tmp_path / "bad.otio"
    bad.write_text("{ nope")
    with pytest.raises(TimelineError, match="bad.otio: not a readable OTIO timeline"):
        jobmod.build_job(bad)


def test_validate_job_lists_every_problem():
    problems = validate_job({"schema": "other", "version": "1", "timeline": [], "extra": 1})
    assert "extra: unknown field" in problems
    assert "version: must be int, got str" in problems
    assert "timeline: must be object, got list" in problems
    assert "project: required field is missing" in problems
    assert any(p.startswith("schema: must be 'shotline.resolve-job'") for p in problems)
    assert validate_job([]) == ["job: must be an object, got list"]


def test_cli_job_writes_job_and_xml(edit, drx, tmp_path, config_home):
    out = tmp_path / "job.json"
    runner = CliRunner()
    args = ["resolve", "job", str(edit.path), "-o", str(out), "--preset", "youtube", "--preset", "tiktok"]
    args += ["--drx", str(drx), "--drx-shot", f"shot2={drx}", "--project", "Promo", "--render", "--json"]
    r = runner.invoke(cli, args)
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    assert summary["render_jobs"] == ["youtube-1080p", "tiktok"]
    job = json.loads(out.read_text())
    assert validate_job(job) == []
    assert job["render"]["start"] is True and job["project"]["name"] == "Promo"
    assert job["grades"]["shots"] == {"shot2": str(drx)}
    assert job["luts"] == {"all": None, "shots": {}, "tracks": {}}
    xml = out.with_suffix(".xml")
    assert job["timeline"]["fallback_xml"] == str(xml)
    assert (config_home / "shotline" / "resolve-last-job.txt").read_text().strip() == str(out.resolve())
    assert len(read_fcp7(str(xml), Fraction(24))[0]["clips"]) == 2

    # a second run refuses to overwrite either file, and leaves both as they were
    before = (out.read_bytes(), xml.read_bytes())
    r = runner.invoke(cli, ["resolve", "job", str(edit.path), "-o", str(out)])
    assert r.exit_code == 2 and "already exists" in r.output
    assert (out.read_bytes(), xml.read_bytes()) == before


def test_cli_job_errors(edit, tmp_path):
    runner = CliRunner()
    out = tmp_path / "j.json"
    r = runner.invoke(cli, ["resolve", "job", str(edit.path), "-o", str(out), "--drx-shot", "shot9=x.drx"])
    assert r.exit_code == 2 and "no shot of that name; the timeline has shot1, shot2" in r.output
    r = runner.invoke(
        cli, ["resolve", "job", str(edit.path), "-o", str(out), "--drx", str(tmp_path / "no.drx")]
    )
    assert r.exit_code == 3 and "no.drx: DRX grade file not found" in r.output
    r = runner.invoke(cli, ["resolve", "job", str(edit.path), "-o", str(out), "--preset", "betamax"])
    assert r.exit_code == 2 and "unknown preset 'betamax'" in r.output
    r = runner.invoke(cli, ["resolve", "job", str(edit.path), "-o", str(out), "--drx-track", "x=y"])
    assert r.exit_code == 2
    r = runner.invoke(
        cli, ["resolve", "job", str(edit.path), "-o", str(out), "--lut-track", f"2={edit.path}"]
    )
    assert r.exit_code == 2 and "--lut-track 2: the timeline has 1 video track(s)" in r.output
    r = runner.invoke(
        cli, ["resolve", "job", str(edit.path), "-o", str(out), "--no-xml", "--import-as", "fcp7xml"]
    )
    assert r.exit_code == 2 and "needs the XML" in r.output
    assert not out.exists() and not out.with_suffix(".xml").exists()


def test_cli_job_dry_run_prints_the_job(edit, tmp_path):
    out = tmp_path / "j.json"
    r = CliRunner().invoke(cli, ["resolve", "job", str(edit.path), "-o", str(out), "--dry-run"])
    assert r.exit_code == 0 and json.loads(r.output)["schema"] == "shotline.resolve-job"
    assert not out.exists()


@pytest.mark.parametrize("rate", ["24", "30000/1001"])
def test_fallback_xml_has_a_sequence_format_and_file_urls_and_reads_back(rate, clips, tmp_path):
    """The FCP7 XML names its frame size, rate and start timecode, and OTIO reads the same clips back."""
    import xml.etree.ElementTree as ET
    from urllib.parse import unquote, urlparse

    import opentimelineio as otio

    from tests.resolve.conftest import make_edit

    a = clips(duration=2.0, width=160, height=90, rate=rate, audio="stereo", name="shot 'a' été.mp4")
    b = clips(duration=2.0, width=160, height=90, rate=rate, audio=None, source="smptebars")
    folder = tmp_path / "x y"
    folder.mkdir()
    e = make_edit(folder, [a, b], [(0, 36), (12, 30)], [12], width=320, height=180)
    xml = jobmod.write_fcp7_xml(e.path, folder / "fallback.xml")

    root = ET.parse(xml).getroot()
    seq = root.find(".//sequence")
    assert seq is not None
    sc = seq.find("./media/video/format/samplecharacteristics")
    assert sc is not None and (sc.findtext("width"), sc.findtext("height")) == ("320", "180")
    ntsc = "TRUE" if rate != "24" else "FALSE"
    timebase = "30" if rate != "24" else "24"
    assert (sc.findtext("rate/timebase"), sc.findtext("rate/ntsc")) == (timebase, ntsc)
    assert seq.findtext("timecode/string") == ("01:00:00:00")
    urls = [u.text or "" for u in root.iter("pathurl")]
    assert urls and all(u.startswith("file:///") for u in urls)

    original = otio.adapters.read_from_file(str(e.path))
    back = otio.adapters.read_from_file(str(xml), adapter_name="fcp_xml")
    [tl_back] = back if isinstance(back, otio.schema.SerializableCollection) else [back]

    def shape(tl: otio.schema.Timeline) -> list[tuple[str, float, float, float, str]]:
        track = tl.video_tracks()[0]
        out = []
        for c in track.find_clips():
            url = c.media_reference.target_url
            path = unquote(urlparse(url).path) if url.startswith("file:") else url
            out.append(
                (
                    c.name,
                    round(track.range_of_child(c).start_time.value),
                    round(c.source_range.start_time.value),
                    round(c.source_range.duration.value),
                    path,
                )
            )
        return out

    assert shape(tl_back) == shape(original)
    assert len([t for t in tl_back.video_tracks()[0] if isinstance(t, otio.schema.Transition)]) == 1
