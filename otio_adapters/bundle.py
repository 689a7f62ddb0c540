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


def bundle_media(timeline: otio.schema.Timeline) -> list[Path]:
    """The media files a bundle of ``timeline`` will carry; TimelineError naming what is missing."""
    missing: list[str] = []
    seen: dict[str, Path] = {}
    for clip in timeline.find_clips():
        ref = clip.media_reference
        if not isinstance(ref, otio.schema.ExternalReference):
            missing.append(f"{clip.name or '(unnamed)'} (no media reference)")
            continue
        path = path_from_url(ref.target_url)
        if not path.is_file():
            missing.append(f"{clip.name or '(unnamed)'} ({path})")
            continue
        other = seen.get(path.name)
        if other is not None and other.resolve() != path.resolve():
            raise TimelineError(
                f"two media files share the name {path.name!r} ({other} and {path}); "
                "an .otioz keeps media flat, rename one"
            )
        seen[path.name] = path
    if missing:
        raise TimelineError("cannot bundle, media missing for: " + "; ".join(missing))
    return list(seen.values())


def write_otioz(
    timeline: otio.schema.Timeline, output: Path, *, overwrite: bool = False, inputs: tuple[Path, ...] = ()
) -> list[Path]:
    """Write ``timeline`` and its media to ``output`` (.otioz) atomically; returns the media packed."""
    media = bundle_media(timeline)
    # bare paths (the Resolve shape) are not understood by the bundler: give it file URLs
    tl = timeline.deepcopy()
    for clip in tl.find_clips():
        ref = clip.media_reference
        if isinstance(ref, otio.schema.ExternalReference) and not ref.target_url.startswith("file:"):
            ref.target_url = path_from_url(ref.target_url).resolve().as_uri()
    with atomic_output(Path(output), tuple(inputs) + tuple(media), overwrite) as tmp:
        try:
            otio.adapters.write_to_file(tl, str(tmp), adapter_name="otioz")
        except Exception as exc:
            raise TimelineError(
                f"{output}: could not write the bundle ({type(exc).__name__}: {exc})"
            ) from exc
    return media
