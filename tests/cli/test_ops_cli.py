from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.media.probe import probe
from tests.mediakit import read_barcodes


def shotline(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(cli, list(args))
    return r.exit_code, r.stdout, r.stderr


def test_concat_json_and_result(clips, out: Path):
    a = clips(duration=1.0, barcode=True, name="a 'quoted'.mp4")
    b = clips(duration=1.0, barcode=True, name="b ü.mp4")
    code, stdout, _ = shotline("concat", str(a), str(b), "-o", str(out / "ab.mp4"), "--json")
    assert code == 0
    payload = json.loads(stdout)
    assert payload["summary"]["mode"] == "copy"
    assert payload["media"]["duration"] == pytest.approx(2.0, abs=0.04)
    assert read_barcodes(out / "ab.mp4") == list(range(25)) * 2


def test_dry_run_prints_commands_and_writes_nothing(clips, out: Path):
    a = clips(duration=1.0)
    b = clips(duration=1.0, rate="24")
    code, stdout, _ = shotline("concat", str(a), str(b), "-o", str(out / "ab.mp4"), "--dry-run")
    assert code == 0
    assert "concat=n=2" in stdout and "-filter_complex" in stdout
    assert list(out.iterdir()) == []
    short_gops = clips(duration=1.0, gop=5)
    code, stdout, _ = shotline("fade", str(short_gops), "--in", "0.3", "-o", str(out / "f.mp4"), "--dry-run")
    assert code == 0 and "fade=t=in" in stdout and "noise=drop=" in stdout
    assert list(out.iterdir()) == []


def test_fade_xfade_loop_speed_trim(clips, out: Path):
    a = clips(duration=1.0, source="color=c=gray", barcode=True)
    b = clips(duration=1.0, source="color=c=white")
    assert shotline("fade", str(a), "--in", "0.2", "--out", "0.2", "-o", str(out / "f.mp4"))[0] == 0
    assert probe(out / "f.mp4").duration == pytest.approx(1.0, abs=0.04)
    code, stdout, _ = shotline(
        "xfade",
        str(a),
        str(b),
        "--transition",
        "dissolve",
        "--duration",
        "0.4",
        "-o",
        str(out / "x.mp4"),
        "--json",
    )
    assert code == 0 and json.loads(stdout)["summary"]["offsets"] == [pytest.approx(0.6)]
    assert shotline("loop", str(a), "--times", "2", "-o", str(out / "l.mp4"))[0] == 0
    assert read_barcodes(out / "l.mp4") == list(range(25)) * 2
    code, stdout, _ = shotline("speed", str(a), "--factor", "2", "-o", str(out / "s.mp4"))
    assert code == 0
    assert probe(out / "s.mp4").duration == pytest.approx(0.5, abs=0.05)
    # the result line reports the file as written: its duration and size
    seconds, mb = re.fullmatch(r"wrote .*s\.mp4 \(([\d.]+) s, ([\d.]+) MB\) in [\d.]+ s\n", stdout).groups()
    assert float(seconds) == pytest.approx(probe(out / "s.mp4").duration, abs=0.001)
    assert float(mb) == pytest.approx((out / "s.mp4").stat().st_size / 1e6, abs=0.006)
    code, stdout, _ = shotline(
        "trim", str(a), "--start", "0.2", "--end", "0:00.6", "-o", str(out / "t.mp4"), "--json"
    )
    assert code == 0
    assert read_barcodes(out / "t.mp4") == list(range(5, 15))
    assert json.loads(stdout)["summary"]["frames"] == 10


def test_errors_are_one_line_with_distinct_exit_codes(clips, out: Path, tmp_path: Path):
    a = clips(duration=1.0)
    code, _, err = shotline("speed", str(a), "--factor", "0", "-o", str(out / "s.mp4"))
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err
    code, _, err = shotline("fade", str(a), "--in", "0.8", "--out", "0.8", "-o", str(out / "f.mp4"))
    assert code == 2 and "longer than the clip" in err
    code, _, err = shotline("xfade", str(a), str(a), "--duration", "2", "-o", str(out / "x.mp4"))
    assert code == 2 and "too short" in err
    code, _, err = shotline("concat", str(a), str(tmp_path / "missing.mp4"), "-o", str(out / "c.mp4"))
    assert code == 3 and "missing.mp4" in err
    (out / "exists.mp4").write_bytes(b"keep")
    code, _, err = shotline("loop", str(a), "--times", "2", "-o", str(out / "exists.mp4"))
    assert code == 2 and "--force" in err
    assert (out / "exists.mp4").read_bytes() == b"keep"
    code, _, err = shotline("trim", str(a), "--start", "abc", "-o", str(out / "t.mp4"))
    assert code == 2
    assert sorted(p.name for p in out.iterdir()) == ["exists.mp4"]


def test_help_shows_an_example():
    for name in ("concat", "fade", "xfade", "loop", "speed", "trim"):
        code, stdout, _ = shotline(name, "--help")
        assert code == 0 and f"shotline {name} " in stdout and "Examples:" in stdout


def test_cli_process_starts_without_heavy_imports():
    code = (
        "import sys; from shotline.cli.main import cli; "
        "cli.get_command(None, 'concat'); cli.get_command(None, 'trim'); "
        "print(sorted(m for m in ('av', 'numpy', 'ffmpeg', 'moviepy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
