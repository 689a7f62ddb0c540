"""Frames in and out: extract stills at a rate, and build a video from an image sequence.

Extraction writes a folder of numbered images. Like every other output, the folder
appears whole or not at all: ffmpeg writes into a temporary folder beside the
target, which is renamed into place only when it succeeded.

Building reads a numbered sequence (``shot_0001.png``, ``shot_0002.png`` ...): a
folder, one file of the sequence, or a printf pattern. The numbering is found
from the names, so folder or file names with spaces, quotes, unicode or ``%``
work; odd-sized images get a one-pixel pad to an even size for 4:2:0 (EncodeSettings.fit_chain).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from shotline.core.errors import MediaError, OutputExistsError, UsageError, shown
from shotline.core.media.encode import DEFAULT, EncodeSettings
from shotline.core.media.ffmpeg import ffmpeg_path
from shotline.core.media.plan import OUT, Plan, Step, single
from shotline.core.media.probe import probe
from shotline.core.media.runner import (
    ProgressCallback,
    execute,
    not_writable,
    owner_tag,
    run,
    same_file,
    sweep_dead,
)
from shotline.core.ops.resize import require_video, target_size

IMAGE_FORMATS = {"png": "png", "jpg": "mjpeg", "jpeg": "mjpeg", "webp": "libwebp", "tiff": "tiff"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")


@contextmanager
def atomic_dir(
    output: Path, inputs: list[Path] | tuple[Path, ...] = (), overwrite: bool = False
) -> Iterator[Path]:
    """Yield a temporary folder beside ``output``; it replaces ``output`` only if the block succeeds.

    An existing non-empty folder is refused unless ``overwrite``; an existing file is never replaced.
    """
    output = Path(output)
    for inp in inputs:
        if same_file(Path(inp), output) or Path(inp).resolve().is_relative_to(output.resolve()):
            raise UsageError(f"{output}: output folder would hold or replace an input; choose another")
    if output.exists() and not output.is_dir():
        raise UsageError(f"{shown(output)}: exists and is not a folder")
    if output.is_dir() and any(output.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"{shown(output)}: folder exists and is not empty (use --force to replace it)"
        )
    if not output.parent.is_dir():
        raise UsageError(f"{shown(output)}: folder {shown(output.parent)} does not exist")
    sweep_dead(output, stem=output.name)
    try:
        tmp = Path(
            tempfile.mkdtemp(prefix=f".{output.name[:40]}.{owner_tag()}", suffix=".part", dir=output.parent)
        )
    except OSError as exc:
        raise not_writable(output, exc) from None
    try:
        yield tmp
        if overwrite and output.exists():
            shutil.rmtree(output)
        try:
            # a folder renames over an empty folder only: a second writer that lost the race
            # meets the first one's files and fails instead of replacing them
            os.rename(tmp, output)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            raise OutputExistsError(
                f"{shown(output)}: another writer filled this folder first (use --force to replace it)"
            ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@dataclass(frozen=True)
class FramesResult:
    output: Path  # the folder
    files: tuple[Path, ...]
    times: tuple[float, ...]  # source time of each image, seconds
    width: int
    height: int


def plan_extract(
    input: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    fps: float | None = 1.0,
    start: float = 0.0,
    duration: float | None = None,
    width: int | None = None,
    format: str = "png",
    prefix: str = "frame_",
) -> Plan:
    """Plan an extraction: every frame (``fps=None``) or ``fps`` images per second."""
    info = require_video(input)
    assert info.video is not None
    if format not in IMAGE_FORMATS:
        raise UsageError(f"unknown image format {format!r}; choose one of {', '.join(IMAGE_FORMATS)}")
    if fps is not None and not 0 < fps <= 240:
        raise UsageError(f"fps {fps} must be above 0 and at most 240")
    if start < 0 or start >= info.duration:
        raise UsageError(f"{input}: start {start:g} s is outside the clip (0 to {info.duration:.3f} s)")
    if duration is not None and duration <= 0:
        raise UsageError(f"duration {duration} must be above 0")
    if "/" in prefix or "\\" in prefix or "%" in prefix:
        raise UsageError("the file prefix must not contain slashes or %")
    length = min(info.duration - start, duration) if duration is not None else info.duration - start
    w, h = target_size(info, width=width or info.video.display_size[0], round_even=False)
    chain = []
    if fps is not None:
        # Image k shows what is on screen at start + k/fps: the last frame at or before that
        # time (round=up sends each frame to the next slot, and a slot keeps its last frame).
        chain.append(f"fps={fps:g}:start_time=0:round=up")
    chain.append(f"scale={w}:{h}:flags=lanczos,setsar=1")
    args: list[str] = []
    if start > 0:
        args += ["-ss", f"{start:.6f}"]
    args += ["-t", f"{length:.6f}", "-i", str(input), "-map", "0:v:0", "-vf", ",".join(chain)]
    if fps is None:
        args += ["-fps_mode", "passthrough"]
    args += ["-c:v", IMAGE_FORMATS[format]]
    if format in ("jpg", "jpeg"):
        args += ["-q:v", "2"]
    args += ["-start_number", "1", "-f", "image2"]
    ext = "jpg" if format == "jpeg" else format
    step = Step(tuple(args), f"{OUT}/{prefix}%06d.{ext}", length, "extract frames")
    rate = Fraction(fps).limit_denominator(1001) if fps else info.video.rate
    return Plan(
        (step,),
        Path(output_dir),
        (Path(input),),
        f"extract frames at {fps:g} fps" if fps else "extract every frame",
        {"width": w, "height": h, "start": start, "rate": rate, "length": length},
    )


def extract_frames(
    input: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    **options: object,
) -> FramesResult:
    """Extract images into ``output_dir`` (created atomically); options as for plan_extract."""
    plan = plan_extract(input, output_dir, **options)  # type: ignore[arg-type]
    step = plan.steps[0]
    with atomic_dir(plan.output, plan.inputs, overwrite) as tmp:

        def on_progress(t: float, frame: int, speed: float | None) -> None:
            if progress is not None:
                from shotline.core.media.runner import Progress

                frac = min(1.0, t / step.duration) if step.duration else 0.0
                progress(Progress(0, 1, t, frame, speed, frac, None, step.label))

        argv = [ffmpeg_path(), "-hide_banner", "-nostdin", "-y", "-loglevel", "warning"]
        argv += [
            "-progress",
            "pipe:1",
            "-nostats",
            *step.args,
            step.output.replace(OUT, str(tmp).replace("%", "%%")),
        ]
        execute(argv, on_progress=on_progress)
        names = sorted(p.name for p in tmp.iterdir())
        if not names:
            raise MediaError(input, "no frames could be extracted from the chosen range")
    files = tuple(plan.output / n for n in names)
    start = float(plan.meta["start"])  # type: ignore[arg-type]
    rate = plan.meta["rate"]
    assert isinstance(rate, Fraction)
    times = tuple(round(start + i / float(rate), 6) for i in range(len(files)))
    return FramesResult(plan.output, files, times, int(plan.meta["width"]), int(plan.meta["height"]))  # type: ignore[call-overload]


# --- building a video from images -------------------------------------------------------------


@dataclass(frozen=True)
class Sequence:
    pattern: str  # image2 pattern: printf-style, literal % doubled
    start_number: int
    count: int
    first: Path


_NUMBERED = re.compile(r"^(.*?)(\d+)(\.[A-Za-z0-9]+)$")


def find_sequence(source: str | os.PathLike[str]) -> Sequence:
    """A numbered image sequence from a folder, one of its files, or a printf pattern (``shot_%04d.png``)."""
    src = Path(source)
    printf = re.search(r"%0?(\d*)d", src.name)
    if printf:  # a pattern: literal text around one %d / %04d, with %% for a literal %
        folder = src.parent
        prefix = src.name[: printf.start()].replace("%%", "%")
        suffix = src.name[printf.end() :].replace("%%", "%")
        if not folder.is_dir():
            raise MediaError(folder, "no such folder")
    elif src.is_file():
        m = _NUMBERED.match(src.name)
        if not m:
            raise UsageError(f"{src}: not part of a numbered sequence (name it like shot_0001.png)")
        folder, prefix, suffix = src.parent, m.group(1), m.group(3)
    elif src.is_dir():
        folder = src
        images = sorted(p for p in src.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise MediaError(src, "folder holds no images (png, jpg, webp, tiff, bmp)")
        m = _NUMBERED.match(images[0].name)
        if not m:
            raise UsageError(f"{images[0]}: not part of a numbered sequence (name it like shot_0001.png)")
        prefix, suffix = m.group(1), m.group(3)
    else:
        raise MediaError(src, "no such file or folder")
    rx = re.compile("^" + re.escape(prefix) + r"(\d+)" + re.escape(suffix) + "$")
    matches = sorted((int(mm.group(1)), p) for p in folder.iterdir() if (mm := rx.match(p.name)))
    if not matches:
        raise MediaError(src, "no image matches this pattern")
    digits = {len(rx.match(p.name).group(1)) for _, p in matches}  # type: ignore[union-attr]
    width = min(digits)
    number = f"%0{width}d" if len(digits) == 1 else "%d"
    pattern = str(folder / (prefix + "\0" + suffix)).replace("%", "%%").replace("\0", number)
    return _contiguous(matches, pattern, folder)


def image_size(path: str | os.PathLike[str]) -> tuple[int, int]:
    """Width and height of a still image, decoding it (a broken image raises MediaError naming it)."""
    import av

    try:
        with av.open(str(path)) as c:
            frame = next(c.decode(video=0))
            return frame.width, frame.height
    except (av.error.FFmpegError, StopIteration, IndexError) as exc:
        raise MediaError(path, f"not a readable image ({exc})") from None


def _contiguous(matches: list[tuple[int, Path]], pattern: str, where: Path) -> Sequence:
    numbers = [n for n, _ in matches]
    gaps = [b for a, b in zip(numbers, numbers[1:]) if b != a + 1]
    if gaps:
        raise MediaError(where, f"image sequence has a gap before number {gaps[0]}; renumber it")
    return Sequence(pattern, numbers[0], len(numbers), matches[0][1])


def plan_from_images(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    fps: float | str = 24,
    settings: EncodeSettings = DEFAULT,
) -> Plan:
    """Encode a numbered image sequence at a constant ``fps`` (a number or "30000/1001")."""
    seq = find_sequence(source)
    width, height = image_size(seq.first)  # validates the first image
    try:
        rate = Fraction(str(fps))
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"fps {fps!r} is not a number or a fraction like 30000/1001") from None
    if not 0 < rate <= 240:
        raise UsageError(f"fps {fps} must be above 0 and at most 240")
    r = f"{rate.numerator}/{rate.denominator}"
    vf = settings.fit_chain(
        "setsar=1,scale=out_color_matrix=bt709:out_range=tv:flags=lanczos+accurate_rnd+full_chroma_int",
        width,
        height,
        source=seq.first,
    )
    assert vf is not None
    args = ["-framerate", r, "-start_number", str(seq.start_number), "-f", "image2", "-i", seq.pattern]
    args += ["-frames:v", str(seq.count), "-vf", vf, *settings.video_args(float(rate))]
    args += ["-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]
    args += settings.container_args(str(output))
    duration = float(seq.count / rate)
    return single(
        args,
        Path(output),
        [seq.first],
        duration,
        f"encode {seq.count} images at {float(rate):g} fps",
        count=seq.count,
        rate=rate,
    )


@dataclass(frozen=True)
class SequenceResult:
    output: Path
    frames: int
    fps: Fraction
    duration: float
    width: int
    height: int


def from_images(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    fps: float | str = 24,
    settings: EncodeSettings = DEFAULT,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> SequenceResult:
    """Build a video from a numbered image sequence; see plan_from_images."""
    plan = plan_from_images(source, output, fps=fps, settings=settings)
    run(plan, overwrite=overwrite, progress=progress)
    info = probe(plan.output)
    assert info.video is not None
    return SequenceResult(
        plan.output,
        info.video.frame_count or int(plan.meta["count"]),  # type: ignore[call-overload]
        plan.meta["rate"],  # type: ignore[arg-type]
        info.duration,
        info.video.width,
        info.video.height,
    )
