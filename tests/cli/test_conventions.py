"""CLI conventions that hold for every command: -v/-q anywhere, --fps/--rate, --json with --dry-run,
one-line usage errors, probe's JSON shape, the names a user wrote, rebuilding the edit from produce's
folder, and saying when an option is ignored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import opentimelineio as otio
import pytest
from click.testing import CliRunner

from shotline.cli.main import cli


def invoke(*args: object) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, [str(a) for a in args])
    return r.exit_code, r.stdout, r.stderr


def test_verbose_and_quiet_after_the_command_name(clips, tmp_path: Path) -> None:
    src = clips(duration=1.0)
    for flags in (["-v"], ["-q"], ["--quiet"], ["-vv"]):
        code, out, err = invoke("fade", src, "-o", tmp_path / "f.mp4", "--in", "0.2", "--dry-run", *flags)
        assert code == 0, (flags, out, err)
        assert "ffmpeg" in out
    code, out, err = invoke("-q", "probe", src)
    assert code == 0 and str(src) in out


def test_quiet_silences_progress_but_not_results(tmp_path: Path) -> None:
    sb = tmp_path / "board.yaml"
    sb.write_text(
        "output: {width: 96, height: 54, fps: 24}\nshots:\n  - {id: a, prompt: 'a harbour', duration: 1}\n",
        encoding="utf-8",
    )
    code, out, err = invoke("generate", sb, "-o", tmp_path / "o1")
    assert code == 0 and "a take 1: done" in err
    code, out, err = invoke("generate", sb, "-o", tmp_path / "o2", "-q")
    assert code == 0, err
    assert err == "" and "1/1 takes done" in out


@pytest.mark.parametrize("spelling", ["--fps", "--rate"])
def test_fps_and_rate_are_one_option(clips, tmp_path: Path, spelling: str) -> None:
    a, b = clips(duration=1.0), clips(duration=1.0, rate="30")
    code, out, err = invoke("concat", a, b, "-o", tmp_path / "j.mp4", spelling, "24", "--dry-run", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert any("fps=24" in arg for step in plan["steps"] for arg in step["argv"]), plan
    code, out, err = invoke("timeline", "build", a, b, "-o", tmp_path / f"t{spelling}.otio", spelling, "25")
    assert code == 0, err
    assert otio.adapters.read_from_file(str(tmp_path / f"t{spelling}.otio")).duration().rate == 25


def test_json_with_dry_run_is_json(clips, tmp_path: Path) -> None:
    src = clips(duration=1.0)
    for args in (
        ["fade", src, "-o", tmp_path / "f.mp4", "--in", "0.3"],
        ["gif", src, "-o", tmp_path / "p.gif"],
        ["resize", src, "-o", tmp_path / "r.mp4", "--width", "160"],
    ):
        code, out, err = invoke(*args, "--dry-run", "--json")
        assert code == 0, err
        doc = json.loads(out)
        assert doc["dry_run"] is True and doc["commands"] and doc["output"] == str(args[3])
        assert not Path(args[3]).exists()
    invoke("timeline", "build", src, "-o", tmp_path / "t.otio")
    code, out, err = invoke(
        "timeline", "render", tmp_path / "t.otio", "-o", tmp_path / "t.mp4", "--dry-run", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["mode"] in ("smart", "full", "copy")


def test_burnin_font_size_and_its_old_spelling(clips, tmp_path: Path) -> None:
    src = clips(duration=0.5)
    base = ["burnin", src, "-o", tmp_path / "b.mp4", "--shot-id", "SH010", "--dry-run", "--json"]
    code, out, err = invoke(*base, "--font-size", "31")
    assert code == 0, err
    assert "fontsize=31" in " ".join(json.loads(out)["commands"])
    code, out, err = invoke(*base, "--size", "33")  # the old spelling still works, and says so
    assert code == 0, err
    assert "fontsize=33" in " ".join(json.loads(out)["commands"]) and "--font-size" in err
    code, out, err = invoke("burnin", "--help")
    assert "--font-size" in out and "--size" not in out.replace("--font-size", "")


def test_probe_json_is_a_list_for_one_file_and_for_many(clips) -> None:
    a, b = clips(duration=0.5), clips(duration=0.7)
    code, one, _ = invoke("probe", a, "--json")
    code2, many, _ = invoke("probe", a, b, "--json")
    assert code == code2 == 0
    one_doc, many_doc = json.loads(one), json.loads(many)
    assert isinstance(one_doc, list) and len(one_doc) == 1 and len(many_doc) == 2
    assert one_doc[0] == many_doc[0]


@pytest.mark.parametrize(
    "argv",
    [
        ["fade"],
        ["fade", "x.mp4", "--bogus"],
        ["timeline", "build"],
        ["nosuchcommand"],
        ["probe", "x", "--json=3"],
    ],
)
def test_usage_errors_are_one_line_and_a_hint(argv: list[str], tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "shotline", *argv], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and len(lines) <= 2, r.stderr
    assert "Usage:" not in r.stderr and "Try " not in r.stderr
    if len(lines) == 2:
        assert lines[1].startswith("hint: ")


def test_timeline_build_finds_what_produce_wrote_without_the_stills(tmp_path: Path) -> None:
    from PIL import Image

    still = tmp_path / "harbour.png"
    Image.new("RGB", (96, 54), (40, 80, 120)).save(still)
    sb = tmp_path / "film.shotline.yaml"
    sb.write_text(
        "output: {width: 96, height: 54, fps: 24}\nshots:\n"
        "  - {id: wide, kind: image-to-video, image: harbour.png, prompt: 'the harbour', duration: 1}\n"
        "  - {id: boats, prompt: 'boats leave', duration: 1}\n",
        encoding="utf-8",
    )
    out = tmp_path / "film-out"  # where `shotline produce film.shotline.yaml` writes by default
    code, _, err = invoke("generate", sb, "-o", out)
    assert code == 0, err
    still.unlink()  # the edit needs the shots' media, not the stills they were made from

    code, _, err = invoke("timeline", "build", sb, "-o", tmp_path / "default.otio")
    assert code == 0, err
    code, _, err = invoke("timeline", "build", sb, "--from", out, "-o", tmp_path / "from.otio")
    assert code == 0, err
    for name in ("default.otio", "from.otio"):
        tl = otio.adapters.read_from_file(str(tmp_path / name))
        urls = {c.media_reference.target_url for c in tl.find_clips()}  # picture and sound share a file
        assert len(urls) == 2 and all(
            str(out.resolve()) in otio.url_utils.filepath_from_url(u) for u in urls
        ), urls
    # the OTIO adapter plugin does the same, with no shotline command involved
    tl = otio.adapters.read_from_file(str(sb))
    clips_ = list(tl.video_tracks()[0].find_clips())
    assert len(clips_) == 2 and all(not c.media_reference.is_missing_reference for c in clips_)
    code, _, err = invoke("timeline", "build", sb, "--from", tmp_path, "-o", tmp_path / "bad.otio")
    assert code == 2 and "ledger.sqlite" in err


def test_upscale_says_the_lanczos_backend_ignores_the_model(clips, tmp_path: Path) -> None:
    src = clips(duration=0.3, width=64, height=36, audio=None)
    code, out, err = invoke(
        "upscale", src, "-o", tmp_path / "u.mp4", "--backend", "lanczos", "--model", "x4plus", "--dry-run"
    )
    assert code == 0, err
    assert "--model x4plus is ignored" in err
    code, out, err = invoke("upscale", src, "-o", tmp_path / "u.mp4", "--backend", "lanczos", "--dry-run")
    assert "ignored" not in err
