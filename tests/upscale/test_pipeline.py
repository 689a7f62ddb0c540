"""End to end on real tiny clips: sizes, frame count, timestamps, audio, colour, resume, bad input."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.errors import MediaError, UsageError
from shotline.core.media.encode import EncodeSettings
from shotline.core.media.probe import probe
from shotline.upscale import UpscaleOptions, upscale
from shotline.upscale.pipeline import work_dir_for
from tests.mediakit import ffmpeg
from tests.upscale.conftest import needs_weights

pytestmark = needs_weights

SMALL = dict(width=64, height=36, duration=0.48, rate="25", gop=4)


def frame_times(path: Path) -> list[Fraction]:
    with av.open(str(path)) as c:
        return [Fraction(f.pts) * f.time_base for f in c.decode(video=0)]


def audio_bytes(path: Path) -> bytes:
    with av.open(str(path)) as c:
        return b"".join(bytes(p) for p in c.demux(audio=0) if p.size)


def decoded_digest(path: Path) -> str:
    h = hashlib.sha256()
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            h.update(f.to_ndarray(format="rgb24").tobytes())
    return h.hexdigest()


def assert_nothing_left(out: Path) -> None:
    assert [p.name for p in out.iterdir()] == []


def test_upscale_keeps_frames_timestamps_and_audio(clips, out) -> None:
    src = clips(**SMALL, audio="stereo", barcode=False)
    dst = out / "up.mp4"
    report = upscale(src, dst, UpscaleOptions(segment_seconds=0.1))
    assert report.segments == 3 and report.frames == 12
    i, o = probe(src), probe(dst)
    assert (o.video.width, o.video.height) == (256, 144)
    assert o.video.frame_count == i.video.frame_count == 12
    assert frame_times(dst) == frame_times(src)
    assert audio_bytes(dst) == audio_bytes(src)
    assert o.audio.sample_rate == 48000 and o.audio.channels == 2
    assert not work_dir_for(dst).exists()


def test_vfr_mono_44k_30000_1001(clips, out) -> None:
    src = clips(
        width=64, height=36, duration=0.6, rate="30000/1001", vfr=True, audio="mono", sample_rate=44100, gop=3
    )
    assert probe(src).video.vfr
    dst = out / "vfr.mov"
    upscale(src, dst, UpscaleOptions(scale=2, segment_seconds=0.1))
    o = probe(dst)
    assert o.video.vfr and (o.video.width, o.video.height) == (128, 72)
    assert frame_times(dst) == frame_times(src)
    assert audio_bytes(dst) == audio_bytes(src)


def _flat_clip(path: Path, rgb: str, matrix: str | None, full_range: bool = False) -> Path:
    rng = "pc" if full_range else "tv"
    vf = f"scale=out_color_matrix={matrix or 'bt601'}:out_range={rng},format=yuv420p"
    tags = ["-colorspace", matrix, "-color_primaries", matrix, "-color_trc", matrix] if matrix else []
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"color=c={rgb}:s=64x36:r=25:d=0.2",
        "-vf",
        vf,
        *tags,
        "-color_range",
        rng,
        "-c:v",
        "libx264",
        str(path),
    )
    return path


@pytest.mark.parametrize("matrix,full", [("bt709", False), (None, False), ("bt709", True)])
def test_colour_matrix_range_and_tags_survive(out, tmp_path, matrix: str | None, full: bool) -> None:
    src = _flat_clip(tmp_path / "flat.mp4", "0x3366cc", matrix, full)
    dst = out / "flat_up.mp4"
    upscale(src, dst, UpscaleOptions(scale=2))
    i, o = probe(src).video, probe(dst).video
    assert (o.color_space, o.color_primaries, o.color_transfer, o.color_range) == (
        i.color_space,
        i.color_primaries,
        i.color_transfer,
        i.color_range,
    )

    def centre_rgb(path: Path, margin: int) -> np.ndarray:
        with av.open(str(path)) as c:
            f = next(c.decode(video=0))
            rgb = f.reformat(
                format="rgb24",
                src_colorspace="itu709" if matrix else "itu601",
                src_color_range="JPEG" if full else "MPEG",
                dst_color_range="JPEG",
            ).to_ndarray()
        return rgb[margin:-margin, margin:-margin].reshape(-1, 3).mean(0)

    # decoded with the tagged matrix and range, the upscaled colour is the source colour
    assert np.abs(centre_rgb(dst, 20) - centre_rgb(src, 10)).max() < 2.5


def test_odd_output_size_is_made_even(out, tmp_path) -> None:
    src = tmp_path / "odd 63x35 'ü'.mp4"
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=64x36:r=24:d=0.25",
        "-vf",
        "scale=63:35",
        "-pix_fmt",
        "yuv444p",
        "-c:v",
        "libx264",
        str(src),
    )
    dst = out / "odd.mp4"
    upscale(src, dst, UpscaleOptions(scale=3))
    i, v = probe(src).video, probe(dst).video
    assert i.width % 2 == 1 or i.height % 2 == 1
    assert (v.width, v.height) == (i.width * 3 // 2 * 2, i.height * 3 // 2 * 2)
    assert v.frame_count == i.frame_count


def test_resume_after_a_kill_gives_the_same_output(clips, out, tmp_path) -> None:
    src = clips(**SMALL, audio="stereo")
    reference = out / "ref.mp4"
    upscale(src, reference, UpscaleOptions(segment_seconds=0.1))
    dst = out / "killed.mp4"
    script = textwrap.dedent(
        f"""
        import os, signal
        from shotline.upscale import UpscaleOptions, upscale
        def kill(seg):
            if seg.index == 1:
                os.kill(os.getpid(), signal.SIGKILL)
        upscale({str(src)!r}, {str(dst)!r}, UpscaleOptions(segment_seconds=0.1), on_segment=kill)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], env=dict(os.environ), timeout=120)
    assert proc.returncode == -9
    assert not dst.exists() and work_dir_for(dst).is_dir()
    report = upscale(src, dst, UpscaleOptions(segment_seconds=0.1))
    assert report.segments_resumed == 2 and report.segments == 3
    assert decoded_digest(dst) == decoded_digest(reference)
    assert frame_times(dst) == frame_times(src) and audio_bytes(dst) == audio_bytes(src)


def test_changed_settings_do_not_resume(clips, out) -> None:
    src = clips(**SMALL, audio=None)
    dst = out / "a.mp4"
    upscale(src, dst, UpscaleOptions(segment_seconds=0.1, scale=2))
    os.remove(dst)
    report = upscale(src, dst, UpscaleOptions(segment_seconds=0.1, scale=4))
    assert report.segments_resumed == 0 and probe(dst).video.width == 256


def test_tiny_pth_by_path_and_lanczos_baseline(clips, out, tmp_path) -> None:
    import torch

    from shotline.upscale.arch import SRVGGNetCompact

    torch.manual_seed(1)
    pth = tmp_path / "tiny_x2.pth"
    torch.save({"params_ema": SRVGGNetCompact(num_feat=8, num_conv=2, upscale=2).state_dict()}, pth)
    src = clips(**SMALL, audio="mono")
    a = out / "tiny.mp4"
    upscale(src, a, UpscaleOptions(model=str(pth)))
    assert (probe(a).video.width, probe(a).video.height) == (128, 72)
    b = out / "lanczos.mp4"
    upscale(src, b, UpscaleOptions(backend="lanczos", scale=2))
    vb = probe(b).video
    assert (vb.width, vb.height, vb.frame_count) == (128, 72, 12)
    assert frame_times(b) == frame_times(src) and audio_bytes(b) == audio_bytes(src)


def test_bad_inputs_fail_clearly_and_leave_nothing(clips, out, tmp_path) -> None:
    audio_only = tmp_path / "tone.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=d=0.3", "-c:a", "aac", str(audio_only))
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    src = clips(**SMALL, audio=None)
    runner = CliRunner()
    cases = [
        ([str(audio_only), "-o", str(out / "a.mp4")], 3, "no video stream"),
        ([str(corrupt), "-o", str(out / "b.mp4")], 3, "broken.mp4"),
        ([str(src), "-o", str(out / "c.mp4"), "--model", "x9"], 2, "unknown model"),
        ([str(src), "-o", str(out / "d.mp4"), "--model", "x4plus", "--scale", "2"], 2, "offers x4"),
        ([str(src), "-o", str(out / "missing" / "e.mp4")], 2, "does not exist"),
        ([str(src), "-o", str(src)], 2, "overwrite an input"),
    ]
    before = Path(src).read_bytes()
    for args, code, text in cases:
        res = runner.invoke(cli, ["upscale", *args])
        assert res.exit_code == code, (args, res.output)
        assert text in res.output and "Traceback" not in res.output
    assert_nothing_left(out)
    assert Path(src).read_bytes() == before


def test_library_errors_name_the_file(tmp_path, out) -> None:
    with pytest.raises(MediaError, match="nope.mp4: no such file"):
        upscale(tmp_path / "nope.mp4", out / "x.mp4")
    with pytest.raises(UsageError, match="unknown backend"):
        upscale(tmp_path / "nope.mp4", out / "x.mp4", UpscaleOptions(backend="magic"))


def test_dry_run_prints_the_plan(clips, out) -> None:
    src = clips(**SMALL, audio=None)
    res = CliRunner().invoke(
        cli, ["upscale", str(src), "-o", str(out / "x.mp4"), "--segment-seconds", "0.1", "--dry-run"]
    )
    assert res.exit_code == 0, res.output
    assert (
        "realesrgan" in res.output
        and "12 frames in 3 segment(s)" in res.output
        and "64x36 -> 256x144" in res.output
    )
    assert_nothing_left(out)


def test_rotation_sar_subtitles_and_metadata_carried(clips, out, tmp_path) -> None:
    base = clips(width=64, height=36, duration=0.2, rate="25", rotation=90, sar="4:3", audio="stereo")
    srt = tmp_path / "subs.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,150\nhello\n", encoding="utf-8")
    src = tmp_path / "with subs.mp4"
    ffmpeg(
        "-i", str(base), "-i", str(srt), "-map", "0", "-map", "1", "-c", "copy", "-c:s", "mov_text",
        "-metadata", "title=Shot 12", "-metadata:s:a:0", "language=fra", str(src),
    )  # fmt: skip
    dst = out / "carried.mp4"
    upscale(src, dst, UpscaleOptions(scale=2))
    i, o = probe(src), probe(dst)
    assert o.video.rotation == i.video.rotation == 90
    assert o.video.sar == i.video.sar == Fraction(4, 3)
    assert o.n_subtitle_streams == 1
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        assert b.metadata.get("title") == "Shot 12"
        assert b.streams.audio[0].metadata.get("language") == "fra"
        subs = [[bytes(p) for p in c.demux(subtitles=0) if p.size] for c in (a, b)]
    assert subs[0] == subs[1] and subs[0]


def test_ctrl_c_keeps_finished_segments_and_no_partial_output(clips, out) -> None:
    src = clips(**SMALL, audio="stereo")
    dst = out / "interrupted.mp4"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from shotline.core.errors import Interrupted
        from shotline.upscale import UpscaleOptions, upscale
        def ctrl_c(seg):
            if seg.index == 0:
                os.kill(os.getpid(), signal.SIGINT)
        try:
            upscale({str(src)!r}, {str(dst)!r}, UpscaleOptions(segment_seconds=0.1), on_segment=ctrl_c)
        except Interrupted as exc:
            print(exc)
            sys.exit(exc.exit_code)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert "run the same command again to resume" in proc.stdout
    work = work_dir_for(dst)
    assert not dst.exists() and not list(out.glob("*.part*"))
    assert not list(work.glob("*.part.*")) and (work / "seg-00000.mp4").is_file()
    report = upscale(src, dst, UpscaleOptions(segment_seconds=0.1))
    assert report.segments_resumed >= 1 and frame_times(dst) == frame_times(src)


def test_unknown_codec_and_unsuitable_container_are_usage_errors(clips, out) -> None:
    src = clips(**SMALL, audio="stereo")
    with pytest.raises(UsageError, match="not an encoder"):
        upscale(src, out / "a.mp4", UpscaleOptions(scale=2, encode=EncodeSettings(vcodec="nonesuch")))
    with pytest.raises(UsageError, match="b.webm: a .webm file cannot hold this"):
        upscale(src, out / "b.webm", UpscaleOptions(scale=2))
    assert_nothing_left(out)


def test_progress_reports_frames(clips, out) -> None:
    src = clips(**SMALL, audio=None)
    seen: list = []
    upscale(src, out / "p.mp4", UpscaleOptions(scale=2, segment_seconds=0.1), progress=seen.append)
    assert seen[-1].frames_done == seen[-1].frames_total == 12 and seen[-1].segments_total == 3
    assert [p.frames_done for p in seen] == sorted(p.frames_done for p in seen)
    lz: list = []
    upscale(src, out / "l.mp4", UpscaleOptions(backend="lanczos", scale=2), progress=lz.append)
    assert lz and lz[-1].frames_done == lz[-1].frames_total == 12


def test_ten_bit_24fps_input(clips, out) -> None:
    src = clips(
        width=64,
        height=36,
        duration=0.25,
        rate="24",
        pix_fmt="yuv420p10le",
        audio="stereo",
        sample_rate=44100,
    )
    assert probe(src).video.bit_depth == 10
    dst = out / "ten.mp4"
    upscale(src, dst, UpscaleOptions(scale=2))
    o = probe(dst)
    assert (o.video.width, o.video.height, o.video.pix_fmt) == (128, 72, "yuv420p")
    assert frame_times(dst) == frame_times(src) and audio_bytes(dst) == audio_bytes(src)
    # the picture survives the 10-bit -> RGB -> 8-bit path: compare with a lanczos baseline
    base = out / "base.mp4"
    upscale(src, base, UpscaleOptions(backend="lanczos", scale=2))
    with av.open(str(dst)) as a, av.open(str(base)) as b:
        fa = next(a.decode(video=0)).to_ndarray(format="gray").astype(float)
        fb = next(b.decode(video=0)).to_ndarray(format="gray").astype(float)
    assert np.abs(fa - fb).mean() < 12


def test_out_of_memory_is_a_clear_error_and_keeps_finished_segments(clips, out) -> None:
    from shotline.upscale import pipeline

    class RunsOutOfMemory:
        """Upscales the first segment, then fails the way torch does when the GPU is full."""

        scale = 2

        def __init__(self) -> None:
            self.calls = 0

        def __call__(self, frames: np.ndarray) -> np.ndarray:
            self.calls += 1
            if self.calls > 4:
                raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
            return frames.repeat(2, axis=1).repeat(2, axis=2)

        def describe(self) -> str:
            return "test"

    src = clips(**SMALL, audio=None)
    info = probe(src)
    lay = pipeline.layout(Path(info.path), 0.1)
    manifest = pipeline.Manifest(work_dir_for(out / "x.mp4"), "k", resume=True)
    with pytest.raises(UsageError, match="ran out of memory.*--tile"):
        pipeline.process(info, RunsOutOfMemory(), manifest, lay, enc=EncodeSettings())
    assert list(manifest.done) == [0] and not list(manifest.folder.glob("*.part.*"))
