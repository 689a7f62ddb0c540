"""Public sample timelines through the conform renderer and every NLE export: the table in docs/conform.md.

For each sample in tests/timeline/data/public (OTIO's own sample data, Apache-2.0), media is
generated for every clip: a barcode of the frame number, starting where the sample says the
media starts (its available range, else a start timecode tag). The render is checked frame by
frame against the source frame OTIO's model names, every frame's timestamp against n / rate,
and each NLE export is read back with its own adapter and compared with what was written.

    python bench/conform_samples.py [--keep]    # prints the markdown table
"""

from __future__ import annotations

import math
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import opentimelineio as otio  # noqa: E402

from shotline.core.errors import ShotlineError  # noqa: E402
from shotline.otio_adapters.conform.model import flatten_nested  # noqa: E402
from shotline.otio_adapters.conform.render import render_timeline  # noqa: E402
from shotline.otio_adapters.export import FORMATS, export_timeline  # noqa: E402
from tests.mediakit import ffmpeg, read_barcodes  # noqa: E402
from tests.timeline.conform_util import frame_clock  # noqa: E402

PUBLIC = ROOT / "tests" / "timeline" / "data" / "public"
SAMPLES = [
    "transition.otio",
    "nested_example.otio",
    "generator_reference_test.otio",
    "gap_test.edl",
    "dissolve_test_4.edl",
]


def read(path: Path) -> otio.schema.Timeline:
    kw = {"rate": 24} if path.suffix == ".edl" else {}
    return otio.adapters.read_from_file(str(path), **kw)


def media_key(clip: otio.schema.Clip) -> str:
    ref = clip.media_reference
    url = getattr(ref, "target_url", "") or ""
    return Path(url).stem if url else clip.name


def origin(clip: otio.schema.Clip, rate: float) -> int:
    avail = getattr(clip.media_reference, "available_range", None)
    return round(avail.start_time.rescaled_to(rate).value) if avail is not None else 0


def expected(
    track: otio.schema.Track, rate: float
) -> tuple[dict[int, int], dict[str, tuple[int, int, bool]]]:
    """Timeline frame -> barcode outside transitions, and per media (first, end, by timecode)."""
    spans = set()
    for i, item in enumerate(track):
        if isinstance(item, otio.schema.Transition):
            r = track.range_of_child_at_index(i)
            a, b = round(r.start_time.value), round(r.end_time_exclusive().value)
            spans.update(range(a, b))
    want: dict[int, int] = {}
    media: dict[str, tuple[int, int, bool]] = {}
    for i, item in enumerate(track):
        if not isinstance(item, otio.schema.Clip) or isinstance(
            item.media_reference, otio.schema.GeneratorReference
        ):
            continue
        r = track.range_of_child_at_index(i)
        a, b = (
            round(r.start_time.rescaled_to(rate).value),
            round(r.end_time_exclusive().rescaled_to(rate).value),
        )
        src = item.trimmed_range()
        s0 = src.start_time.rescaled_to(rate).value
        scalar, freeze = 1.0, False
        for fx in item.effects:
            if isinstance(fx, otio.schema.FreezeFrame):
                freeze = True
            elif isinstance(fx, otio.schema.LinearTimeWarp):
                scalar = fx.time_scalar
        o = origin(item, rate)
        key = media_key(item)
        lo = math.floor(s0) - 2
        hi = math.ceil(s0 + (b - a) * abs(scalar)) + 30
        by_tc = getattr(item.media_reference, "available_range", None) is None
        prev = media.get(key)
        media[key] = (min(lo, prev[0]) if prev else lo, max(hi, prev[1]) if prev else hi, by_tc)
        for t in range(a, b):
            if t in spans:
                continue
            k = t - a if scalar >= 0 else b - 1 - t
            f = math.floor(s0 + (0 if freeze else k * abs(scalar)) + 1e-9)
            want[t] = f - (0 if by_tc else o)
    return want, media


def make_media(folder: Path, media: dict[str, tuple[int, int, bool]], rate: int) -> dict[str, int]:
    """One barcode clip per media name; returns the frame each file starts at (timecode media)."""
    from tests.mediakit import ClipSpec, build_clip

    starts = {}
    for key, (lo, hi, by_tc) in media.items():
        start = max(lo, 0) if by_tc else 0
        frames = (hi - start) if by_tc else hi
        spec = ClipSpec(duration=frames / rate, width=96, height=54, rate=str(rate), audio=None, barcode=True)
        plain = folder / f".{key}.plain.mp4"
        build_clip(plain, spec)
        out = folder / f"{key}.mp4"
        tc = otio.opentime.to_timecode(otio.opentime.RationalTime(start, rate), rate)
        args = ["-i", str(plain), "-c", "copy"] + (["-timecode", tc] if by_tc else []) + [str(out)]
        ffmpeg(*args)
        plain.unlink()
        starts[key] = start if by_tc else 0
    return starts


def row(name: str, work: Path) -> str:
    src = PUBLIC / name
    tl = read(src)
    rate = 24.0  # every sample here is counted at 24 fps
    notes: list[str] = []
    flat = flatten_nested(tl.video_tracks()[0], notes)
    want, media = expected(flat, rate)
    folder = work / Path(name).stem
    folder.mkdir()
    starts = make_media(folder, media, 24)
    # a timecode media's barcode counts from its start timecode
    keyed = {}
    for i, item in enumerate(flat):
        if isinstance(item, otio.schema.Clip):
            r = flat.range_of_child_at_index(i)
            for t in range(round(r.start_time.value), round(r.end_time_exclusive().value)):
                keyed[t] = starts.get(media_key(item), 0)
    want = {t: f - keyed.get(t, 0) for t, f in want.items()}
    otio_frames = round(tl.duration().rescaled_to(rate).value)
    out = folder / "render.mp4"
    try:
        r = render_timeline(
            src,
            out,
            media_dir=folder,
            rate=Fraction(24) if src.suffix == ".edl" else None,
            size=(96, 54),
            smart=False,
        )
    except ShotlineError as exc:
        return f"| {name} | {otio_frames} | refused: {exc} | - | - | - |"
    codes = read_barcodes(out)
    right = sum(1 for t, f in want.items() if t < len(codes) and codes[t] == f)
    avg, times = frame_clock(out)
    exact = all(t == Fraction(n) / Fraction(24) for n, t in enumerate(times)) and avg == 24
    trips = []
    for fmt in ("edl", "fcp7", "fcpxml", "aaf"):
        target = folder / f"export{FORMATS[fmt].suffix}"
        try:
            rep = export_timeline(tl, target, fmt)
            trips.append(
                f"{fmt} " + ("same" if not rep.read_back else f"{len(rep.read_back)} change(s) listed")
            )
        except ShotlineError as exc:
            trips.append(f"{fmt} refused ({str(exc).split(': ', 1)[-1][:60]})")
    return (
        f"| {name} | {otio_frames} | {r.frames} | {right}/{len(want)} | {'yes' if exact else 'no'} | "
        + "; ".join(trips)
        + " |"
    )


def main() -> None:
    keep = "--keep" in sys.argv
    work = Path(tempfile.mkdtemp(prefix="conform-samples-"))
    print(
        "| sample | OTIO's frames | rendered frames | source frames right | timestamps exact | export read back |"
    )
    print("|---|---|---|---|---|---|")
    for name in SAMPLES:
        print(row(name, work), flush=True)
    if not keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
