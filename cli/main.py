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


def _set_verbosity(ctx: click.Context, verbose: int | None = None, quiet: bool | None = None) -> None:
    """-v/-q, wherever they were given (before or after the command name): the root's obj keeps them."""
    root = ctx.find_root()
    root.ensure_object(dict)
    if verbose:
        root.obj["verbose"] = root.obj.get("verbose", 0) + verbose
    if quiet:
        root.obj["quiet"] = True
    level = root.obj.get("verbose", 0)
    if root.obj.get("quiet"):
        logging.getLogger().setLevel(logging.ERROR)
    elif level:
        logging.basicConfig(format="%(name)s: %(message)s", stream=sys.stderr)
        logging.getLogger().setLevel(logging.DEBUG if level > 1 else logging.INFO)


def _verbose_cb(ctx: click.Context, param: click.Parameter, value: int) -> None:
    if value:
        _set_verbosity(ctx, verbose=value)


def _quiet_cb(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if value:
        _set_verbosity(ctx, quiet=True)


def _common_params() -> list[click.Option]:
    return [
        click.Option(
            ["-v", "--verbose"],
            count=True,
            expose_value=False,
            callback=_verbose_cb,
            help="Log each command run (-vv for debug).",
        ),
        click.Option(
            ["-q", "--quiet"],
            is_flag=True,
            expose_value=False,
            callback=_quiet_cb,
            help="No progress or status lines on stderr (results and errors still print).",
        ),
    ]


def _with_common(cmd: click.Command) -> click.Command:
    """Every command (and subcommand) takes -v/-q after its name too, as it does before."""
    taken = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)}
    if not taken & {"-v", "--verbose", "-q", "--quiet"}:
        cmd.params.extend(_common_params())
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            _with_common(sub)
    return cmd


def _usage_error(exc: click.exceptions.UsageError) -> None:
    """One line, ``error: ...``, and one hint line, instead of click's Usage/Try/Error block."""
    message = " ".join(exc.format_message().split())
    path = exc.ctx.command_path if exc.ctx is not None else "shotline"
    click.echo(f"error: {message}", err=True)
    click.echo(f"hint: {path} --help shows the usage", err=True)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n in COMMANDS if _load(n) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = _load(cmd_name)
        return _with_common(cmd) if cmd is not None else None

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.UsageError as exc:
            _usage_error(exc)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except OSError as exc:  # stdout closed early (`shotline probe --json x | head`), as click does
            import errno
            import os

            if exc.errno != errno.EPIPE:
                raise
            sys.stdout = open(os.devnull, "w")
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["shotline.argv"] = list(args)  # to write odd file names in errors as one line
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        from shotline.core.errors import (
            Interrupted,
            ShotlineError,
            escape_args,
            missing_module,
            os_error_message,
        )

        args = ctx.meta.get("shotline.argv", [])
        try:
            return super().invoke(ctx)
        except ShotlineError as exc:
            click.echo(f"error: {escape_args(str(exc), args)}", err=True)
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
        except OSError as exc:  # a read or write the OS refused where no check foresaw it: one line
            click.echo(f"error: {escape_args(os_error_message(exc), args)}", err=True)
            ctx.exit(1)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="shotline")
@click.option("-v", "--verbose", count=True, help="Log each command run (-vv for debug).")
@click.option("-q", "--quiet", is_flag=True, help="No progress or status lines on stderr.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """shotline: storyboard to editor-ready video.

    Post-process clips with ffmpeg, build and render OpenTimelineIO timelines,
    upscale, and hand the edit to any NLE or DaVinci Resolve.

    \b
    Exit codes: 1 other error, 2 usage, 3 bad input media, 4 ffmpeg failed,
    5 provider error, 6 missing dependency, 7 timeline error, 130 interrupted.
    """
    ctx.ensure_object(dict)
    ctx.obj.setdefault("verbose", 0)
    _set_verbosity(ctx, verbose=verbose, quiet=quiet)


def main() -> None:
    cli(prog_name="shotline")


if __name__ == "__main__":  # pragma: no cover
    main()
