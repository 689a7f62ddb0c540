"""``shotline probe`` and ``shotline doctor``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from shotline.cli.common import emit_json, with_examples
from shotline.core.vocab import SECRET_ENV_NAMES

DOCTOR_ENCODERS = ("libx264", "libx265", "h264_nvenc", "hevc_nvenc", "prores_ks", "libvpx-vp9", "gif")


@click.command("probe")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--json", "as_json", is_flag=True, help="Print the full facts as JSON: a list, one object per INPUT."
)
@with_examples("shotline probe clip.mp4", "shotline probe a.mp4 b.mov --json")
def probe_cmd(inputs: tuple[Path, ...], as_json: bool) -> None:
    """Print the media facts of each INPUT (duration, rate, size, rotation, colour, audio)."""
    from shotline.core.media.probe import probe

    infos = [probe(p) for p in inputs]
    if as_json:
        emit_json(infos)  # always a list: the same shape for one file and for many
        return
    for info in infos:
        click.echo(f"{info.path}")
        click.echo(f"  container {info.container}, {info.duration:.3f} s, {info.size_bytes} bytes")
        v = info.video
        if v:
            rate = (
                f"{v.rate.numerator}/{v.rate.denominator}"
                if v.rate.denominator != 1
                else str(v.rate.numerator)
            )
            click.echo(
                f"  video {v.codec} {v.width}x{v.height} SAR {v.sar} {v.pix_fmt} ({v.bit_depth}-bit) "
                f"{rate} fps{' VFR' if v.vfr else ''}"
                f"{f' rotation {v.rotation}' if v.rotation else ''}"
                f"{f' frames {v.frame_count}' if v.frame_count else ''}"
            )
        a = info.audio
        click.echo(
            f"  audio {a.codec} {a.sample_rate} Hz {a.channels} ch {a.layout}" if a else "  audio none"
        )


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def doctor_cmd(as_json: bool) -> None:
    """Report which ffmpeg, encoders, PyAV, torch/CUDA and provider keys shotline can use."""
    report = doctor_report()
    if as_json:
        emit_json(report)
        return
    ff = report["ffmpeg"]
    click.echo(
        f"ffmpeg   {ff.get('path')} ({ff.get('source')}, version {ff.get('version')})"
        if "path" in ff
        else f"ffmpeg   NOT FOUND: {ff.get('error')}"
    )
    for name, e in report["encoders"].items():
        state = "yes" if e["works"] else ("built in, but no device/driver" if e["built_in"] else "no")
        click.echo(f"  encoder {name:<11} {state}")
    click.echo(f"PyAV     {report['pyav']}")
    t = report["torch"]
    click.echo(
        f"torch    {t['version'] or 'not installed'}"
        + (f", CUDA {'yes: ' + t['cuda_device'] if t['cuda'] else 'no'}" if t["version"] else "")
    )
    keys = report["provider_keys"]
    click.echo("keys     " + ", ".join(f"{k} {'set' if v else 'unset'}" for k, v in keys.items()))
    extras = report["extras"]
    click.echo(
        "extras   "
        + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in extras.items())
        + (
            f" (add one with pip install 'shotline[{next(k for k, v in extras.items() if not v)}]')"
            if not all(extras.values())
            else ""
        )
    )


def doctor_report() -> dict[str, Any]:
    from shotline.core.errors import ShotlineError
    from shotline.core.media.ffmpeg import encoder_works, encoders, find_ffmpeg

    ff: dict[str, object]
    enc: dict[str, dict[str, bool]] = {}
    try:
        b = find_ffmpeg()
        ff = {"path": b.path, "source": b.source, "version": b.version}
        have = encoders()
        enc = {name: {"built_in": name in have, "works": encoder_works(name)} for name in DOCTOR_ENCODERS}
    except ShotlineError as exc:
        ff = {"error": str(exc)}
    try:
        import av

        pyav = av.__version__
    except ImportError:  # pragma: no cover
        pyav = "not installed"
    torch_info: dict[str, object] = {"version": None, "cuda": False, "cuda_device": None}
    try:
        import torch

        torch_info["version"] = torch.__version__
        if torch.cuda.is_available():
            torch_info["cuda"] = True
            torch_info["cuda_device"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    # names only: a value never leaves os.environ
    keys = {k: bool(os.environ.get(k)) for k in SECRET_ENV_NAMES}
    return {
        "ffmpeg": ff,
        "encoders": enc,
        "pyav": pyav,
        "torch": torch_info,
        "provider_keys": keys,
        "extras": installed_extras(),
    }


def installed_extras() -> dict[str, bool]:
    """Each optional extra: whether every module it brings is importable here (found, not imported)."""
    import importlib.util

    from shotline.core.errors import MODULE_SOURCES

    modules: dict[str, list[str]] = {}
    for module, (_, extra) in MODULE_SOURCES.items():
        if extra is not None:
            modules.setdefault(extra, []).append(module)
    return {
        extra: all(importlib.util.find_spec(m) is not None for m in mods) for extra, mods in modules.items()
    }
