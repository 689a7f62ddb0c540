"""Smart render and the sound format: fade and trim of a 30 s 720p30 clip (GOP 2 s) whose sound
is AAC 44.1 kHz mono (the lavfi default, common in phone and AI footage) or 48 kHz stereo.

For each format: ``shotline fade`` (in 1 s + out 1 s) smart against ``--mode full``, and
``shotline trim`` 7.3-22.1 s smart against ``--mode exact``, run alternately round by round;
the ratio is the median of the per-round ratios (wall and CPU). The smart render copies the
untouched AAC packets at any rate and layout and re-encodes only the blocks at the edits, at
the source's own rate, so both formats should give the same ratio.

    python bench/bench_smart_sound.py [--quick] [--reps N]
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    fresh,
    interleaved,
    machine,
    paired_ratio,
    parse_args,
    print_table,
    sh,
    shotline_argv,
    synth,
    workdir,
)

FORMATS = (("44.1 kHz mono", 44100, 1), ("48 kHz stereo", 48000, 2))


def sound_mode(op: str, src: Path, start: float, end: float) -> str:
    """How the plan treats the sound: "smart" (packets copied) or "full" (re-encoded)."""
    from shotline.core.ops.effects import plan_fade
    from shotline.core.ops.trim import plan_trim

    out = src.with_name("plan-only.mp4")  # planned, never written
    plan = (
        plan_fade(src, out, fade_in=1, fade_out=1)
        if op == "fade"
        else plan_trim(src, out, start=start, end=end)
    )
    return str(plan.meta["audio"])


def job(out: Path, *args: str) -> Callable[[], None]:
    """One CLI run writing ``out`` afresh each time."""

    def go() -> None:
        sh(shotline_argv(*args, "-o", str(fresh(out))))

    return go


def main() -> None:
    ns = parse_args(__doc__)
    seconds = 12.0 if ns.quick else 30.0
    start, end = (3.3, 9.1) if ns.quick else (7.3, 22.1)
    d = workdir("smart_sound")
    print(f"# smart render and sound format ({'quick' if ns.quick else 'full'}), {ns.reps} rounds")
    print(f"# machine: {machine()}")
    summary = []
    for label, rate, channels in FORMATS:
        src = synth(
            d / f"src_{seconds:g}s_{rate}_{channels}.mp4",
            duration=seconds,
            rate="30",
            gop=60,
            sample_rate=rate,
            channels=channels,
        )
        f_smart, f_full, t_smart, t_exact = (d / f"{n}_{rate}.mp4" for n in ("fs", "ff", "ts", "te"))
        fade = ["--in", "1", "--out", "1"]
        cut = ["--start", f"{start:g}", "--end", f"{end:g}"]
        rows = interleaved(
            [
                ("fade --mode full", job(f_full, "fade", str(src), *fade, "--mode", "full")),
                ("fade, smart", job(f_smart, "fade", str(src), *fade)),
                ("trim --mode exact", job(t_exact, "trim", str(src), *cut, "--mode", "exact")),
                ("trim, smart", job(t_smart, "trim", str(src), *cut)),
            ],
            ns.reps,
        )
        print_table(f"{label}: fade and trim of a {seconds:g} s 720p30 clip", rows, rows[0].name)
        fw, fc = paired_ratio(rows[0], rows[1])
        tw, tc = paired_ratio(rows[2], rows[3])
        modes = sound_mode("fade", src, start, end), sound_mode("trim", src, start, end)
        summary.append((label, fw, fc, tw, tc, modes))
    print("\n## full / smart, median of per-round ratios")
    print(
        f"{'sound':<16} {'fade wall':>10} {'fade CPU':>9} {'trim wall':>10} {'trim CPU':>9}  audio (fade, trim)"
    )
    for label, fw, fc, tw, tc, modes in summary:
        print(f"{label:<16} {fw:>9.1f}x {fc:>8.1f}x {tw:>9.1f}x {tc:>8.1f}x  {modes[0]}, {modes[1]}")


if __name__ == "__main__":
    main()
