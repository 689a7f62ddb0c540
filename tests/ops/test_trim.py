from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from shotline.core.errors import MediaError, UsageError
from shotline.core.media.probe import probe
from shotline.core.media.smart import index_frames, keyframe_times, split
from shotline.core.ops.trim import TrimResult, plan_trim, trim
from tests.mediakit import audio_samples, ffmpeg, read_barcodes, reencode_h264


@pytest.fixture(scope="module")
def bframes(tmp_path_factory: pytest.TempPathFactory, clips) -> Path:
    """3 s, 30000/1001 fps, barcoded, H.264 with B-frames and a GOP of 12 frames."""
    src = clips(duration=3.0, rate="30000/1001", barcode=True, source="color=c=gray")
    return reencode_h264(src, tmp_path_factory.mktemp("trim") / "clip ünï.mp4", gop=12, bframes=3)


def sound_error(res: TrimResult, src: Path, tail: int = 2048) -> tuple[int, float]:
    """(samples compared, largest difference) between a trim's sound and the source's from the
    cut on, sample for sample; the last ``tail`` samples (the encoder's run-out) are left out."""
    pcm, ref = audio_samples(res.output), audio_samples(src)[round(res.start * 48000) :]
    n = min(len(pcm), len(ref)) - tail
    return n, float(np.abs(pcm[:n] - ref[:n]).max())


def test_keyframe_index(bframes: Path):
    idx = index_frames(bframes)
    assert idx.frames == 89 and idx.keyframes[:3] == (0, 12, 24)
    assert keyframe_times(bframes)[1] == pytest.approx(12 * 1001 / 30000, abs=1e-6)
    segs = split(idx, 5, 50)
    assert [(s.start, s.end, s.copy) for s in segs] == [(5, 12, False), (12, 48, True), (48, 50, False)]
    assert [(s.start, s.end, s.copy) for s in split(idx, 0, 89, [(30, 40)])] == [
        (0, 24, True),
        (24, 48, False),
        (48, 89, True),
    ]


def test_smart_trim_is_frame_exact(bframes: Path, out: Path):
    before = hashlib.sha256(bframes.read_bytes()).hexdigest()
    fps = 30000 / 1001
    res = trim(bframes, out / "t.mp4", start=5 / fps, end=50 / fps)
    assert res.mode == "smart" and res.copied_frames == 36 and res.frames == 45
    assert plan_trim(bframes, out / "p.mp4", start=5 / fps, end=50 / fps).meta["audio"] == "smart"
    assert read_barcodes(res.output) == list(range(5, 50))
    info = probe(res.output)
    assert info.duration == pytest.approx(45 / fps, abs=1 / fps)
    pcm = audio_samples(res.output)
    assert len(pcm) == 45 * 1001 * 48000 // 30000  # the sound ends with the last frame, to the sample
    assert np.abs(pcm[4800:9600]).max() > 0.1
    assert res.mode == "smart"
    # the inner AAC packets are the source's own, the ends re-encoded on the same grid:
    # sample for sample the source's audio from the cut on, to coding noise, seams included
    n, err = sound_error(res, bframes, tail=1024)
    assert n > 70000 and err < 0.005
    assert hashlib.sha256(bframes.read_bytes()).hexdigest() == before


def test_exact_trim_with_duration(bframes: Path, out: Path):
    fps = 30000 / 1001
    res = trim(bframes, out / "e.mp4", start=1.0, duration=0.5, mode="exact")
    first = round(1.0 * fps)  # frame 29.97 -> the first frame at or after 1.0 s is frame 30
    assert res.mode == "exact"
    assert read_barcodes(res.output) == list(range(first, first + 15))


def test_fast_trim_snaps_to_keyframes(bframes: Path, out: Path):
    fps = 30000 / 1001
    res = trim(bframes, out / "f.mp4", start=5 / fps, end=50 / fps, mode="fast")
    assert res.mode == "fast" and res.copied_frames == res.frames == 60
    assert res.start == pytest.approx(0.0) and res.end == pytest.approx(60 / fps)
    assert read_barcodes(res.output) == list(range(0, 60))
    assert probe(res.output).has_audio


def test_trim_of_non_h264_uses_exact(clips, out: Path):
    src = clips(duration=1.0, codec="mpeg4", barcode=True, container="mkv")
    plan = plan_trim(src, out / "x.mp4", start=0.2, end=0.6)
    assert plan.meta["mode"] == "exact"
    res = trim(src, out / "x.mp4", start=0.2, end=0.6)
    assert read_barcodes(res.output) == list(range(5, 15))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"start": 5.0}, "past the end"),
        ({"start": 1.0, "end": 0.5}, "after the start"),
        ({"start": 0.0, "end": 9.0}, "past the end"),
        ({"start": -1.0}, "zero or positive"),
        ({"start": 0.0, "end": 1.0, "duration": 1.0}, "not both"),
        ({"mode": "quick"}, "unknown trim mode"),
    ],
)
def test_impossible_trims(bframes: Path, out: Path, kw, match):
    with pytest.raises(UsageError, match=match):
        trim(bframes, out / "x.mp4", **kw)
    assert list(out.iterdir()) == []


def test_trim_truncated_input(bframes: Path, out: Path, tmp_path: Path):
    cut = tmp_path / "truncated.mp4"
    cut.write_bytes(bframes.read_bytes()[: bframes.stat().st_size // 3])
    with pytest.raises(MediaError, match="truncated.mp4"):
        trim(cut, out / "x.mp4", start=0.1, end=0.5)
    assert list(out.iterdir()) == []


def test_smart_trim_of_mkv_with_flac(clips, out: Path):
    src = clips(duration=2.0, container="mkv", gop=10, barcode=True, name="take 'two'.mkv")
    res = trim(src, out / "t.mp4", start=0.28, end=1.72)
    assert res.mode == "smart" and res.copied_frames == 30
    assert read_barcodes(res.output) == list(range(7, 43))
    assert probe(res.output).audio is not None


def test_smart_plan_runs_all_pieces_in_one_process(bframes: Path, out: Path):
    fps = 30000 / 1001
    plan = plan_trim(bframes, out / "t.mp4", start=5 / fps, end=50 / fps)
    segments, join = plan.steps
    args = list(segments.args)
    # 3 video pieces + 3 audio pieces, each with its own input and its input's own map
    assert args.count("-i") == 6
    maps = [args[i + 1] for i, a in enumerate(args) if a == "-map"]
    assert maps == ["0:v:0", "1:v:0", "2:v:0", "3:a:0", "4:a:0", "5:a:0"]
    # copied GOPs late in a file (frames 48-71) are read from a seek a second before them
    late = list(plan_trim(bframes, out / "t.mp4", start=40 / fps, end=80 / fps).steps[0].args)
    copy_input = late.index("-i", late.index("-i") + 1)
    assert late[copy_input - 2] == "-ss"
    assert float(late[copy_input - 1]) == pytest.approx(48 / fps - 1, abs=1e-5)
    res = trim(bframes, out / "late.mp4", start=40 / fps, end=80 / fps)
    assert res.copied_frames == 24 and read_barcodes(res.output) == list(range(40, 80))
    # every audio piece (head, copied packets, tail) read from a seek, still sample-exact
    assert sum(a == "-ss" for a in late) == 6
    n, err = sound_error(res, bframes)
    assert n > 55000 and err < 0.005
    assert "concat:" in " ".join(join.args)


def test_small_edge_segments_run_on_one_thread(bframes: Path, out: Path):
    """A bridge of a few frames is decoded and encoded single-threaded (frame threads cost
    more to start than such a segment takes); a long one keeps ffmpeg's threading."""
    from shotline.core.media.smart import SMALL_SEGMENT, Span, encode_step

    fps = 30000 / 1001
    idx, info = index_frames(bframes), probe(bframes)
    plan = plan_trim(bframes, out / "t.mp4", start=5 / fps, end=50 / fps)
    args = list(plan.steps[0].args)
    tail_input = args.index("-i", args.index("-i", args.index("-i") + 1) + 1)  # the third input
    assert args[tail_input - 2 : tail_input] == ["-threads", "1"]  # decodes frames 48-49 only
    tail_out = [i for i, a in enumerate(args) if a.endswith("seg0002.mp4")][0]
    tail_args = args[args.index("2:v:0") : tail_out]
    assert tail_args[tail_args.index("-c:v") :].count("-threads") == 1
    long = encode_step(bframes, info, idx, Span(0, 40, False), "x.mp4", None)
    assert 40 > SMALL_SEGMENT and "-threads" not in long.args


@pytest.fixture(scope="module")
def long_gops(tmp_path_factory: pytest.TempPathFactory, clips) -> Path:
    """12 s at 25 fps, barcoded, B-frames, 10-frame GOPs: 30 GOPs, most far from any cut."""
    src = clips(duration=12.0, rate="25", barcode=True, source="color=c=gray", width=192, height=108)
    return reencode_h264(
        src, tmp_path_factory.mktemp("trim_long") / "long.mp4", gop=10, preset="ultrafast", bframes=2
    )


def test_windowed_index_reads_only_near_the_cuts(long_gops: Path):
    full = index_frames(long_gops)
    near = index_frames(long_gops, around=(4.1, 8.3))
    assert type(full.pts) is tuple and type(near.pts) is not tuple  # the windowed kind
    assert list(near.pts) == list(full.pts) and near.frames == 300 and near.end_time == full.end_time
    assert set(near.cut_points) <= set(full.cut_points) and set(near.keyframes) <= set(full.keyframes)
    assert {100, 110} <= set(near.cut_points) and {200, 210} <= set(
        near.cut_points
    )  # either side of each cut
    assert 150 not in near.keyframes and len(near.keyframes) < len(full.keyframes) / 2
    for t in (0.0, 4.1, 4.12, 7.999, 11.96):
        assert near.frame_at(t) == full.frame_at(t)


def test_windowed_index_falls_back_to_the_whole_walk(long_gops: Path, clips, tmp_path: Path):
    # a frame missing in the middle (timestamps kept): the frame count no longer matches the grid
    gap = tmp_path / "gap.mp4"
    ffmpeg(
        "-i", str(long_gops), "-vf", "select='not(eq(n\\,150))'", "-fps_mode", "passthrough",
        "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", "-an", str(gap),
    )  # fmt: skip
    idx = index_frames(gap, around=(4.0, 8.0))
    assert type(idx.pts) is tuple and idx.frames == 299
    # Matroska keeps no frame count: the whole walk
    mkv = clips(duration=1.0, container="mkv")
    assert type(index_frames(mkv, around=(0.5,)).pts) is tuple


def test_smart_trim_of_a_long_clip_copies_what_it_never_indexed(long_gops: Path, out: Path):
    before = hashlib.sha256(long_gops.read_bytes()).hexdigest()
    res = trim(long_gops, out / "t.mp4", start=29 / 25, end=268 / 25)
    assert res.mode == "smart" and res.frames == 239 and res.copied_frames == 230
    assert read_barcodes(res.output) == list(range(29, 268))
    n, err = sound_error(res, long_gops)
    assert n > 400000 and err < 0.005
    assert hashlib.sha256(long_gops.read_bytes()).hexdigest() == before


def test_windowed_audio_grid_matches_the_whole_walk(long_gops: Path):
    import av

    from shotline.core.media.smart import _audio_grid_near, index_audio

    whole = index_audio(long_gops, 48000)
    assert whole is not None and index_audio(long_gops, 48000, around=(4.1, 8.3)) == whole
    with av.open(str(long_gops)) as c:  # the windowed check itself vouches for this file
        assert _audio_grid_near(c, c.streams.audio[0], 48000, (4.1, 8.3)) == whole


@pytest.mark.parametrize("timescale", [None, "25"])
def test_seeks_that_land_on_a_keyframe_and_one_tick_frames(clips, out: Path, timescale: str | None):
    """Two traps of seeking pieces. The tail's audio input here seeks to exactly 8.000 s, the
    decode time of a keyframe, where ffmpeg starts the audio a block late: the pieces must cut
    by timestamp, not by counting samples. With a time base of 1/25 a frame is one tick long:
    the copy must still drop the packet before its keyframe (half a tick before it)."""
    src = clips(duration=10.0, barcode=True, source="color=c=gray", gop=25)
    if timescale:
        ticked = out / "ticked.mp4"
        ffmpeg(
            "-i",
            str(src),
            "-c:v",
            "libx264",
            "-g",
            "25",
            "-video_track_timescale",
            timescale,
            "-c:a",
            "copy",
            str(ticked),
        )
        src = ticked
    for start, end in ((1.3, 8.24), (2.0, None)):
        res = trim(src, out / "t.mp4", start=start, end=end, overwrite=True)
        first, last = round(res.start * 25), round(res.end * 25)
        assert res.mode == "smart" and res.copied_frames > 0
        assert read_barcodes(res.output) == list(range(first, last))
        n, err = sound_error(res, src)
        assert n > 280000 and err < 0.005, (start, end)


def test_edit_lists_and_open_gops_fall_back_to_a_full_re_encode(clips, out: Path):
    """Two sources smart render must not touch: an MP4 whose edit list hides frames before its
    start (what ``ffmpeg -ss 0.5 -i x -c copy`` writes; seeks in it do not land where its times
    say) and an open-GOP stream (a copy starting at one of its later keyframes does not decode
    after a re-encoded bridge). Both are cut frame-exact by re-encoding instead."""
    src = clips(duration=8.0, barcode=True, gop=25)  # moving content: x264 uses leading B-frames
    hidden, open_gop = out / "edit list.mp4", out / "open gop.mp4"
    ffmpeg("-ss", "0.5", "-i", str(src), "-c", "copy", str(hidden))
    reencode_h264(src, open_gop, gop=25, preset="medium", open_gop="1")
    assert index_frames(hidden).hidden_frames
    # its later keyframes are I-frames, not IDR pictures: no cut point, in either kind of index
    assert index_frames(open_gop).cut_points == index_frames(open_gop, around=(3.0, 4.4)).cut_points == (0,)
    for path in (hidden, open_gop):
        res = trim(path, out / "t.mp4", start=1.32, end=4.72, overwrite=True)
        assert res.mode == "exact" and res.frames == 85
        assert read_barcodes(res.output) == read_barcodes(path)[33:118]
    with pytest.raises(UsageError, match="edit list"):
        plan_trim(hidden, out / "s.mp4", start=1.3, end=4.7, mode="smart")
