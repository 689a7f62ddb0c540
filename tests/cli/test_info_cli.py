from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from shotline.cli.main import cli


def test_probe_json_and_text(clips):
    p = clips(rate="30000/1001", audio="mono", sample_rate=44100)
    r = CliRunner().invoke(cli, ["probe", str(p), "--json"])
    assert r.exit_code == 0, r.output
    (d,) = json.loads(r.output)  # a list, even for one file
    assert d["video"]["avg_rate"] == "30000/1001" and d["audio"]["sample_rate"] == 44100
    r = CliRunner().invoke(cli, ["probe", str(p)])
    assert "30000/1001 fps" in r.output and "44100 Hz 1 ch" in r.output


def test_probe_bad_file_is_one_line_exit_3(tmp_path: Path):
    bad = tmp_path / "it's broken ✂.mp4"
    bad.write_text("nope" * 100)
    proc = subprocess.run(
        [sys.executable, "-m", "shotline.cli.main", "probe", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 3
    assert proc.stderr.startswith("error: ") and str(bad) in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_doctor_reports_names_never_values(monkeypatch):
    secret = "sk-test-THIS-MUST-NOT-APPEAR-123"
    monkeypatch.setenv("RUNWAYML_API_SECRET", secret)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    r = CliRunner().invoke(cli, ["doctor", "--json"])
    assert r.exit_code == 0, r.output
    assert secret not in r.output
    d = json.loads(r.output)
    assert d["provider_keys"]["RUNWAYML_API_SECRET"] is True
    assert d["provider_keys"]["OPENAI_API_KEY"] is False
    assert d["encoders"]["libx264"] == {"built_in": True, "works": True}
    assert d["ffmpeg"]["version"]
    text = CliRunner().invoke(cli, ["doctor"]).output
    assert "libx264     yes" in text and secret not in text


def _no_lookup() -> str:
    raise AssertionError("ffmpeg discovery went through imageio_ffmpeg.get_ffmpeg_exe()")


def test_ffmpeg_discovery_order(tmp_path: Path, monkeypatch):
    import imageio_ffmpeg

    from shotline.core.errors import DependencyError
    from shotline.core.media import ffmpeg as ff

    real = ff.find_ffmpeg().path
    fake_dir = tmp_path / "bin"
    fake_dir.mkdir()
    (fake_dir / "ffmpeg").symlink_to(real)
    try:
        monkeypatch.setenv("PATH", f"{fake_dir}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.delenv("SHOTLINE_FFMPEG", raising=False)
        ff.find_ffmpeg.cache_clear()
        assert ff.find_ffmpeg().source == "path" and ff.find_ffmpeg().path == str(fake_dir / "ffmpeg")
        monkeypatch.setenv("SHOTLINE_FFMPEG", real)
        ff.find_ffmpeg.cache_clear()
        assert ff.find_ffmpeg().source == "env"
        monkeypatch.setenv("SHOTLINE_FFMPEG", str(tmp_path / "nope"))
        ff.find_ffmpeg.cache_clear()
        try:
            ff.find_ffmpeg()
            raise AssertionError("expected DependencyError")
        except DependencyError as exc:
            assert "SHOTLINE_FFMPEG" in str(exc)
        monkeypatch.delenv("SHOTLINE_FFMPEG")
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        ff.find_ffmpeg.cache_clear()
        real_lookup = imageio_ffmpeg.get_ffmpeg_exe
        # found in imageio-ffmpeg's binaries folder, without its lookup that runs ffmpeg -version
        monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", _no_lookup)
        bundled = ff.find_ffmpeg()
        assert bundled.source == "imageio-ffmpeg"
        assert os.path.samefile(bundled.path, real_lookup())
    finally:
        ff.find_ffmpeg.cache_clear()
