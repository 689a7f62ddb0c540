"""Smart render: copied GOPs plus encoded edits give the same frames as the full render."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import opentimelineio as otio
from click.testing import CliRunner

from shotline.cli.timeline_render import render_cmd
from shotline.core.errors import TimelineError
from shotline.core.media.plan import WORK
from shotline.core.media.probe import probe
from shotline.otio_adapters.conform.render import plan_render, render_timeline
from tests.mediakit import audio_samples, read_barcodes, reencode_h264
from tests.timeline.conform_util import clip, dissolve, gap, timeline, track


def long_clips_timeline(clips):
    a = clips(duration=4, barcode=True, gop=10)
    b = clips(duration=4, barcode=True, gop=10, tone=880)
    tl = timeline()
    track(tl).extend(
        [clip(a, 3, 60, media_frames=100), dissolve(4, 4), clip(b, 10, 60, media_frames=100), gap(3)]
    )
    return tl


def test_smart_render_copies_gops_and_matches_the_full_render_frame_for_frame(clips, out):
    tl = long_clips_timeline(clips)
    full = render_timeline(tl, out / "full.mp4", smart=False)
    smart = render_timeline(tl, out / "smart.mp4", smart=True)
    assert smart.mode == "smart" and full.mode == "full"
    assert smart.copied_frames >= 80  # most of the two clips are whole untouched GOPs
    assert smart.copied_frames + smart.encoded_frames == smart.frames == 123
    codes = read_barcodes(out / "smart.mp4")
    assert codes == read_barcodes(out / "full.mp4")
    assert codes[:59] == list(range(3, 62)) and codes[64:120] == list(range(14, 70))
    info = probe(out / "smart.mp4")
    assert info.video is not None and info.video.frame_count == 123
    assert len(audio_samples(out / "smart.mp4")) == 123 * 48000 // 25


def test_smart_falls_back_to_full_and_says_why(clips, out):
    a = clips(duration=4, barcode=True, gop=10, rate="30")  # not the timeline's rate
    tl = timeline()
    track(tl).append(clip(a, 0, 80))
    rp = plan_render(tl, out / "x.mp4")
    assert rp.mode == "full" and "rate" in rp.smart_reason
    two = long_clips_timeline(clips)
    track(two).append(clip(a, 0, 10))  # a second video track is composited
    rp = plan_render(two, out / "y.mp4")
    assert rp.mode == "full" and "2 video tracks" in rp.smart_reason


def test_files_written_by_otio_adapters_render_the_same_frames(clips, out, tmp_path):
    a = clips(duration=2, barcode=True, name="shotA.mp4")
    b = clips(duration=2, barcode=True, tone=880, name="shotB.mp4")
    tl = timeline(name="adapters")
    track(tl).extend([clip(a, 2, 20, media_frames=50), dissolve(3, 3), clip(b, 5, 20, media_frames=50)])
    ref = render_timeline(tl, out / "ref.mp4", smart=False)
    expected = read_barcodes(out / "ref.mp4")
    media = tmp_path / "media"
    media.mkdir()
    for p in (a, b):
        (media / p.name).write_bytes(p.read_bytes())
    for suffix in (".otio", ".xml", ".edl", ".otioz"):
        src = tmp_path / f"cut{suffix}"
        adapter = {".xml": "fcp_xml", ".edl": "cmx_3600"}.get(suffix)
        otio.adapters.write_to_file(tl, str(src), adapter_name=adapter)
        rate = Fraction(25) if suffix == ".edl" else None  # an EDL does not say its rate
        r = render_timeline(src, out / f"from{suffix}.mp4", smart=False, media_dir=media, rate=rate)
        assert r.frames == ref.frames, suffix
        assert read_barcodes(out / f"from{suffix}.mp4") == expected, suffix


def test_cli_render_json_dry_run_and_missing_error(clips, out, tmp_path):
    tl = long_clips_timeline(clips)
    src = tmp_path / "film.otio"
    otio.adapters.write_to_file(tl, str(src))
    runner = CliRunner()
    dry = runner.invoke(render_cmd, [str(src), "-o", str(out / "d.mp4"), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "# mode: smart" in dry.output and "filter_complex" in dry.output
    assert not (out / "d.mp4").exists()
    res = runner.invoke(
        render_cmd, [str(src), "-o", str(out / "f.mp4"), "--json", "--no-smart", "--crf", "30"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["frames"] == 123 and data["mode"] == "full" and data["rate"] == "25/1"
    assert len(read_barcodes(out / "f.mp4")) == 123
    gone = timeline()
    track(gone).append(clip(tmp_path / "nope.mp4", 0, 10, name="lost shot"))
    missing = tmp_path / "missing.otio"
    otio.adapters.write_to_file(gone, str(missing))
    bad = runner.invoke(render_cmd, [str(missing), "-o", str(out / "m.mp4"), "--missing", "error"])
    assert isinstance(bad.exception, TimelineError) and bad.exception.exit_code == 7
    assert "lost shot" in str(bad.exception)
    assert not (out / "m.mp4").exists()


def test_fcpxml_renders_its_cuts(clips, out, tmp_path):
    """FCPXML through its adapter plugin (which keeps no transitions, so a plain cut here)."""
    a = clips(duration=2, barcode=True, name="shotA.mp4")
    b = clips(duration=2, barcode=True, tone=880, name="shotB.mp4")
    tl = timeline(name="fcpx")
    track(tl).extend([clip(a, 2, 20, media_frames=50), clip(b, 5, 20, media_frames=50)])
    src = tmp_path / "cut.fcpxml"
    otio.adapters.write_to_file(tl, str(src))
    r = render_timeline(src, out / "fcpx.mp4", smart=False)
    assert r.frames == 40
    assert read_barcodes(out / "fcpx.mp4") == list(range(2, 22)) + list(range(5, 25))


def test_smart_plan_is_one_command_for_every_span_and_the_sound_then_a_join(clips, out):
    rp = plan_render(long_clips_timeline(clips), out / "p.mp4")
    spans = rp.plan.meta["spans"]
    kinds = [k for _, _, k in spans]
    assert kinds.count("copy") >= 2 and kinds.count("encode") >= 2
    assert len(rp.plan.steps) == 2  # every span and the sound in one process, then the join
    render = rp.plan.steps[0]
    graph = render.args[render.args.index("-/filter_complex") + 1]  # the graph is read from a file
    assert [name for name, _ in render.files] == [graph.rsplit("/", 1)[1]]
    outputs = [a for a in render.args if a.startswith(WORK) and a != graph] + [render.output]
    sound = 2 * len(rp.plan.meta["audio_copies"]) + 1  # copied AAC stretches and the encodes between
    assert len(outputs) == len(spans) + sound  # one file per span, plus the sound's pieces
    copies = kinds.count("copy") + len(rp.plan.meta["audio_copies"])
    assert render.args.count("copy") == copies  # copied stretches are stream copies
    assert spans[0][0] == 0 and spans[-1][1] == 123
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # contiguous, no frame lost or doubled


def test_shotline_timeline_render_maps_errors_to_exit_codes(tmp_path, out):
    from shotline.cli.main import cli

    broken = tmp_path / "broken.otio"
    broken.write_text("not json at all", encoding="utf-8")
    res = CliRunner().invoke(cli, ["timeline", "render", str(broken), "-o", str(out / "b.mp4")])
    assert res.exit_code == 7
    assert "error:" in res.output and "broken.otio" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(cli, ["timeline", "render", str(broken), "-o", str(out / "b.gif")])
    assert res.exit_code == 2 and "b.gif" in res.output
    assert list(out.iterdir()) == []


def test_smart_render_copies_the_aac_packets_of_untouched_stretches(clips, out):
    """The sound is smart-rendered too: the AAC packets inside the copied stretches are copied
    (on one 1024-sample grid) and only the bridges around the edits are encoded. The full render
    re-encodes those packets, so the two match to AAC coding noise (the same 0.005 bound as the
    ops fade on a tone peaking at 1/8), sample for sample in time and in count. The exception
    is the first and last block (1024 samples, 21 ms): the sound starts and stops abruptly
    there, and the full render's encoder frames that edge from timeline sample 0 while the smart
    one frames it on the source's grid (priming shifted by up to 1023 samples), so each codes
    the step with its own error; 0.02 there."""
    a = clips(duration=6, barcode=True, gop=10)
    b = clips(duration=6, barcode=True, gop=10, tone=880)
    tl = timeline()
    # b's source is 120 frames behind a's on the timeline: 120 x 1920 samples is a multiple of
    # 1024, so both copied stretches lie on one AAC grid
    track(tl).extend([clip(a, 2, 125, media_frames=150), dissolve(4, 4), clip(b, 7, 120, media_frames=150)])
    rp = plan_render(tl, out / "p.mp4")
    assert rp.mode == "smart"
    copies = rp.plan.meta["audio_copies"]
    assert rp.plan.meta["audio"] == "smart" and len(copies) == 2, rp.smart_reason
    assert sum(e - s for s, e in copies) >= 4 * 48000  # most of the 9.8 s is copied packets
    render = rp.plan.steps[0]
    assert render.args.count("copy") == [k for _, _, k in rp.plan.meta["spans"]].count("copy") + 2
    # the copied packets are read from a seek just before them, not counted from the file start
    args = list(render.args)
    inputs = [i for i, a in enumerate(args) if a == "-i"]
    copied = [
        int(args[i + 1].split(":")[0])
        for i, a in enumerate(args[:-4])
        if a == "-map" and args[i + 1].endswith(":a:0") and "copy" in args[i + 2 : i + 7]
    ]
    assert len(copied) == 2 and all(args[inputs[n] - 2] == "-ss" for n in copied)
    full = render_timeline(tl, out / "full.mp4", smart=False)
    smart = render_timeline(tl, out / "smart.mp4", smart=True)
    assert read_barcodes(out / "smart.mp4") == read_barcodes(out / "full.mp4")
    pcm, ref = audio_samples(out / "smart.mp4"), audio_samples(out / "full.mp4")
    assert len(pcm) == len(ref) == smart.frames * 48000 // 25 == full.frames * 48000 // 25
    assert np.abs(ref).max() > 0.1
    diff = np.abs(pcm - ref)
    assert diff[1024:-1024].max() < 0.005
    assert diff.max() < 0.02


def test_sound_keeps_the_sources_own_rate_and_layout_and_is_copied(clips, out):
    """Mono and 44.1 kHz sources were re-encoded in full and resampled to 48 kHz stereo."""
    for kw in ({"audio": "mono"}, {"sample_rate": 44100}, {"audio": "mono", "sample_rate": 44100}):
        a = clips(duration=6, barcode=True, gop=10, **kw)
        b = clips(duration=6, barcode=True, gop=10, tone=880, **kw)
        src = probe(a).audio
        assert src is not None
        tl = timeline()
        track(tl).extend(
            [clip(a, 2, 125, media_frames=150), dissolve(4, 4), clip(b, 7, 120, media_frames=150)]
        )
        rp = plan_render(tl, out / "x.mp4")
        assert rp.mode == "smart" and rp.plan.meta["audio"] != "full", rp.smart_reason
        assert rp.plan.meta["audio_copies"], rp.smart_reason
        full = render_timeline(tl, out / "full.mp4", smart=False)
        smart = render_timeline(tl, out / "smart.mp4", smart=True)
        for r in (full, smart):
            got = probe(r.output).audio
            assert got is not None
            assert (got.sample_rate, got.channels) == (src.sample_rate, src.channels)
        pcm = audio_samples(out / "smart.mp4", src.sample_rate)
        ref = audio_samples(out / "full.mp4", src.sample_rate)
        assert (
            len(pcm)
            == len(ref)
            == full.frames * src.sample_rate // 25
            == smart.frames * src.sample_rate // 25
        )
        assert np.abs(ref).max() > 0.1
        diff = np.abs(pcm - ref)
        # the full render re-encodes what the smart one copies: two AAC generations apart, at a
        # mono or 44.1 kHz stream's bitrate (-42 dB here; the 48 kHz stereo test holds -46 dB)
        assert diff[1024:-1024].max() < 0.008, kw
        assert diff.max() < 0.05, kw  # the first samples: each encoder's own onset (0.035 at 44.1 kHz mono)
        (out / "full.mp4").unlink()
        (out / "smart.mp4").unlink()


def test_sources_that_disagree_give_48k_stereo_and_say_why_not_copied(clips, out):
    a = clips(duration=4, barcode=True, gop=10)  # 48 kHz stereo
    b = clips(duration=4, barcode=True, gop=10, audio="mono", sample_rate=44100, tone=550)
    tl = timeline()
    track(tl).extend([clip(b, 0, 100), clip(a, 0, 100)])
    rp = plan_render(tl, out / "x.mp4")
    assert (rp.conform.sample_rate, rp.conform.channels) == (48000, 2)
    assert "1-channel sound" in rp.smart_reason, rp.smart_reason
    r = render_timeline(tl, out / "mixed.mp4")
    got = probe(r.output).audio
    assert got is not None and (got.sample_rate, got.channels) == (48000, 2)
    assert len(audio_samples(out / "mixed.mp4")) == 200 * 48000 // 25


def test_smart_render_of_a_few_seconds_deep_in_a_long_source(clips, out):
    """Two short uses from the middle of a 16 s source (the windowed index reads only near
    them): the same frames and the same sound as the full render."""
    src = clips(duration=16, barcode=True, gop=10)
    tl = timeline()
    track(tl).extend([clip(src, 155, 60, media_frames=400), clip(src, 300, 55, media_frames=400)])
    rp = plan_render(tl, out / "p.mp4")
    assert rp.mode == "smart" and rp.copied_frames >= 80 and rp.plan.meta["audio"] == "smart"
    smart = render_timeline(tl, out / "smart.mp4", smart=True)
    render_timeline(tl, out / "full.mp4", smart=False)
    assert read_barcodes(out / "smart.mp4") == list(range(155, 215)) + list(range(300, 355))
    pcm, ref = audio_samples(out / "smart.mp4"), audio_samples(out / "full.mp4")
    assert len(pcm) == len(ref) == smart.frames * 48000 // 25
    assert np.abs(pcm - ref)[1024:-1024].max() < 0.005


def test_sound_of_a_clip_whose_seek_lands_on_a_keyframe(clips, out):
    """The renderer seeks a clip's input 0.1 s before its first frame; here that is 2.0 s, a
    keyframe's decode time (no B-frames), where ffmpeg starts the audio a few hundred samples
    late. Both renders must still take the clip's sound from its first frame, to the sample."""
    src = clips(duration=6, rate="30", barcode=True, gop=30)
    flat = out / "no-bframes.mp4"
    reencode_h264(src, flat, gop=30, preset="ultrafast")  # ultrafast: no B-frames
    tl = timeline(rate=30)
    track(tl).append(clip(flat, 63, 90, rate=30, media_frames=180))  # from 2.1 s, seek to 2.0 s
    for smart in (False, True):
        res = render_timeline(tl, out / f"r{smart}.mp4", smart=smart)
        pcm, ref = audio_samples(res.output), audio_samples(flat)[round(2.1 * 48000) :]
        n = len(pcm) - 2048
        assert len(pcm) == 3 * 48000 and np.abs(pcm[1024:n] - ref[1024:n]).max() < 0.005, smart
