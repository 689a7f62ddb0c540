"""Render (conform) OTIO timelines and read the frames back: cuts on the frame OTIO says."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest

from shotline.core.errors import TimelineError
from shotline.core.media.probe import probe
from shotline.otio_adapters.conform.render import plan_render, render_timeline
from tests.mediakit import audio_samples, decode_gray, read_barcodes
from tests.timeline.conform_util import RT, TR, clip, dissolve, gap, timeline, track


def render(tl: otio.schema.Timeline, out: Path, name: str = "film.mp4", **kw: object) -> tuple[Path, object]:
    target = out / name
    result = render_timeline(tl, target, smart=kw.pop("smart", False), **kw)  # type: ignore[arg-type]
    return target, result


def test_cuts_gaps_and_a_centred_dissolve_land_on_the_frames_otio_says(clips, out):
    a = clips(duration=2, barcode=True)
    b = clips(duration=2, barcode=True, tone=880)
    tl = timeline()
    v = track(tl)
    v.extend([clip(a, 5, 20, media_frames=50), dissolve(4, 4), clip(b, 10, 20, media_frames=50), gap(5)])
    path, r = render(tl, out)

    codes = read_barcodes(path)
    assert len(codes) == 45 == r.frames  # 20 + 20 + 5: the transition takes no track time
    assert codes[:16] == list(range(5, 21))  # a alone up to the window
    assert codes[24:40] == list(range(14, 30))  # b alone after the window
    assert codes[40:] == [0] * 5  # the gap is black (a black barcode reads 0)
    # inside the window: frames blend a (running on past its cut) into b (starting 4 frames early)
    luma = [g[20:, :].astype(float) for g in decode_gray(path)]
    before, after = luma[15], luma[24]
    mid = luma[20]
    assert np.abs(mid - (before + after) / 2).mean() < np.abs(before - after).mean()
    info = probe(path)
    assert info.video is not None and info.video.rate == 25
    assert len(audio_samples(path)) == 45 * 48000 // 25  # sound exactly as long as the picture


@pytest.mark.parametrize(
    ("src_rate", "timeline_rate"),
    [("30000/1001", Fraction(25)), ("24", Fraction(30)), ("25", Fraction(24000, 1001))],
)
def test_source_rates_are_retimed_to_the_timeline_rate(clips, out, src_rate, timeline_rate):
    src = Fraction(src_rate)
    media = clips(duration=2, barcode=True, rate=src_rate, audio=None)
    tl = timeline(float(timeline_rate))
    v = track(tl)
    # source range counted in the media's own rate: start at media frame 7, 1 s long
    c = otio.schema.Clip(
        name="m",
        media_reference=otio.schema.ExternalReference(target_url=str(media)),
        source_range=TR(RT(7, float(src)), RT(float(src), float(src))),
    )
    v.append(c)
    path, r = render(tl, out)
    codes = read_barcodes(path)
    n = round(timeline_rate)  # one second of timeline frames
    assert len(codes) == r.frames == n
    expected = [int((Fraction(7) / src + Fraction(k) / timeline_rate) * src) for k in range(n)]
    assert codes == expected


def test_speed_reverse_and_freeze_frame(clips, out):
    media = clips(duration=2, barcode=True, audio="mono")
    tl = timeline()
    v = track(tl)
    fast = clip(media, 2, 10, name="fast")
    fast.effects.append(otio.schema.LinearTimeWarp(time_scalar=2.0))
    back = clip(media, 20, 10, name="back")
    back.effects.append(otio.schema.LinearTimeWarp(time_scalar=-1.0))
    hold = clip(media, 33, 6, name="hold")
    hold.effects.append(otio.schema.FreezeFrame())
    v.extend([fast, back, hold])
    path, r = render(tl, out)
    codes = read_barcodes(path)
    assert r.frames == 26
    assert codes[:10] == [2 + 2 * k for k in range(10)]
    assert codes[10:20] == list(range(29, 19, -1))  # the same source range, backwards
    assert codes[20:] == [33] * 6
    assert len(audio_samples(path)) == 26 * 48000 // 25


def test_transitions_at_the_very_start_and_end_fade_from_and_to_black(clips, out):
    media = clips(duration=2, source="color=c=white", audio=None)
    tl = timeline()
    v = track(tl)
    v.extend([dissolve(0, 5), clip(media, 0, 20), dissolve(5, 0)])
    path, r = render(tl, out)
    means = [float(g.mean()) for g in decode_gray(path)]
    assert len(means) == r.frames == 20
    assert means[0] < 60  # starts (almost) black
    assert all(a < b for a, b in zip(means[:5], means[1:6]))  # rising
    assert min(means[6:14]) > 230  # full white between the fades
    assert all(a > b for a, b in zip(means[15:19], means[16:20]))  # falling
    assert means[-1] < 60 and means[16] < 230


def test_upper_video_track_covers_the_lower_one_and_its_gaps_show_through(clips, out):
    lower = clips(duration=2, barcode=True, audio=None)
    upper = clips(duration=4, barcode=True, audio=None, rate="25", tone=500)
    tl = timeline()
    track(tl).append(clip(lower, 0, 30))
    track(tl).extend([gap(10), clip(upper, 60, 10), gap(5)])
    path, r = render(tl, out)
    codes = read_barcodes(path)
    assert r.frames == 30
    assert codes[:10] == list(range(0, 10))
    assert codes[10:20] == list(range(60, 70))
    assert codes[20:] == list(range(20, 30))


def test_audio_tracks_are_mixed_and_define_the_sound(clips, out):
    pic = clips(duration=1, audio=None, source="color=c=gray")
    low = clips(duration=1, audio="mono", tone=300, sample_rate=44100)
    high = clips(duration=1, audio="stereo", tone=2000)
    tl = timeline()
    track(tl).append(clip(pic, 0, 25))
    track(tl, otio.schema.TrackKind.Audio).append(clip(low, 0, 25))
    track(tl, otio.schema.TrackKind.Audio).extend([gap(10), clip(high, 0, 15)])
    path, _ = render(tl, out)
    s = audio_samples(path)
    assert len(s) == 48000
    spectrum = lambda x: np.abs(np.fft.rfft(x))  # noqa: E731
    first, last = spectrum(s[2000:18000]), spectrum(s[26000:46000])
    hz = lambda x, n: int(round(x * n / 48000))  # noqa: E731
    assert first[hz(300, 16000)] > 20 * first[hz(2000, 16000)]  # only the low tone before the gap ends
    assert last[hz(300, 20000)] > 1000 and last[hz(2000, 20000)] > 1000  # both tones mixed


def test_missing_media_renders_a_labelled_slate_and_says_so(clips, out):
    a = clips(duration=1, barcode=True)
    tl = timeline()
    track(tl).extend(
        [clip(a, 0, 10), clip(None, 0, 8, name="shot 'seven': 100% \"done\" ünïcode"), clip(a, 10, 7)]
    )
    path, r = render(tl, out)
    codes = read_barcodes(path)
    assert len(codes) == r.frames == 25
    assert codes[:10] == list(range(10)) and codes[18:] == list(range(10, 17))
    slate = decode_gray(path)[13]
    assert 40 < float(np.median(slate)) < 80  # the grey slate card
    assert slate.max() > 200  # with white text on it
    assert r.missing == ("shot 'seven': 100% \"done\" ünïcode",)
    assert any("slate" in n and "seven" in n for n in r.notes)


def test_missing_error_lists_every_missing_clip_and_writes_nothing(clips, out):
    a = clips(duration=1)
    tl = timeline()
    track(tl).extend(
        [clip(None, 0, 5, name="alpha"), clip(a, 0, 5), clip(out / "gone.mp4", 0, 5, name="beta")]
    )
    with pytest.raises(TimelineError) as err:
        render(tl, out, missing="error")
    assert "alpha" in str(err.value) and "beta" in str(err.value) and "gone.mp4" in str(err.value)
    assert list(out.iterdir()) == []


def test_relink_by_name_in_media_dir(clips, out, tmp_path):
    src = clips(duration=1, barcode=True, name="shot_010.mp4")
    media = tmp_path / "media"
    media.mkdir()
    (media / "shot_010.mp4").write_bytes(src.read_bytes())
    tl = timeline()
    track(tl).append(clip("/nowhere/shot_010.mp4", 3, 12, name="shot_010", media_frames=25))
    path, r = render(tl, out, media_dir=media)
    assert read_barcodes(path) == list(range(3, 15))
    assert any("relinked" in n for n in r.notes)


def test_awkward_media_in_one_timeline(clips, out):
    odd = [
        clips(duration=1, width=322, height=242, sar="4:3", audio="mono", sample_rate=44100),
        clips(duration=1, rotation=90, rate="30000/1001"),
        clips(duration=1, vfr=True, rate="30", audio=None),
        clips(duration=1, pix_fmt="yuv420p10le", width=176, height=144, rate="24"),
        clips(duration=1, name='it\'s a "clip" ünï.mp4'),
    ]
    tl = timeline()
    v = track(tl)
    for i, p in enumerate(odd):
        if i:
            v.append(dissolve(2, 2))
        v.append(clip(p, 0, 15))
    path, r = render(tl, out, name="o ut 'ü'.mp4")
    info = probe(path)
    assert info.video is not None and (info.video.width, info.video.height) == (r.width, r.height)
    assert (r.width, r.height) == (428, 242)  # the first clip's display size (SAR applied), even
    assert info.video.frame_count == r.frames == 75
    assert info.video.pix_fmt == "yuv420p"
    assert len(audio_samples(path)) == 75 * 48000 // 25


def test_bad_timelines_fail_clearly_and_leave_nothing(clips, out, tmp_path):
    broken = tmp_path / "broken.otio"
    broken.write_text('{"OTIO_SCHEMA": "Timeline.1", "tracks": ', encoding="utf-8")
    with pytest.raises(TimelineError, match="broken.otio"):
        render_timeline(broken, out / "a.mp4")
    with pytest.raises(TimelineError, match="no tracks"):
        render_timeline(timeline(), out / "b.mp4")
    a = clips(duration=1)
    tl = timeline()
    track(tl).extend([clip(a, 0, 5, name="short"), dissolve(8, 2), clip(a, 0, 20, name="long")])
    with pytest.raises(TimelineError, match="'short' is only 5 frames"):
        render_timeline(tl, out / "c.mp4")
    assert list(out.iterdir()) == []


def test_rates_that_do_not_divide_are_rounded_and_reported(clips, out):
    a = clips(duration=2, barcode=True, audio=None)
    tl = timeline(25)
    # 1.04 s at 24 fps is 26.04 frames at 25 fps
    track(tl).extend([clip(a, 0, 25, rate=24, name="odd"), clip(a, 0, 10, name="even")])
    path, r = render(tl, out)
    assert r.frames == 36 == len(read_barcodes(path))
    assert any("rounded" in n and "'odd'" in n for n in r.notes)


def test_plan_is_one_ffmpeg_command_with_one_filter_graph(clips, out):
    a = clips(duration=2)
    tl = timeline()
    v = track(tl)
    for i in range(5):
        if i:
            v.append(dissolve(3, 3))
        v.append(clip(a, 0, 20))
    rp = plan_render(tl, out / "x.mp4")
    assert rp.mode == "full"  # the fixture's GOP is longer than any untouched stretch
    assert len(rp.plan.steps) == 1
    args = rp.plan.steps[0].args
    assert args.count("-/filter_complex") == 1 and args.count("-i") == 5  # one decoder per clip


def test_file_urls_and_timecode_based_available_ranges(clips, out):
    """A file:// URL (spaces, quotes, unicode escaped) and media whose range starts at 01:00:00:00."""
    media = clips(duration=1, barcode=True, name="take 1 'ü'.mp4")
    tl = timeline()
    hour = 25 * 3600
    c = otio.schema.Clip(
        name="tc",
        media_reference=otio.schema.ExternalReference(
            target_url=media.resolve().as_uri(), available_range=TR(RT(hour, 25), RT(25, 25))
        ),
        source_range=TR(RT(hour + 4, 25), RT(10, 25)),
    )
    track(tl).append(c)
    path, r = render(tl, out)
    assert "%20" in media.resolve().as_uri()
    assert read_barcodes(path) == list(range(4, 14))
    assert r.notes == ()


def test_dissolve_without_handles_holds_frames_and_says_so(clips, out):
    a = clips(duration=1, barcode=True, audio=None)
    tl = timeline()
    track(tl).extend([clip(a, 5, 20, name="A"), dissolve(3, 3), clip(a, 0, 10, name="B")])
    path, r = render(tl, out)
    codes = read_barcodes(path)
    assert len(codes) == r.frames == 30
    assert codes[:17] == list(range(5, 22)) and codes[23:] == list(range(3, 10))
    assert any("'A'" in n and "after its file ends" in n for n in r.notes)
    assert any("'B'" in n and "0.120 s of media before its file starts" in n for n in r.notes)


def test_dissolve_on_an_upper_track_reveals_it_over_the_lower_one(clips, out):
    white = clips(duration=2, source="color=c=white", audio=None)
    black = clips(duration=2, source="color=c=black", audio=None)
    tl = timeline()
    track(tl).append(clip(white, 0, 30))
    track(tl).extend([gap(10), dissolve(5, 5), clip(black, 0, 20)])
    path, r = render(tl, out)
    means = [float(g.mean()) for g in decode_gray(path)]
    assert len(means) == r.frames == 30
    assert min(means[:5]) > 230  # the upper track's gap shows the white lower track
    assert all(a > b for a, b in zip(means[5:14], means[6:15]))  # the black clip fades in over it
    assert max(means[16:]) < 25  # then covers it


def test_size_and_rate_overrides_letterbox_and_retime(clips, out):
    media = clips(duration=1, barcode=True, audio=None)
    tl = timeline()
    track(tl).append(clip(media, 0, 10))
    path, r = render(tl, out, size=(320, 320), rate=Fraction(50))
    frames = decode_gray(path)
    assert (r.width, r.height, r.frames) == (320, 320, 20)  # 10 frames at 25 fps are 20 at 50
    assert frames[0].shape == (320, 320)
    assert frames[0][:60].max() < 20 and frames[0][-60:].max() < 20  # letterbox bars
    assert float(frames[0][100:220].mean()) > 40  # the picture in the middle
