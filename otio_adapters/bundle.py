"""Self-contained .otioz bundles: the timeline plus every media file it uses, in one zip.

OTIO's own ``otioz`` adapter does the packing; this module checks first, so a bundle
never silently misses a file: every clip's media must exist on disk, and media file
names must be unique (the bundle keeps them flat under ``media/``).
"""

from __future__ import annotations

from pathlib import Path

import opentimelineio as otio

from shotline.core.errors import TimelineError
from shotline.core.media.runner import atomic_output
from shotline.otio_adapters.build import path_from_url


def bundle_media(
    timeline: otio.schema.Timeline,
    *,
    base: Path | None = None,
    media_dir: Path | None = None,
    allow_missing: bool = False,
    report: list[str] | None = None,
) -> list[Path]:
    """The media files a bundle of ``timeline`` will carry; TimelineError naming what is missing.

    Relative paths resolve from ``base`` (the timeline's folder); media that is not there is
    looked up by name in ``media_dir`` and the clip relinked to it (in ``timeline``, which must
    be a copy). With ``allow_missing`` clips without media stay references (listed in ``report``).
    """
    missing: list[str] = []
    seen: dict[str, Path] = {}
    index: dict[str, Path] = {}
    if media_dir is not None:
        if not media_dir.is_dir():
            raise TimelineError(f"{media_dir}: --media-dir is not a folder")
        for f in sorted(media_dir.rglob("*")):
            if f.is_file():
                index.setdefault(f.name.lower(), f)
                index.setdefault(f.stem.lower(), f)
    for clip in timeline.find_clips():
        ref = clip.media_reference
        path: Path | None = None
        if isinstance(ref, otio.schema.ExternalReference):
            path = path_from_url(ref.target_url)
            if not path.is_absolute() and base is not None:
                path = base / path
        if path is None or not path.is_file():
            names = [n for n in (path.name if path else "", path.stem if path else "", clip.name) if n]
            hit = next((index[n.lower()] for n in names if n.lower() in index), None)
            if hit is None:
                what = f"{path}" if path is not None else "no media reference"
                missing.append(f"{clip.name or '(unnamed)'} ({what})")
                continue
            if report is not None:
                report.append(f"clip {clip.name}: media relinked to {hit}")
            path = hit
            if not isinstance(ref, otio.schema.ExternalReference):
                ref = clip.media_reference = otio.schema.ExternalReference(
                    available_range=getattr(ref, "available_range", None)
                )
        ref.target_url = path.resolve().as_uri()  # type: ignore[union-attr]
        other = seen.get(path.name)
        if other is not None and other.resolve() != path.resolve():
            raise TimelineError(
                f"two media files share the name {path.name!r} ({other} and {path}); "
                "an .otioz keeps media flat, rename one"
            )
        seen[path.name] = path
    if missing and not allow_missing:
        raise TimelineError(
            "cannot bundle, media missing for: "
            + "; ".join(missing)
            + " (relink with --media-dir, or bundle them as references only with --allow-missing)"
        )
    if missing and report is not None:
        report.append("bundled as references without media: " + "; ".join(missing))
    return list(seen.values())


def write_otioz(
    timeline: otio.schema.Timeline,
    output: Path,
    *,
    overwrite: bool = False,
    inputs: tuple[Path, ...] = (),
    base: Path | None = None,
    media_dir: Path | None = None,
    allow_missing: bool = False,
    report: list[str] | None = None,
) -> list[Path]:
    """Write ``timeline`` and its media to ``output`` (.otioz) atomically; returns the media packed."""
    tl = timeline.deepcopy()
    media = bundle_media(tl, base=base, media_dir=media_dir, allow_missing=allow_missing, report=report)
    policy = otio.adapters.file_bundle_utils.MediaReferencePolicy
    with atomic_output(Path(output), tuple(inputs) + tuple(media), overwrite) as tmp:
        try:
            otio.adapters.write_to_file(
                tl,
                str(tmp),
                adapter_name="otioz",
                media_policy=policy.MissingIfNotFile if allow_missing else policy.ErrorIfNotFile,
            )
        except Exception as exc:
            raise TimelineError(
                f"{output}: could not write the bundle ({type(exc).__name__}: {exc})"
            ) from exc
    return media
