"""Resolve hand-off: what the script's standard-library readers cost, and a whole job end to end.

Inside Resolve there is no opentimelineio, so the script reads the .otio (and the FCP7
XML fallback) with the standard library to verify what Resolve imported. This compares
those readers with OpenTimelineIO's own (the reference a desktop tool would use) on the
same timeline, and times the two user-facing steps end to end:

* ``shotline resolve job`` (a fresh CLI process: reads the .otio, writes the job and XML);
* the script run against the strict stand-in of Resolve 21.1 in a ``python -S`` process
  (import, verify, markers, one render job per preset, render and wait).

There is no peer for the end-to-end rows (Resolve itself cannot run here); they are
absolute figures. Usage: ``python bench/bench_resolve.py [--quick] [--reps N]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    fresh,
    machine,
    median_time,
    parse_args,
    print_table,
    shotline_argv,
    synth,
    workdir,
)

RATE = Fraction(24)


def make_timeline(folder: Path, media: Path, clips: int, rate: int = 24) -> Path:
    """``clips`` 2-second shots from one file, each joined by a 12-frame dissolve, in Resolve's shape."""
    import opentimelineio as otio

    def rt(v: int) -> otio.opentime.RationalTime:
        return otio.opentime.RationalTime(v, rate)

    tl = otio.schema.Timeline(name=f"bench {clips}")
    tl.global_start_time = rt(rate * 3600)
    tl.metadata["shotline"] = {"rate": f"{rate}/1", "width": 320, "height": 180}
    track = otio.schema.Track(name="Video 1", kind=otio.schema.TrackKind.Video)
    for i in range(clips):
        ref = otio.schema.ExternalReference(
            target_url=str(media), available_range=otio.opentime.TimeRange(rt(0), rt(4 * rate))
        )
        clip = otio.schema.Clip(
            name=f"shot{i + 1}",
            media_reference=ref,
            source_range=otio.opentime.TimeRange(rt(12), rt(2 * rate)),
        )
        clip.markers.append(
            otio.schema.Marker(name=f"m{i}", marked_range=otio.opentime.TimeRange(rt(14), rt(0)))
        )
        track.append(clip)
        if i < clips - 1:
            track.append(
                otio.schema.Transition(transition_type="SMPTE_Dissolve", in_offset=rt(6), out_offset=rt(6))
            )
    tl.tracks.append(track)
    path = folder / f"bench-{clips}.otio"
    otio.adapters.write_to_file(tl, str(path))
    return path


def main() -> None:
    args = parse_args(__doc__)
    import opentimelineio as otio

    from shotline.resolve_plugin import shotline_resolve as script
    from shotline.resolve_plugin.job import write_fcp7_xml

    reps = 1 if args.quick and args.reps == 3 else args.reps
    reps = max(reps, 3)
    sizes = (50,) if args.quick else (50, 500)
    work = workdir("resolve")
    media = synth(work / "media.mp4", duration=4.0, width=320, height=180, rate="24", audio=False)
    print(f"machine: {machine()}")
    print("note: shared 2-core machine with other jobs running; figures are noisy")

    for n in sizes:
        otio_path = make_timeline(work, media, n)
        xml_path = fresh(work / f"bench-{n}.xml")
        write_fcp7_xml(otio_path, xml_path)

        def otio_walk(path: Path = otio_path) -> int:
            tl = otio.adapters.read_from_file(str(path))
            return sum(1 for _ in tl.find_clips())

        def xml_walk(path: Path = xml_path) -> int:
            tl = otio.adapters.read_from_file(str(path), adapter_name="fcp_xml")
            return sum(1 for _ in tl.find_clips())

        assert len(script.read_otio(str(otio_path), RATE)[0]["clips"]) == n == otio_walk()
        assert len(script.read_fcp7(str(xml_path), RATE)[0]["clips"]) == n == xml_walk()
        rows = [
            median_time("opentimelineio read .otio", otio_walk, reps),
            median_time(
                "script read_otio (stdlib)", lambda p=otio_path: script.read_otio(str(p), RATE), reps
            ),
        ]
        print_table(f"verify read, {n} clips + {n - 1} dissolves (.otio)", rows, "opentimelineio read .otio")
        rows = [
            median_time("opentimelineio fcp_xml adapter read", xml_walk, reps),
            median_time("script read_fcp7 (stdlib)", lambda p=xml_path: script.read_fcp7(str(p), RATE), reps),
        ]
        print_table(f"verify read, {n} clips (FCP7 XML)", rows, "opentimelineio fcp_xml adapter read")

        job = work / f"job-{n}.json"

        def write_job(job: Path = job, timeline: Path = otio_path) -> None:
            fresh(job)
            fresh(job.with_suffix(".xml"))
            argv = shotline_argv("resolve", "job", str(timeline), "--preset", "youtube", "--preset", "tiktok")
            env = dict(os.environ, XDG_CONFIG_HOME=str(work / "config"))  # keep the user's config alone
            subprocess.run([*argv, "--render", "-o", str(job)], check=True, capture_output=True, env=env)

        def run_script(job: Path = job) -> None:
            data = json.loads(job.read_text())
            data["render"]["poll_s"] = 0.01
            job.write_text(json.dumps(data))
            world = work / "world.json"
            world.write_text(json.dumps({"version": "21.1"}))
            host = ROOT / "tests" / "resolve" / "host.py"
            script_path = ROOT / "resolve_plugin" / "shotline_resolve.py"
            argv = [sys.executable, "-S", str(host), str(world), str(work / "state.json"), "menu"]
            subprocess.run([*argv, str(script_path), str(job)], check=True, capture_output=True)
            result = json.loads(job.with_name(job.stem + ".result.json").read_text())
            assert result["ok"], result["steps"]

        rows = [median_time("shotline resolve job (CLI process)", write_job, reps)]
        rows.append(median_time("script in stand-in 21.1 (process)", run_script, reps))
        print_table(f"end to end, {n} clips, 2 presets rendered", rows, None)


if __name__ == "__main__":
    main()
