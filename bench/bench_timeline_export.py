"""Timeline build and export: shotline's CLI against OTIO's own tools on the same edit.

Contenders, each a fresh process (start-up is part of the cost a user pays):

* build: ``shotline timeline build`` of 12 clips with 11 dissolves (it probes every clip)
  against a hand-written OTIO script that is told the clip lengths and probes nothing
  (the floor: what building costs with the media facts already known);
* export to EDL, FCP7 XML, FCPXML, AAF and OTIOZ: ``shotline timeline export`` (which
  prepares a per-format copy and reports losses) against ``otioconvert``, OTIO's own
  converter, writing the same format through the same adapter plugins.

Usage: python bench/bench_timeline_export.py [--quick] [--reps N]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # "python bench/x.py" imports bench.common
    sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    Timing,
    fresh,
    machine,
    median_time,
    parse_args,
    print_table,
    shotline_argv,
    synth,
    workdir,
)


def otioconvert() -> str:
    found = Path(sys.executable).with_name("otioconvert")
    return str(found) if found.exists() else (shutil.which("otioconvert") or "otioconvert")


def run(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {proc.stderr[-1500:]}")


HAND_BUILD = """
import sys
import opentimelineio as otio
paths, frames, out = sys.argv[1:-2], int(sys.argv[-2]), sys.argv[-1]
rate, half = 30.0, 7
tl = otio.schema.Timeline(name="hand")
track = otio.schema.Track(kind="Video")
for i, p in enumerate(paths):
    before = half if i else 0
    after = half if i < len(paths) - 1 else 0
    ref = otio.schema.ExternalReference(
        target_url="file://" + p,
        available_range=otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                                otio.opentime.RationalTime(frames, rate)),
    )
    track.append(otio.schema.Clip(name=p, media_reference=ref, source_range=otio.opentime.TimeRange(
        otio.opentime.RationalTime(before, rate), otio.opentime.RationalTime(frames - before - after, rate))))
    if i < len(paths) - 1:
        track.append(otio.schema.Transition(transition_type="SMPTE_Dissolve",
                                            in_offset=otio.opentime.RationalTime(half, rate),
                                            out_offset=otio.opentime.RationalTime(half, rate)))
tl.tracks.append(track)
otio.adapters.write_to_file(tl, out)
"""


def main() -> None:
    args = parse_args(__doc__)
    wd = workdir("timeline-export")
    seconds = 1.0 if args.quick else 5.0
    size = (640, 360) if args.quick else (1280, 720)
    clips = [
        synth(
            wd / f"shot{i:02d}.mp4",
            duration=seconds,
            width=size[0],
            height=size[1],
            rate="30",
            tone=300 + 40 * i,
        )
        for i in range(12)
    ]
    frames = round(seconds * 30)
    hand = wd / "hand_build.py"
    hand.write_text(textwrap.dedent(HAND_BUILD), encoding="utf-8")
    film = wd / "film.otio"

    rows: list[Timing] = [
        median_time(
            "hand-written OTIO build (lengths given)",
            lambda: run(
                [sys.executable, str(hand), *map(str, clips), str(frames), str(fresh(wd / "hand.otio"))]
            ),
            args.reps,
        ),
        median_time(
            "shotline timeline build (probes 12 clips)",
            lambda: run(
                shotline_argv(
                    "timeline",
                    "build",
                    *map(str, clips),
                    "--transition",
                    "dissolve:0.5",
                    "-o",
                    str(fresh(film)),
                )
            ),
            args.reps,
        ),
    ]
    print_table(f"build: 12 clips x {seconds:g} s, 11 dissolves", rows, rows[0].name)

    for fmt, suffix in (
        ("edl", ".edl"),
        ("fcp7", ".xml"),
        ("fcpxml", ".fcpxml"),
        ("aaf", ".aaf"),
        ("otioz", ".otioz"),
    ):
        ours = wd / f"ours{suffix}"
        theirs = wd / f"theirs{suffix}"
        rows = []
        if fmt == "aaf":
            # otioconvert cannot write our build to AAF: the adapter refuses transitions without
            # AAF operation metadata, which is exactly the gap shotline fills
            pass
        else:
            rows.append(
                median_time(
                    f"otioconvert -> {fmt}",
                    lambda t=theirs: run([otioconvert(), "-i", str(film), "-o", str(fresh(t))]),
                    args.reps,
                )
            )
        rows.append(
            median_time(
                f"shotline timeline export -f {fmt}",
                lambda o=ours, f=fmt: run(
                    shotline_argv("timeline", "export", str(film), "-f", f, "-o", str(fresh(o)))
                ),
                args.reps,
            )
        )
        print_table(f"export to {fmt}", rows, rows[0].name)
    in_process(film, wd, args.reps)
    print(f"\nmachine: {machine()}")


def in_process(film: Path, wd: Path, reps: int) -> None:
    """The same exports inside one process: shotline's preparation and checks without start-up."""
    import opentimelineio as otio

    from shotline.otio_adapters.export import export_timeline
    from shotline.otio_adapters.timeline import read_timeline

    tl = read_timeline(film)
    for fmt, suffix in (("edl", ".edl"), ("fcp7", ".xml"), ("fcpxml", ".fcpxml")):
        rows = [
            median_time(
                f"otio.adapters.write_to_file -> {fmt}",
                lambda s=suffix: otio.adapters.write_to_file(tl, str(fresh(wd / f"raw{s}"))),
                max(reps, 5),
            ),
            median_time(
                f"export_timeline -> {fmt}",
                lambda s=suffix, f=fmt: export_timeline(tl, fresh(wd / f"lib{s}"), f),
                max(reps, 5),
            ),
        ]
        print_table(f"in one process: {fmt}", rows, rows[0].name)


if __name__ == "__main__":
    main()
