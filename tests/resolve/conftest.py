"""Fixtures: small OTIO edits on real synthesized media, job files, and a runner for the script.

``run_resolve`` runs the real ``shotline_resolve.py`` in a subprocess under the host
(``host.py``), which builds the strict stand-in for one Resolve version and hands the
script the globals Resolve gives menu scripts (or, externally, a ``DaVinciResolveScript``
module). The subprocess runs with ``python -S``: no site-packages, as in Resolve.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio
import pytest

from shotline.core.media.ffmpeg import ffmpeg_path
from shotline.core.media.probe import probe
from shotline.resolve_plugin import job as jobmod
from tests.mediakit import ClipFactory

HERE = Path(__file__).parent
HOST = HERE / "host.py"
SCRIPT = Path(jobmod.script.__file__)
VERSIONS = ("18.6", "19.1", "20.3", "21.1")


@dataclass
class Edit:
    """A timeline on disk and what it holds, for assertions."""

    path: Path
    rate: Fraction
    media: list[Path]
    # per clip: (name, record start, duration) in timeline frames
    clips: list[tuple[str, int, int]]
    transitions: int


def _rt(frames: int, rate: Fraction) -> otio.opentime.RationalTime:
    return otio.opentime.RationalTime(frames, float(rate))


def make_edit(
    folder: Path,
    media: Sequence[Path],
    cuts: Sequence[tuple[int, int]],
    dissolves: Sequence[int],
    name: str = "Promo Edit",
    width: int = 160,
    height: int = 90,
    fade_in: int = 0,
) -> Edit:
    """An OTIO timeline in the shape Resolve imports: bare paths, available_range, global start 01:00:00:00.

    ``cuts`` is (source in, duration) per clip, in frames; ``dissolves`` the frames of a
    centred dissolve after each clip but the last (0 for a hard cut); ``fade_in`` the
    frames of a fade from black at the start.
    """
    info = probe(media[0])
    assert info.video is not None
    rate = info.video.real_rate
    tl = otio.schema.Timeline(name=name)
    tl.global_start_time = _rt(round(rate) * 3600, rate)
    tl.metadata["shotline"] = {
        "rate": f"{rate.numerator}/{rate.denominator}",
        "width": width,
        "height": height,
    }
    track = otio.schema.Track(name="Video 1", kind=otio.schema.TrackKind.Video)
    clips: list[tuple[str, int, int]] = []
    pos = 0
    transitions = 0
    if fade_in:  # a fade from black: a transition before the first clip, all of it after the "cut"
        track.append(otio.schema.Transition(in_offset=_rt(0, rate), out_offset=_rt(fade_in, rate)))
        transitions += 1
    for i, (path, (src_in, dur)) in enumerate(zip(media, cuts)):
        m = probe(path)
        assert m.video is not None and m.video.frame_count
        ref = otio.schema.ExternalReference(
            target_url=str(path),
            available_range=otio.opentime.TimeRange(_rt(0, rate), _rt(m.video.frame_count, rate)),
        )
        clip = otio.schema.Clip(
            name=f"shot{i + 1}",
            media_reference=ref,
            source_range=otio.opentime.TimeRange(_rt(src_in, rate), _rt(dur, rate)),
        )
        clip.metadata["shotline"] = {"shot": i + 1, "prompt": f"prompt {i + 1}"}
        marker = otio.schema.Marker(
            name=f"shot{i + 1}",
            marked_range=otio.opentime.TimeRange(_rt(src_in + 2, rate), _rt(0, rate)),
            color=otio.schema.MarkerColor.GREEN,
        )
        clip.markers.append(marker)
        track.append(clip)
        clips.append((f"shot{i + 1}", pos, dur))
        pos += dur
        if i < len(dissolves) and dissolves[i]:
            half = dissolves[i] // 2
            track.append(
                otio.schema.Transition(
                    transition_type=otio.schema.TransitionTypes.SMPTE_Dissolve,
                    in_offset=_rt(half, rate),
                    out_offset=_rt(dissolves[i] - half, rate),
                )
            )
            transitions += 1
    tl.tracks.append(track)
    path = folder / f"{name}.otio"
    otio.adapters.write_to_file(tl, str(path))
    return Edit(path, rate, list(media), clips, transitions)


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """shotline's config folder (where `resolve job` notes the last job) inside the test's tmp."""
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


@pytest.fixture
def edit(clips: ClipFactory, tmp_path: Path) -> Edit:
    """Two 2 s shots at 24 fps cut 36 + 30 frames with a 12-frame dissolve (handles on both sides)."""
    a = clips(duration=2.0, width=160, height=90, rate="24", audio="stereo")
    b = clips(duration=2.0, width=160, height=90, rate="24", audio=None, source="smptebars")
    folder = tmp_path / "project"
    folder.mkdir()
    return make_edit(folder, [a, b], [(0, 36), (12, 30)], [12])


@pytest.fixture
def drx(tmp_path: Path) -> Path:
    """A grade still file (Resolve writes DRX as XML)."""
    p = tmp_path / "look.drx"
    p.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<Gallery><Still name="look"/></Gallery>\n')
    return p


def user_world(version: str, **extra: object) -> dict:
    """A Resolve with the user's own project open: one timeline and one queued render job."""
    world = {
        "version": version,
        "projects": [
            {"name": "Client Job", "timelines": ["Assembly"], "render_jobs": 1},
        ],
        "current_project": "Client Job",
    }
    world.update(extra)
    return world


@dataclass
class Run:
    result: dict[str, Any] | None
    state: dict[str, Any]
    stdout: str
    returncode: int

    def step(self, name: str) -> dict[str, Any]:
        assert self.result is not None
        found = [s for s in self.result["steps"] if s["step"] == name]
        assert found, f"no step {name!r} in {[s['step'] for s in self.result['steps']]}"
        return found[-1]

    @property
    def project(self) -> dict[str, Any]:
        return self.state["projects"][self.state["current_project"]]

    def timeline(self, name: str) -> dict[str, Any]:
        found = [t for t in self.project["timelines"] if t["name"] == name]
        assert found, f"no timeline {name!r}"
        return found[0]

    def missing_calls(self) -> list[str]:
        return [f"{c['class']}.{c['method']}" for c in self.state["calls"] if c["missing"]]

    def called(self, cls: str, method: str) -> list[dict[str, Any]]:
        return [
            c for c in self.state["calls"] if c["class"] == cls and c["method"] == method and not c["missing"]
        ]


RunResolve = Callable[..., Run]


@pytest.fixture
def run_resolve(tmp_path: Path) -> RunResolve:
    def run(world: dict[str, Any], job_path: Path | None, mode: str = "menu", env: dict | None = None) -> Run:
        world_file = tmp_path / "world.json"
        state_file = tmp_path / "state.json"
        world = {"ffmpeg": ffmpeg_path(), **world}  # the stand-in renders real files with it
        world_file.write_text(json.dumps(world))
        args = [sys.executable, "-S", str(HOST), str(world_file), str(state_file), mode, str(SCRIPT)]
        if job_path is not None:
            args.append(str(job_path))
        proc = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        state = json.loads(state_file.read_text())
        result = None
        if job_path is not None:
            rp = jobmod.result_path(job_path)
            if rp.exists():
                result = json.loads(rp.read_text())
        return Run(result, state, proc.stdout, state["exit_code"])

    return run


@pytest.fixture
def write_job(tmp_path: Path) -> Callable[..., Path]:
    """Build a job for an edit and write it (fast polling so render waits stay short)."""

    def write(edit: Edit, name: str = "job.json", xml: bool = True, **kw: Any) -> Path:
        path = edit.path.parent / name
        xml_path = path.with_suffix(".xml") if xml else None
        if xml_path is not None:
            jobmod.write_fcp7_xml(edit.path, xml_path, overwrite=True)
        kw.setdefault("project", "shotline test")
        kw.setdefault("render_dir", tmp_path / "renders")
        job = jobmod.build_job(edit.path, fallback_xml=xml_path, **kw)
        job["render"]["poll_s"] = 0.001
        jobmod.write_job(job, path, overwrite=True)
        return path

    return write
