"""The functions ``import shotline`` offers (see docs/api.md).

Thin on purpose: each one turns what a user naturally passes (paths as ``str`` or ``Path``, a
transition as ``"dissolve:0.5"``, a rate as ``"29.97"``, ``24`` or a ``Fraction``) into the
library's types and calls the library function that the CLI command of the same name calls.
Heavy modules (PyAV, OpenTimelineIO, torch) are imported inside the functions, on first use.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from shotline.core.errors import UsageError

if TYPE_CHECKING:
    import opentimelineio as otio

    from shotline.core.media.probe import MediaInfo
    from shotline.core.ops.concat import ConcatResult
    from shotline.core.ops.effects import EffectResult
    from shotline.core.ops.gif import GifResult
    from shotline.core.ops.reframe import ReframeResult
    from shotline.core.ops.transitions import TransitionResult
    from shotline.core.ops.trim import TrimResult
    from shotline.core.produce.producer import ProduceResult
    from shotline.otio_adapters.build import BuildResult, TransitionSpec
    from shotline.otio_adapters.conform.render import RenderResult
    from shotline.otio_adapters.timeline import ExportReport
    from shotline.upscale.api import UpscaleReport

PathLike: TypeAlias = "str | os.PathLike[str]"
RateLike: TypeAlias = "str | int | float | Fraction"
TransitionLike: TypeAlias = "str | float | int | TransitionSpec | None"

STORYBOARD_SUFFIXES = (".yaml", ".yml", ".json")


def as_rate(value: RateLike | None) -> Fraction | None:
    """``"29.97"``, ``29.97``, ``"30000/1001"``, ``24`` or ``Fraction(24000, 1001)`` as an exact rate.

    Decimal NTSC spellings become the exact NTSC fraction (29.97 -> 30000/1001)."""
    if value is None:
        return None
    from shotline.otio_adapters.conform.model import exact_rate

    if isinstance(value, bool) or not isinstance(value, (str, int, float, Fraction)):
        raise UsageError(f"rate {value!r}: give a number such as 24, 25, 29.97 or '30000/1001'")
    try:
        if isinstance(value, str):
            text = value.strip()
            rate = Fraction(text)
            if "." in text:
                rate = exact_rate(float(rate))
        elif isinstance(value, float):
            rate = exact_rate(value)
        else:
            rate = Fraction(value)
    except (ValueError, ZeroDivisionError, OverflowError):
        raise UsageError(f"rate {value!r}: give a number such as 24, 25, 29.97 or '30000/1001'") from None
    if rate <= 0:
        raise UsageError(f"rate {value!r}: must be positive")
    return rate


def as_transition(value: TransitionLike) -> TransitionSpec | None:
    """``"dissolve:0.5"``, ``"wipeleft:1"``, ``0.5`` (a dissolve of that length), ``"cut"`` or None."""
    from shotline.otio_adapters.build import TransitionSpec, make_transition, parse_transition

    if value is None or isinstance(value, TransitionSpec):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return make_transition("dissolve", float(value))
    if isinstance(value, str):
        return parse_transition(value)
    raise UsageError(f"transition {value!r}: give 'dissolve:0.5', 'wipeleft:1', a number of seconds or 'cut'")


def _paths(values: PathLike | Iterable[PathLike]) -> list[Path]:
    if isinstance(values, (str, os.PathLike)):
        return [Path(values)]
    return [Path(v) for v in values]


# ----------------------------------------------------------------------------- media


def probe(path: PathLike) -> MediaInfo:
    """Media facts of one file (exact rates, size, rotation, VFR, colour, audio)."""
    from shotline.core.media.probe import probe as _probe

    return _probe(path)


def concat(
    inputs: Iterable[PathLike], output: PathLike, *, rate: RateLike | None = None, **options: Any
) -> ConcatResult:
    """Join clips end to end: a stream copy when they match, else normalized to the first."""
    from shotline.core.ops.concat import concat as _concat

    return _concat(_paths(inputs), Path(output), rate=as_rate(rate), **options)


def trim(
    input: PathLike,
    output: PathLike,
    *,
    start: float = 0.0,
    end: float | None = None,
    duration: float | None = None,
    **options: Any,
) -> TrimResult:
    """Seconds ``start`` to ``end`` (or ``start + duration``) of a clip; smart render where it can."""
    from shotline.core.ops.trim import trim as _trim

    return _trim(Path(input), Path(output), start=start, end=end, duration=duration, **options)


def fade(
    input: PathLike, output: PathLike, *, fade_in: float = 0.0, fade_out: float = 0.0, **options: Any
) -> EffectResult:
    """Fade picture and sound in from and out to black."""
    from shotline.core.ops.effects import fade as _fade

    return _fade(Path(input), Path(output), fade_in=fade_in, fade_out=fade_out, **options)


def xfade(
    inputs: Iterable[PathLike],
    output: PathLike,
    *,
    transition: TransitionLike = "dissolve:0.5",
    rate: RateLike | None = None,
    **options: Any,
) -> TransitionResult:
    """Join clips with a transition at every cut: ``"dissolve:0.5"``, ``"wipeleft:1"``..."""
    from shotline.core.ops.transitions import xfade as _xfade

    spec = as_transition(transition)
    if spec is None:
        raise UsageError("xfade needs a transition (e.g. 'dissolve:0.5'); use concat for plain cuts")
    return _xfade(
        _paths(inputs),
        Path(output),
        transition=spec.xfade,
        duration=spec.duration,
        rate=as_rate(rate),
        **options,
    )


def loop(
    input: PathLike,
    output: PathLike,
    *,
    times: int | None = None,
    duration: float | None = None,
    **options: Any,
) -> EffectResult:
    """Repeat a clip ``times`` times, or to ``duration`` seconds."""
    from shotline.core.ops.effects import loop as _loop

    return _loop(Path(input), Path(output), times=times, duration=duration, **options)


def speed(
    input: PathLike,
    output: PathLike,
    *,
    factor: float | None = None,
    duration: float | None = None,
    **options: Any,
) -> EffectResult:
    """Play a clip ``factor`` times as fast (or fit it to ``duration`` seconds); sound keeps its pitch."""
    from shotline.core.ops.effects import speed as _speed

    return _speed(Path(input), Path(output), factor=factor, duration=duration, **options)


def gif(input: PathLike, output: PathLike, **options: Any) -> GifResult:
    """An animated GIF (or WebP, by the output's suffix) preview of a clip."""
    from shotline.core.ops.gif import gif as _gif

    return _gif(input, output, **options)


def reframe(input: PathLike, output: PathLike, preset: str, **options: Any) -> ReframeResult:
    """A clip cut for a platform preset (``"tiktok"``, ``"youtube-shorts"``, ``"instagram-square"``...)."""
    from shotline.core.ops.reframe import reframe as _reframe

    return _reframe(input, output, preset, **options)


# ----------------------------------------------------------------------------- timelines


def timeline(
    source: PathLike | Sequence[PathLike],
    *,
    transition: TransitionLike = None,
    rate: RateLike | None = None,
    fade_in: float = 0.0,
    fade_out: float = 0.0,
    name: str | None = None,
    media_dir: PathLike | None = None,
    from_dir: PathLike | None = None,
    allow_missing: bool = False,
) -> BuildResult:
    """Build an OpenTimelineIO timeline from clips, or from a storyboard (one .yaml/.yml/.json file).

    Clips: each file whole, ``transition`` at every cut. A storyboard: its shots, transitions and
    music, each shot's media found in ``from_dir`` (the folder ``produce`` wrote; by default
    ``<storyboard>-out`` beside it), ``media_dir``, or ``shots/`` beside the storyboard.
    ``.timeline`` is the ``opentimelineio`` Timeline; ``.notes`` says what was adjusted."""
    paths = _paths(source)
    if len(paths) == 1 and paths[0].name.lower().endswith(STORYBOARD_SUFFIXES):
        if transition is not None or rate is not None:
            raise UsageError("a storyboard sets its own transitions and rate")
        from shotline.core.generate.storyboard import load_storyboard
        from shotline.otio_adapters.build import build_from_storyboard
        from shotline.otio_adapters.takes import takes_for_storyboard

        sb = load_storyboard(paths[0], check_files=False)
        takes, notes = takes_for_storyboard(
            paths[0],
            [s.id for s in sb.shots],
            media_dir=Path(media_dir) if media_dir is not None else None,
            from_dir=Path(from_dir) if from_dir is not None else None,
        )
        result = build_from_storyboard(
            sb, takes, allow_missing=allow_missing, fade_in=fade_in, fade_out=fade_out
        )
        result.notes[:0] = notes
        if name:
            result.timeline.name = name
        return result
    from shotline.otio_adapters.build import build_from_files

    return build_from_files(
        paths,
        transition=as_transition(transition),
        fade_in=fade_in,
        fade_out=fade_out,
        rate=as_rate(rate),
        name=name,
    )


def _otio_timeline(value: Any) -> otio.schema.Timeline:
    from shotline.otio_adapters.build import BuildResult

    if isinstance(value, BuildResult):
        return value.timeline
    if isinstance(value, (str, os.PathLike)):
        from shotline.otio_adapters.timeline import read_timeline

        return read_timeline(Path(value))
    return value


def render(timeline: Any, output: PathLike, *, rate: RateLike | None = None, **options: Any) -> RenderResult:
    """Render a timeline (a file OTIO reads, an OTIO Timeline, or what ``timeline()`` returned) to video."""
    from shotline.otio_adapters.build import BuildResult
    from shotline.otio_adapters.conform.render import render_timeline

    source = timeline.timeline if isinstance(timeline, BuildResult) else timeline
    if isinstance(source, os.PathLike):
        source = Path(source)
    return render_timeline(source, Path(output), rate=as_rate(rate), **options)


def export(timeline: Any, output: PathLike, format: str | None = None, **options: Any) -> ExportReport:
    """Write a timeline as EDL, FCP7 XML, FCPXML, AAF, .otio or .otioz (by ``format`` or the suffix);
    the report lists everything the format could not carry."""
    from shotline.otio_adapters.export import export_timeline

    return export_timeline(_otio_timeline(timeline), Path(output), format, **options)


# ----------------------------------------------------------------------------- upscale, produce


def upscale_video(
    input: PathLike,
    output: PathLike,
    *,
    model: str = "animevideov3",
    scale: int | None = None,
    backend: str = "auto",
    overwrite: bool = False,
    **options: Any,
) -> UpscaleReport:
    """Upscale a video: Real-ESRGAN (the ``torch`` or ``ncnn`` extra), Topaz, or ``backend="lanczos"``."""
    from shotline.upscale.api import UpscaleOptions
    from shotline.upscale.api import upscale as _upscale

    opts = UpscaleOptions(model=model, scale=scale, backend=backend, **options)
    return _upscale(Path(input), Path(output), opts, overwrite=overwrite)


def produce(
    storyboard: PathLike,
    outdir: PathLike | None = None,
    *,
    dry_run: bool = False,
    say: Any = None,
    **options: Any,
) -> ProduceResult:
    """The main job: generate, review, cut, render, export and report a storyboard into ``outdir``
    (default ``<storyboard>-out`` beside it). ``options`` are ProduceOptions fields
    (``provider="local"``, ``deliver=("tiktok",)``, ``upscale="lanczos"``...)."""
    from shotline.core.produce.producer import ProduceOptions
    from shotline.core.produce.producer import produce as _produce
    from shotline.otio_adapters.takes import produce_folder_for

    if "deliver" in options and isinstance(options["deliver"], str):
        options["deliver"] = (options["deliver"],)
    sb = Path(storyboard)
    out = Path(outdir) if outdir is not None else produce_folder_for(sb)
    return _produce(sb, out, ProduceOptions(**options), dry_run=dry_run, say=say)
