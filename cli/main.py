"""The ``shotline`` command group.

Commands are registered by name and imported lazily, so ``shotline concat`` pays
only for what concat needs (start-up time is part of the concat benchmark).
Each entry maps a command name to ``module:attribute`` inside shotline.cli.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

COMMANDS: dict[str, str] = {
    # information
    "probe": "info:probe_cmd",
    "doctor": "info:doctor_cmd",
    # post-processing operations (the foundation)
    "concat": "ops:concat_cmd",
    "fade": "ops:fade_cmd",
    "xfade": "ops:xfade_cmd",
    "loop": "ops:loop_cmd",
    "speed": "ops:speed_cmd",
    "trim": "ops:trim_cmd",
    "resize": "media_ops:resize_cmd",
    "gif": "media_ops:gif_cmd",
    "audio": "media_ops:audio_group",
    "reframe": "media_ops:reframe_cmd",
    "frames": "media_ops:frames_group",
    "thumbs": "media_ops:thumbs_cmd",
    "contact-sheet": "media_ops:contact_sheet_cmd",
    "lut": "media_ops:lut_cmd",
    "burnin": "media_ops:burnin_cmd",
    # later capabilities, each its own group
    "storyboard": "generate:storyboard_group",
    "generate": "generate:generate_cmd",
    "timeline": "timeline:timeline_group",
    "upscale": "upscale:upscale_cmd",
    "resolve": "resolve:resolve_group",
    "produce": "produce:produce_cmd",
}


def _load(name: str) -> click.Command | None:
    target = COMMANDS.get(name)
    if target is None:
        return None
    module, _, attr = target.partition(":")
    try:
        mod = importlib.import_module(f"shotline.cli.{module}")
    except ModuleNotFoundError as exc:
        if exc.name == f"shotline.cli.{module}":
            return None  # capability not installed in this build
        raise
    cmd = getattr(mod, attr, None)
    return cmd if isinstance(cmd, click.Command) else None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n in COMMANDS if _load(n) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return _load(cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        from shotline.core.errors import Interrupted, ShotlineError, missing_module

        try:
            return super().invoke(ctx)
        except ShotlineError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except ModuleNotFoundError as exc:  # a package this install lacks: say which, and which extra
            if (exc.name or "").split(".")[0] == "shotline":
                raise
            err = missing_module(exc)
            click.echo(f"error: {err}", err=True)
            ctx.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo(f"error: {Interrupted('interrupted')}", err=True)
            ctx.exit(Interrupted.exit_code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="shotline")
@click.option("-v", "--verbose", count=True, help="Log each command run (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """shotline: storyboard to editor-ready video.

    Post-process clips with ffmpeg, build and render OpenTimelineIO timelines,
    upscale, and hand the edit to any NLE or DaVinci Resolve.

    \b
    Exit codes: 1 other error, 2 usage, 3 bad input media, 4 ffmpeg failed,
    5 provider error, 6 missing dependency, 7 timeline error, 130 interrupted.
    """
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            format="%(name)s: %(message)s",
            stream=sys.stderr,
        )


def main() -> None:
    cli(prog_name="shotline")


if __name__ == "__main__":  # pragma: no cover
    main()
