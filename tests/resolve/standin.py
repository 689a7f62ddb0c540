"""A strict stand-in of DaVinci Resolve's scripting API, for one Resolve version at a time.

Standard library only: it runs where Resolve's scripts run, in a bare Python with no
opentimelineio, so it reads the imported OTIO JSON or FCP7 XML itself (with its own
parser, separate from the plugin's).

What makes it strict (the guard against invented calls):

* Each class lists the methods Resolve documents, with the version that added (and,
  for a few, removed) them. A method outside the profile reads as ``None``, exactly
  like Resolve's dynamic proxies, so calling it raises ``TypeError``; ``dir()`` lists
  only what exists. Every attribute access to a missing method is logged.
* Signatures are the documented ones (``GetStart()`` takes no argument before 19.0.2).
* Failure is silent as in Resolve: ``False``/``None``/``{}``, never an exception.
* Render format and codec take the short ids (``'mp4'``, ``'H264'``); render job status
  dicts carry only the keys that apply to the state.
* ``ImportTimelineFromFile`` returns ``None`` when the timeline name exists, when media is
  missing, and (21.1) when media is already in the pool and importSourceClips is True.

State is real (projects, media pool, timelines with items, render queue) and ``dump()``
returns it as plain data, with the call log, for the tests.
"""

from __future__ import annotations

import json
import os
import uuid
import xml.etree.ElementTree as ET
from fractions import Fraction
from typing import Any

PROFILES = {
    "18.5": (18, 5, 1),
    "18.6": (18, 6, 6),
    "19.1": (19, 1, 4),
    "20.3": (20, 3, 0),
    "21.1": (21, 1, 1),
}

ALWAYS = (0, 0, 0)
MARKER_COLORS = {
    "Blue",
    "Cyan",
    "Green",
    "Yellow",
    "Red",
    "Pink",
    "Purple",
    "Fuchsia",
    "Rose",
    "Lavender",
    "Sky",
    "Mint",
    "Lemon",
    "Sand",
    "Cocoa",
    "Cream",
}
RATES = {
    "23.976": Fraction(24000, 1001),
    "24": Fraction(24),
    "25": Fraction(25),
    "29.97": Fraction(30000, 1001),
    "30": Fraction(30),
    "50": Fraction(50),
    "59.94": Fraction(60000, 1001),
    "60": Fraction(60),
}
RENDER_FORMATS = {"QuickTime": "mov", "MP4": "mp4", "MXF OP1A": "mxf", "Wave": "wav"}
RENDER_CODECS = {
    "mov": {"Apple ProRes 422 HQ": "ProRes422HQ", "Apple ProRes 422": "ProRes422", "H.264": "H264"},
    "mp4": {"H.264": "H264", "H.265": "H265"},
    "mxf": {"Avid DNxHR HQ": "DNxHRHQ"},
    "wav": {},
}
# SetRenderSettings keys: name -> (accepted python types, first version)
RENDER_KEYS = {
    "SelectAllFrames": ((bool,), ALWAYS),
    "MarkIn": ((int,), ALWAYS),
    "MarkOut": ((int,), ALWAYS),
    "TargetDir": ((str,), ALWAYS),
    "CustomName": ((str,), ALWAYS),
    "UniqueFilenameStyle": ((int,), ALWAYS),
    "ExportVideo": ((bool,), ALWAYS),
    "ExportAudio": ((bool,), ALWAYS),
    "FormatWidth": ((int,), ALWAYS),
    "FormatHeight": ((int,), ALWAYS),
    "FrameRate": ((float, int), ALWAYS),
    "PixelAspectRatio": ((str,), ALWAYS),
    "VideoQuality": ((int, str), ALWAYS),
    "AudioCodec": ((str,), ALWAYS),
    "AudioBitDepth": ((int,), ALWAYS),
    "AudioSampleRate": ((int,), ALWAYS),
    "ColorSpaceTag": ((str,), ALWAYS),
    "GammaTag": ((str,), ALWAYS),
    "ExportAlpha": ((bool,), ALWAYS),
    "EncodingProfile": ((str,), ALWAYS),
    "MultiPassEncode": ((bool,), ALWAYS),
    "AlphaMode": ((int,), ALWAYS),
    "NetworkOptimization": ((bool,), ALWAYS),
    "ClipStartFrame": ((int,), (19, 1, 0)),
    "TimelineStartTimecode": ((str,), (19, 1, 0)),
    "ReplaceExistingFilesInPlace": ((bool,), (19, 1, 0)),
}
QUALITY_WORDS = {"Least", "Low", "Medium", "High", "Best"}
IMPORT_OPTIONS = {
    "timelineName",
    "importSourceClips",
    "sourceClipsPath",
    "sourceClipsFolders",
    "interlaceProcessing",
}


class World:
    """One pretend Resolve installation: version, edition, projects, faults and the call log."""

    def __init__(self, config: dict) -> None:
        self.profile = config.get("version", "19.1")
        self.version = PROFILES[self.profile]
        self.studio = config.get("studio", True)
        self.faults = config.get("faults", {})
        self.lut_dir = config.get("lut_dir", "")
        self.ui = config.get("ui", "none")  # none | answer (types ui_answer) | accept | refused
        self.ui_answer = config.get("ui_answer", "")
        # what the user left on the Deliver page (render settings, format/codec, render mode)
        self.deliver = config.get("deliver", {})
        self.ffmpeg = config.get("ffmpeg", "ffmpeg")
        # the name Resolve gives imported transitions, per import kind (an FCP7 XML import
        # has been seen naming them after the XML's effect, e.g. "fade cut")
        self.transition_names = config.get("transition_names", {})
        # free 19.1+: a script window raises the "You've reached a limitation" pop-up, and
        # until someone dismisses it every API call answers None
        self.modal = False
        self.saved: list[str] = []
        self.calls: list[dict] = []
        self.next_id = 0
        self.projects: dict[str, Project] = {}
        self.pm = ProjectManager(self)
        self.resolve = Resolve(self)
        for spec in config.get("projects", [{"name": "Untitled Project"}]):
            project = Project(self, spec["name"])
            project._settings.update(spec.get("settings", {}))
            for media in spec.get("pool", []):
                if isinstance(media, dict):  # {"path": ..., "bin": "Footage"}: a clip in a bin
                    project._pool._clip_for(media["path"], project._pool._bin(media.get("bin")))
                else:
                    project._pool._clip_for(media)
            project._deliver(spec.get("deliver"))
            for tl_name in spec.get("timelines", []):
                tl = Timeline(self, project, tl_name)
                project._timelines.append(tl)
            for i in range(spec.get("render_jobs", 0)):
                project._render_jobs.append(
                    RenderJob(
                        self, f"user job {i + 1}", "user timeline", "/tmp", f"user_{i}", "mov", "ProRes422HQ"
                    )
                )
            self.projects[project._name] = project
        current = config.get("current_project", next(iter(self.projects), None))
        self.pm._current = self.projects.get(current) if current else None

    def uid(self) -> str:
        self.next_id += 1
        return f"{self.next_id:08x}-{uuid.uuid4().hex[:8]}"

    def log(self, cls: str, method: str, args: tuple, kwargs: dict, missing: bool = False) -> None:
        self.calls.append(
            {
                "class": cls,
                "method": method,
                "args": [_plain(a) for a in args],
                "kwargs": {k: _plain(v) for k, v in kwargs.items()},
                "missing": missing,
            }
        )

    def dump(self) -> dict:
        return {
            "version": self.profile,
            "current_project": self.pm._current._name if self.pm._current else None,
            "projects": {name: p._dump() for name, p in self.projects.items()},
            "calls": self.calls,
            "modal": self.modal,
            "saved": self.saved,
        }


def _rate_text(rate: float) -> str:
    """Render job FrameRate as Resolve lists it: '23.976', '24', '29.97'."""
    text = f"{rate:.3f}".rstrip("0").rstrip(".")
    return text


def _plain(value: object) -> object:
    if isinstance(value, Api):
        return f"<{type(value).__name__}>"
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


class Api:
    """Base of every API object: version-gated methods, None for the rest, a call log.

    The stand-in calls its own methods through the class (``Project.GetSetting(self, k)``) so
    that the log holds only what the script called.
    """

    # method name -> (first version, version it was removed in or None)
    METHODS: dict[str, tuple[tuple[int, ...], tuple[int, ...] | None]] = {}

    def __init__(self, world: World) -> None:
        self._world = world

    @classmethod
    def _has(cls, name: str, version: tuple[int, ...]) -> bool:
        span = cls.METHODS.get(name)
        if span is None:
            return False
        since, removed = span
        return version >= since and (removed is None or version < removed)

    def __getattribute__(self, name: str) -> object:
        if name.startswith("_"):
            return object.__getattribute__(self, name)
        world = object.__getattribute__(self, "_world")
        cls = type(self)
        if not cls._has(name, world.version):
            world.log(cls.__name__, name, (), {}, missing=True)
            return None  # what Resolve's proxies answer for a name they do not have
        method = object.__getattribute__(self, name)

        def call(*args: object, **kwargs: object) -> object:
            world.log(cls.__name__, name, args, kwargs)
            if world.modal:
                return None  # the upsell pop-up is up: nothing answers until it is dismissed
            if kwargs and not (name == "StartRendering" and set(kwargs) <= {"isInteractiveMode"}):
                # stricter than what is known: the docs show positional calls only, so a script
                # that needs keywords is relying on something no reference confirms
                raise TypeError(f"{name}() called with keyword arguments {sorted(kwargs)}")
            return method(*args, **kwargs)

        return call

    def __dir__(self) -> list[str]:
        world = object.__getattribute__(self, "_world")
        return sorted(n for n in type(self).METHODS if type(self)._has(n, world.version))


def _since(*version: int) -> tuple[tuple[int, ...], None]:
    return (version, None)


A = _since(0, 0, 0)


class Resolve(Api):
    METHODS = {
        "Fusion": A,
        "GetMediaStorage": A,
        "GetProjectManager": A,
        "OpenPage": A,
        "GetCurrentPage": A,
        "GetProductName": A,
        "GetVersion": A,
        "GetVersionString": A,
        "ImportRenderPreset": _since(18, 6, 0),
        "ExportRenderPreset": _since(18, 6, 0),
        "IsStudio": _since(21, 1, 0),
    }

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self._page = "edit"

    def GetProjectManager(self) -> ProjectManager:
        return self._world.pm

    def GetProductName(self) -> str:
        return "DaVinci Resolve Studio" if self._world.studio else "DaVinci Resolve"

    def GetVersion(self) -> list:
        v = self._world.version
        return [v[0], v[1], v[2], 7, ""]

    def GetVersionString(self) -> str:
        v = self._world.version
        return f"{v[0]}.{v[1]}.{v[2]}.7"

    def IsStudio(self) -> bool:
        return bool(self._world.studio)

    def OpenPage(self, pageName: str) -> bool:
        if pageName not in ("media", "cut", "edit", "fusion", "color", "fairlight", "deliver"):
            return False
        self._page = pageName
        return True

    def GetCurrentPage(self) -> str:
        return self._page

    def Fusion(self) -> None:
        return None

    def GetMediaStorage(self) -> None:
        return None

    def ImportRenderPreset(self, presetPath: str) -> bool:
        return False

    def ExportRenderPreset(self, presetName: str, exportPath: str) -> bool:
        return False


class ProjectManager(Api):
    METHODS = {
        "CreateProject": A,
        "DeleteProject": A,
        "LoadProject": A,
        "GetCurrentProject": A,
        "SaveProject": A,
        "CloseProject": A,
        "GetProjectListInCurrentFolder": A,
    }

    def __init__(self, world: World) -> None:
        super().__init__(world)
        self._current: Project | None = None

    def CreateProject(self, projectName: str, *media_location: str) -> Project | None:
        if media_location and (len(media_location) > 1 or self._world.version < (20, 2, 2)):
            raise TypeError("CreateProject() takes 1 argument before 20.2.2, at most 2 after")
        if not isinstance(projectName, str) or not projectName or projectName in self._world.projects:
            return None
        project = Project(self._world, projectName)
        self._world.projects[projectName] = project
        self._current = project
        return project

    def DeleteProject(self, projectName: str) -> bool:
        return False  # the plugin has no business deleting projects; the log shows if it tried

    def LoadProject(self, projectName: str) -> Project | None:
        project = self._world.projects.get(projectName)
        if project is None or project is self._current:
            return None  # measured: loading the open project returns None
        self._current = project
        return project

    def GetCurrentProject(self) -> Project | None:
        return self._current

    def SaveProject(self) -> bool:
        if self._current is None or self._current._name == "Untitled Project":
            return False  # measured: False on the never-saved Untitled Project (it hangs headless)
        self._world.saved.append(self._current._name)
        return True

    def CloseProject(self, project: Project) -> bool:
        return False

    def GetProjectListInCurrentFolder(self) -> list[str]:
        return list(self._world.projects)


class Project(Api):
    METHODS = {
        "GetMediaPool": A,
        "GetTimelineCount": A,
        "GetTimelineByIndex": A,
        "GetCurrentTimeline": A,
        "SetCurrentTimeline": A,
        "GetName": A,
        "GetSetting": A,
        "SetSetting": A,
        "GetSettings": _since(21, 1, 0),
        "SetSettings": _since(21, 1, 0),
        "AddRenderJob": A,
        "DeleteRenderJob": A,
        "DeleteAllRenderJobs": A,
        "GetRenderJobList": A,
        "GetRenderPresetList": A,
        "StartRendering": A,
        "StopRendering": A,
        "IsRenderingInProgress": A,
        "LoadRenderPreset": A,
        "SetRenderSettings": A,
        "GetRenderJobStatus": A,
        "GetRenderFormats": A,
        "GetRenderCodecs": A,
        "GetCurrentRenderFormatAndCodec": A,
        "SetCurrentRenderFormatAndCodec": A,
        "GetCurrentRenderMode": A,
        "SetCurrentRenderMode": A,
        "RefreshLUTList": A,
    }

    def __init__(self, world: World, name: str) -> None:
        super().__init__(world)
        self._name = name
        self._settings = {
            "timelineFrameRate": "24",
            "timelineResolutionWidth": "1920",
            "timelineResolutionHeight": "1080",
            "timelinePlaybackFrameRate": "24",
        }
        self._timelines: list[Timeline] = []
        self._current_timeline: Timeline | None = None
        self._pool = MediaPool(world, self)
        self._render_jobs: list[RenderJob] = []
        self._render_format = ("mov", "ProRes422HQ")
        self._render_mode = 1
        self._render_settings: dict = {}
        self._luts_known: set[str] = set()
        self._deliver(world.deliver)

    def _deliver(self, state: dict | None) -> None:
        """The Deliver page as a user left it: settings layer on, as SetRenderSettings does."""
        if not state:
            return
        self._render_settings.update(state.get("settings", {}))
        if "format" in state:
            self._render_format = tuple(state["format"])  # type: ignore[assignment]
        if "mode" in state:
            self._render_mode = state["mode"]

    # -- basics --
    def GetMediaPool(self) -> MediaPool:
        return self._pool

    def GetName(self) -> str:
        return self._name

    def GetTimelineCount(self) -> int:
        return len(self._timelines)

    def GetTimelineByIndex(self, idx: int) -> Timeline | None:
        if not isinstance(idx, int) or not 1 <= idx <= len(self._timelines):
            return None
        return self._timelines[idx - 1]

    def GetCurrentTimeline(self) -> Timeline | None:
        return self._current_timeline

    def SetCurrentTimeline(self, timeline: Timeline) -> bool:
        if timeline not in self._timelines:
            return False
        self._current_timeline = timeline
        return True

    # -- settings --
    def _rate(self) -> Fraction:
        return RATES[self._settings["timelineFrameRate"].replace(" DF", "")]

    def GetSetting(self, settingName: str | None = None) -> object:
        if not settingName:
            return dict(self._settings)
        value = self._settings.get(settingName, "")
        if settingName == "timelineFrameRate" and self._world.version >= (21, 1, 0):
            return float(value.replace(" DF", ""))  # 21.1: returned as a number
        return value

    def SetSetting(self, settingName: str, settingValue: str) -> bool:
        if not isinstance(settingValue, str) or settingName not in self._settings:
            return False
        if settingName == "timelinePlaybackFrameRate":
            return False  # read-only
        if settingName == "timelineFrameRate":
            if settingValue.replace(" DF", "") not in RATES or self._timelines or self._pool._all():
                # the manual: the rate locks once media is in the pool (and so once timelines exist)
                return False
        if settingName.startswith("timelineResolution"):
            if not settingValue.isdigit() or not 16 <= int(settingValue) <= 16384:
                return False
        self._settings[settingName] = settingValue
        return True

    def GetSettings(self) -> dict:
        return {k: Project.GetSetting(self, k) for k in self._settings}

    def SetSettings(self, settings: dict) -> bool:
        ok = True
        for key, value in settings.items():
            ok = Project.SetSetting(self, key, value) and ok
            if not ok:
                return False  # keys applied before it are kept
        return ok

    def RefreshLUTList(self) -> bool:
        found = set()
        if self._world.lut_dir and os.path.isdir(self._world.lut_dir):
            for root, _dirs, files in os.walk(self._world.lut_dir):
                for f in files:
                    if f.lower().endswith((".cube", ".3dl", ".dat")):
                        found.add(os.path.normpath(os.path.join(root, f)))
        self._luts_known = found
        return True

    def _lut_ok(self, path: object) -> bool:
        if not isinstance(path, str) or not self._world.lut_dir:
            return False
        full = path if os.path.isabs(path) else os.path.join(self._world.lut_dir, path)
        return os.path.normpath(full) in self._luts_known

    # -- render --
    def GetRenderFormats(self) -> dict:
        return dict(RENDER_FORMATS)

    def GetRenderCodecs(self, renderFormat: str) -> dict:
        return dict(RENDER_CODECS.get(renderFormat, {}))

    def GetCurrentRenderFormatAndCodec(self) -> dict:
        return {"format": self._render_format[0], "codec": self._render_format[1]}

    def SetCurrentRenderFormatAndCodec(self, format: str, codec: str) -> bool:
        if format not in RENDER_CODECS or codec not in RENDER_CODECS[format].values():
            return False  # descriptions ('MP4', 'H.264') are refused: ids only
        self._render_format = (format, codec)
        return True

    def GetCurrentRenderMode(self) -> int:
        return self._render_mode

    def SetCurrentRenderMode(self, renderMode: int) -> bool:
        if renderMode not in (0, 1) or isinstance(renderMode, bool):
            return False
        self._render_mode = renderMode
        return True

    def SetRenderSettings(self, settings: dict) -> bool:
        if not isinstance(settings, dict):
            return False
        ignored = set(self._world.faults.get("ignore_render_keys", []))
        settings = dict(settings)
        for key, value in list(settings.items()):
            spec = RENDER_KEYS.get(key)
            if spec is None or self._world.version < spec[1]:
                return False
            types = spec[0]
            if isinstance(value, bool) and bool not in types:
                return False
            if not isinstance(value, types):
                return False
            if key == "VideoQuality" and isinstance(value, str) and value not in QUALITY_WORDS:
                return False  # measured: a numeric string fails the whole dict
        # measured: settings layer on the loaded preset; a key Resolve keeps from it says True
        self._render_settings.update({k: v for k, v in settings.items() if k not in ignored})
        return True

    def GetRenderPresetList(self) -> list:
        return ["YouTube - 1080p", "H.264 Master"]

    def LoadRenderPreset(self, presetName: str) -> bool:
        return presetName in Project.GetRenderPresetList(self)

    def AddRenderJob(self) -> str:
        tl = self._current_timeline
        if tl is None:
            return ""
        if self._world.faults.get("add_render_job_empty_first") and not getattr(self, "_retried", False):
            self._retried = True
            return ""  # measured: the first call may return ""
        s = self._render_settings
        job = RenderJob(
            self._world,
            f"Job {len(self._render_jobs) + 1}",
            tl._name,
            s.get("TargetDir", ""),
            s.get("CustomName", tl._name),
            *self._render_format,
        )
        job.width = s.get("FormatWidth", int(self._settings["timelineResolutionWidth"]))
        job.height = s.get("FormatHeight", int(self._settings["timelineResolutionHeight"]))
        job.quality = s.get("VideoQuality", 0)
        job.export_audio = s.get("ExportAudio", True)
        job.export_video = s.get("ExportVideo", True)
        job.rate = float(s.get("FrameRate", float(self._rate())))
        job.audio_codec = s.get("AudioCodec", "aac")
        job.sample_rate = s.get("AudioSampleRate", 48000)
        job.mode = self._render_mode
        # frames relative to the timeline start: all of it, or the user's in/out marks
        length = Timeline.GetEndFrame(tl) - tl._start
        if s.get("SelectAllFrames", True) is False and "MarkIn" in s and "MarkOut" in s:
            job.mark = (int(s["MarkIn"]), int(s["MarkOut"]))
        else:
            job.mark = (0, max(0, length - 1))
        job.clips = len([i for track in tl._video for i in track if i._clip is not None])
        self._render_jobs.append(job)
        return job.id

    def DeleteRenderJob(self, jobId: str) -> bool:
        job = self._job(jobId)
        if job is None or job.state == "Rendering":
            return False
        self._render_jobs.remove(job)
        return True

    def DeleteAllRenderJobs(self) -> bool:
        return False

    def GetRenderJobList(self) -> list:
        return [j.info() for j in self._render_jobs]

    def _job(self, job_id: object) -> RenderJob | None:
        for j in self._render_jobs:
            if j.id == job_id:
                return j
        return None

    def StartRendering(self, *args: object, isInteractiveMode: bool = False) -> bool:
        if len(args) == 1 and isinstance(args[0], list):
            ids = args[0]
        elif all(isinstance(a, str) for a in args):
            ids = list(args) or [j.id for j in self._render_jobs if j.state == "Ready"]
        else:
            return False  # index-based forms are no longer supported
        jobs = [self._job(i) for i in ids]
        if not jobs or any(j is None for j in jobs):
            return False
        for j in jobs:
            assert j is not None
            j.state = "Rendering"
            j.percent = 0
            j.fail = self._world.faults.get("render_fail", {}).get(j.name)
        return True

    def StopRendering(self) -> None:
        for j in self._render_jobs:
            if j.state == "Rendering":
                j.state = "Cancelled"

    def IsRenderingInProgress(self) -> bool:
        return any(j.state == "Rendering" for j in self._render_jobs)

    def GetRenderJobStatus(self, jobId: str) -> dict:
        job = self._job(jobId)
        if job is None:
            return {}
        return job.poll()

    def _dump(self) -> dict:
        return {
            "name": self._name,
            "settings": dict(self._settings),
            "timelines": [t._dump() for t in self._timelines],
            "current_timeline": self._current_timeline._name if self._current_timeline else None,
            "render_jobs": [dict(j.info(), JobStatus=j.state) for j in self._render_jobs],
            "pool": [c._path for c in self._pool._clips],
        }


class RenderJob:
    """A render queue entry (plain state, not an API object: Resolve hands out dicts)."""

    def __init__(
        self, world: World, name: str, timeline: str, target: str, custom: str, fmt: str, codec: str
    ):
        self.world = world
        self.id = world.uid()
        self.name = name
        self.timeline = timeline
        self.target = target
        self.custom = custom
        self.fmt, self.codec = fmt, codec
        self.width, self.height, self.quality, self.export_audio = 1920, 1080, 0, True
        self.export_video = True
        self.rate = 24.0
        self.audio_codec, self.sample_rate = "aac", 48000
        self.mode = 1
        self.mark = (0, 0)
        self.clips = 1
        self.state = "Ready"
        self.percent = 0
        self.fail: str | None = None

    @property
    def filename(self) -> str:
        return f"{self.custom}.{self.fmt}"

    def info(self) -> dict:
        return {
            "JobId": self.id,
            "RenderJobName": self.name,
            "TimelineName": self.timeline,
            "TargetDir": self.target,
            "OutputFilename": self.filename,
            "IsExportVideo": self.export_video,
            "IsExportAudio": self.export_audio,
            "FormatWidth": self.width,
            "FormatHeight": self.height,
            "FrameRate": _rate_text(self.rate),
            "MarkIn": self.mark[0],
            "MarkOut": self.mark[1],
            "AudioCodec": self.audio_codec,
            "AudioSampleRate": self.sample_rate,
            "VideoFormat": {v: k for k, v in RENDER_FORMATS.items()}[self.fmt],
            "VideoCodec": self.codec,
            "RenderMode": "Single clip" if self.mode == 1 else "Individual clips",
        }

    def _write(self) -> None:
        """Render: a real file with ffmpeg, as the job's settings say (frames, size, rate, streams)."""
        import subprocess

        os.makedirs(self.target, exist_ok=True)
        frames = max(1, self.mark[1] - self.mark[0] + 1)
        seconds = frames / self.rate
        video = self.export_video and not self.world.faults.get("render_audio_only")
        args = [self.world.ffmpeg, "-v", "error", "-y"]
        if video:
            args += ["-f", "lavfi", "-i", f"testsrc2=s={self.width}x{self.height}:r={self.rate}:d={seconds}"]
        if self.export_audio:
            args += ["-f", "lavfi", "-i", f"sine=r={self.sample_rate}:d={seconds}"]
        if video:
            args += [
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-frames:v",
                str(frames),
            ]
        if self.export_audio:
            args += ["-c:a", "aac"]
        outputs = [self.filename] if self.mode == 1 else self._clip_names()
        for name in outputs:
            subprocess.run([*args, os.path.join(self.target, name)], check=True, capture_output=True)

    def _clip_names(self) -> list[str]:
        return [f"{self.custom}_{i:05d}.{self.fmt}" for i in range(1, self.clips + 1)]

    def poll(self) -> dict:
        """Each status read advances a rendering job by half; a failing one fails on the first read."""
        if self.state == "Rendering" and self.name in self.world.faults.get("render_hang", []):
            pass  # stuck at 0%: only StopRendering ends it
        elif self.state == "Rendering":
            if self.fail:
                self.state = "Failed"
            else:
                self.percent = min(100, self.percent + 50)
                if self.percent == 100:
                    self.state = "Complete"
                    self._write()
        status: dict = {"JobStatus": self.state, "CompletionPercentage": self.percent}
        if self.state == "Rendering":
            status["EstimatedTimeRemainingInMs"] = 1000
        elif self.state == "Complete":
            status["TimeTakenToRenderInMs"] = 2000
        elif self.state == "Failed":
            status["Error"] = self.fail
        return status


class Folder(Api):
    METHODS = {"GetClipList": A, "GetName": A, "GetSubFolderList": A, "GetUniqueId": _since(18, 0, 0)}

    def __init__(self, world: World, pool: MediaPool, name: str) -> None:
        super().__init__(world)
        self._pool = pool
        self._name = name
        self._id = world.uid()
        self._clips: list[MediaPoolItem] = []
        self._subs: list[Folder] = []

    def GetClipList(self) -> list:
        return list(self._clips)

    def GetName(self) -> str:
        return self._name

    def GetSubFolderList(self) -> list:
        return list(self._subs)

    def GetUniqueId(self) -> str:
        return self._id


class MediaPoolItem(Api):
    METHODS = {"GetName": A, "GetMediaId": A, "GetClipProperty": A, "GetUniqueId": _since(18, 0, 0)}

    def __init__(self, world: World, path: str) -> None:
        super().__init__(world)
        self._path = path
        self._id = world.uid()
        # Resolve links a clip to its file when the clip is made; a missing file stays offline
        self._online = os.path.isfile(path)

    def GetName(self) -> str:
        return os.path.basename(self._path)

    def GetMediaId(self) -> str:
        return self._id

    def GetUniqueId(self) -> str:
        return self._id

    def GetClipProperty(self, propertyName: str | None = None) -> object:
        props = {
            "File Path": self._path,
            "Clip Name": MediaPoolItem.GetName(self),
            "Online Status": "Online" if self._online else "Offline",
            "Type": "Video",
        }
        return props if not propertyName else props.get(propertyName, "")


class MediaPool(Api):
    METHODS = {
        "GetRootFolder": A,
        "GetCurrentFolder": A,
        "CreateEmptyTimeline": A,
        "ImportTimelineFromFile": A,
        "ImportMedia": A,
    }

    def __init__(self, world: World, project: Project) -> None:
        super().__init__(world)
        self._project = project
        self._root = Folder(world, self, "Master")

    @property
    def _clips(self) -> list[MediaPoolItem]:
        return self._all()

    def _all(self) -> list[MediaPoolItem]:
        out, todo = [], [self._root]
        while todo:
            folder = todo.pop(0)
            out.extend(folder._clips)
            todo.extend(folder._subs)
        return out

    def _bin(self, name: str | None) -> Folder:
        if not name:
            return self._root
        for sub in self._root._subs:
            if sub._name == name:
                return sub
        sub = Folder(self._world, self, name)
        self._root._subs.append(sub)
        return sub

    def GetRootFolder(self) -> Folder:
        return self._root

    def GetCurrentFolder(self) -> Folder:
        return self._root

    def _clip_for(self, path: str, folder: Folder | None = None) -> MediaPoolItem:
        clip = MediaPoolItem(self._world, path)
        (folder or self._root)._clips.append(clip)
        return clip

    def ImportMedia(self, items: list) -> list:
        out = []
        for it in items:
            path = it if isinstance(it, str) else it.get("FilePath") if isinstance(it, dict) else None
            if isinstance(path, str) and os.path.isfile(path):
                out.append(self._clip_for(path))
        return out

    def CreateEmptyTimeline(self, name: str) -> Timeline | None:
        if not isinstance(name, str) or not name or any(t._name == name for t in self._project._timelines):
            return None
        tl = Timeline(self._world, self._project, name)
        self._project._timelines.append(tl)
        return tl

    def ImportTimelineFromFile(self, filePath: str, importOptions: dict | None = None) -> Timeline | None:
        world = self._world
        opts = importOptions or {}
        if not isinstance(filePath, str) or not isinstance(opts, dict) or set(opts) - IMPORT_OPTIONS:
            return None
        if not os.path.isfile(filePath):
            return None
        ext = os.path.splitext(filePath)[1].lower()
        kind = {".otio": "otio", ".xml": "fcp7xml"}.get(ext)
        if kind is None or (kind == "otio" and world.version < (18, 5, 0)):
            return None
        if kind in world.faults.get("import_none", []):
            return None
        rate = self._project._rate()
        try:
            parsed = parse_otio(filePath, rate) if kind == "otio" else parse_fcp7(filePath, rate)
        except (ValueError, KeyError, TypeError, ET.ParseError):
            return None  # Resolve refuses what it cannot read, silently
        name = opts.get("timelineName") or parsed["name"] or os.path.basename(filePath)
        if any(t._name == name for t in self._project._timelines):
            return None  # the unique-name rule
        paths = [c["media"] for track in parsed["video"] for c in track["clips"]]
        if any(not p for p in paths):
            return None  # a clip with no media reference at all
        if kind == "otio" and world.faults.get("missing_media") == "none":
            if any(not os.path.isfile(p) for p in paths):
                return None  # measured (19.1, with sourceClipsPath): None, no reason given
        source_clips = opts.get("importSourceClips", True)
        if world.version >= (21, 1, 0) and source_clips and any(c._path in paths for c in self._all()):
            return None  # measured on 21.1: "Import Log - Operation canceled"
        # importSourceClips False: the clips are looked up in the current folder and the
        # sourceClipsFolders given; a clip found nowhere comes in offline
        folders = [self._root] + list(opts.get("sourceClipsFolders") or [])
        searchable = {c._path: c for f in folders if isinstance(f, Folder) for c in f._clips}
        made: dict[str, MediaPoolItem] = {}

        def clip_for(path: str) -> MediaPoolItem:
            if path in made:
                return made[path]
            if source_clips:
                clip = self._clip_for(path)  # a new clip each import: re-imports duplicate media
            else:
                clip = searchable.get(path) or MediaPoolItem(world, "")
                if clip._path == "":
                    clip._path, clip._online = path, False  # offline: not linked to any file
            made[path] = clip
            return clip

        tl = Timeline(world, self._project, name)
        tl._start = int(round(rate)) * 3600 if parsed["start"] is None else parsed["start"]
        trans_name = world.transition_names.get(kind, "Cross Dissolve")
        no_graph = set(world.faults.get("no_graph", []))
        for t_index, track in enumerate(parsed["video"], start=1):
            items: list[TimelineItem] = []
            for c in track["clips"]:
                item = TimelineItem(
                    world,
                    tl,
                    c["name"],
                    tl._start + c["start"],
                    c["duration"],
                    clip_for(c["media"]),
                    ("video", t_index),
                )
                item._left, item._right = c["left"], c["right"]
                item._no_graph = c["name"] in no_graph
                for offset, marker in c.get("markers", {}).items():
                    item._markers[offset] = marker  # clip markers come in with the clip
                items.append(item)
            if not world.faults.get("drop_transitions"):
                items += _transition_items(world, tl, track, trans_name, ("video", t_index))
            items.sort(key=lambda i: i._start)
            tl._video.append(items)
        for a_index, track in enumerate([] if world.faults.get("drop_audio") else parsed["audio"], start=1):
            items = []
            for c in track["clips"]:
                clip = clip_for(c["media"])
                items.append(
                    TimelineItem(
                        world, tl, c["name"], tl._start + c["start"], c["duration"], clip, ("audio", a_index)
                    )
                )
            items += _transition_items(world, tl, track, "Cross Fade +3 dB", ("audio", a_index))
            items.sort(key=lambda i: i._start)
            tl._audio.append(items)
        for frame, marker in parsed["markers"].items():
            tl._markers[frame] = marker
        self._project._timelines.append(tl)
        return tl


class Timeline(Api):
    METHODS = {
        "GetName": A,
        "SetName": A,
        "GetStartFrame": A,
        "GetEndFrame": A,
        "GetTrackCount": A,
        "GetItemListInTrack": A,
        "AddMarker": A,
        "GetMarkers": A,
        "DeleteMarkersByColor": A,
        "GetSetting": A,
        "SetSetting": A,
        "GetStartTimecode": _since(18, 0, 0),
        "GetUniqueId": _since(18, 0, 0),
        "DeleteClips": _since(18, 5, 0),
        "GetNodeGraph": _since(19, 0, 0),
        "GetMediaPoolItem": _since(19, 1, 0),
        # removed in 19.1.0: grades moved to Graph.ApplyGradeFromDRX
        "ApplyGradeFromDRX": (ALWAYS, (19, 1, 0)),
    }

    def __init__(self, world: World, project: Project, name: str) -> None:
        super().__init__(world)
        self._project = project
        self._name = name
        self._id = world.uid()
        self._start = 86400
        self._video: list[list[TimelineItem]] = []
        self._audio: list[list[TimelineItem]] = []
        self._markers: dict[int, dict] = {}
        self._graph = Graph(world, self)

    def GetName(self) -> str:
        return self._name

    def SetName(self, timelineName: str) -> bool:
        if any(t._name == timelineName for t in self._project._timelines):
            return False
        self._name = timelineName
        return True

    def GetStartFrame(self) -> int:
        return self._start

    def GetEndFrame(self) -> int:
        ends = [i._start + i._duration for track in self._video for i in track]
        return max(ends, default=self._start)

    def GetStartTimecode(self) -> str:
        return "01:00:00:00"

    def GetUniqueId(self) -> str:
        return self._id

    def _tracks(self, trackType: object) -> list[list[TimelineItem]] | None:
        return {"video": self._video, "audio": self._audio, "subtitle": []}.get(trackType)  # type: ignore[arg-type]

    def GetTrackCount(self, trackType: str) -> int:
        tracks = self._tracks(trackType)
        return 0 if tracks is None else len(tracks)

    def GetItemListInTrack(self, trackType: str, index: int) -> list | None:
        tracks = self._tracks(trackType)
        if tracks is None or not isinstance(index, int) or not 1 <= index <= len(tracks):
            return None
        return list(tracks[index - 1])

    def AddMarker(
        self, frameId: float, color: str, name: str, note: str, duration: int, customData: str | None = None
    ) -> bool:
        if isinstance(frameId, bool) or not isinstance(frameId, (int, float)):
            return False
        if color not in MARKER_COLORS or not isinstance(name, str) or not isinstance(note, str):
            return False
        if not isinstance(duration, (int, float)) or duration < 1:
            return False
        frame = int(frameId)
        if frame < 0 or frame >= Timeline.GetEndFrame(self) - self._start or frame in self._markers:
            return False  # relative to the timeline start; one marker per frame
        self._markers[frame] = {
            "color": color,
            "duration": float(duration),
            "note": note,
            "name": name,
            "customData": customData or "",
        }
        return True

    def GetMarkers(self) -> dict:
        return {float(k): dict(v) for k, v in self._markers.items()}

    def DeleteMarkersByColor(self, color: str) -> bool:
        return False

    def GetSetting(self, settingName: str | None = None) -> object:
        return Project.GetSetting(self._project, settingName)

    def SetSetting(self, settingName: str, settingValue: str) -> bool:
        return False  # clips exist: the timeline rate is locked

    def DeleteClips(self, items: list, ripple: bool = False) -> bool:
        return False

    def GetNodeGraph(self) -> Graph:
        return self._graph

    def GetMediaPoolItem(self) -> None:
        return None

    def ApplyGradeFromDRX(self, path: str, gradeMode: int, *items: object) -> bool:
        if len(items) == 1 and isinstance(items[0], list):
            targets = items[0]
        else:
            targets = list(items)
        if not _drx_ok(path, gradeMode) or not targets:
            return False
        mine = {id(i) for track in self._video for i in track}
        if any(not isinstance(t, TimelineItem) or id(t) not in mine for t in targets):
            return False
        for t in targets:
            t._grades.append(os.path.basename(path))
        return True

    def _dump(self) -> dict:
        return {
            "name": self._name,
            "start": self._start,
            "video": [[i._dump() for i in track] for track in self._video],
            "audio": [[i._dump() for i in track] for track in self._audio],
            "markers": {str(k): v for k, v in sorted(self._markers.items())},
        }


def _drx_ok(path: object, mode: object) -> bool:
    if not isinstance(path, str) or not path.lower().endswith(".drx") or not os.path.isfile(path):
        return False
    if isinstance(mode, bool) or mode not in (0, 1, 2):
        return False
    try:
        ET.parse(path)
    except ET.ParseError:
        return False
    return True


class TimelineItem(Api):
    METHODS = {
        "GetName": A,
        "GetDuration": A,
        "GetEnd": A,
        "GetStart": A,
        "GetLeftOffset": A,
        "GetRightOffset": A,
        "GetMediaPoolItem": A,
        "AddMarker": A,
        "GetMarkers": A,
        "GetProperty": A,
        "SetLUT": A,  # deprecated since 19.0 (use the node graph), still answered
        "GetUniqueId": _since(18, 0, 0),
        "GetNodeGraph": _since(19, 0, 0),
        "GetTrackTypeAndIndex": _since(19, 0, 0),
        "GetSourceStartFrame": _since(19, 0, 2),
        "GetSourceEndFrame": _since(19, 0, 2),
        "GetType": _since(21, 1, 0),
        "AddTransition": _since(21, 1, 0),
    }

    def __init__(
        self,
        world: World,
        timeline: Timeline,
        name: str,
        start: int,
        duration: int,
        clip: MediaPoolItem | None,
        track: tuple[str, int],
    ) -> None:
        super().__init__(world)
        self._tl = timeline
        self._name = name
        self._start = start
        self._duration = duration
        self._clip = clip
        self._track = track
        self._left = self._right = 0
        self._id = world.uid()
        self._grades: list[str] = []
        self._luts: dict[int, str] = {}
        self._graph = Graph(world, self)
        self._markers: dict[int, dict] = {}
        self._no_graph = False  # an item Resolve gives no node graph (seen on some items)

    def _frames(self, value: int, args: tuple) -> int | float:
        if args and self._world.version < (19, 0, 2):
            raise TypeError("takes no arguments before 19.0.2")
        if len(args) > 1:
            raise TypeError("takes at most 1 argument")
        return float(value) if args and args[0] else int(value)

    def GetName(self) -> str:
        return self._name

    def GetStart(self, *subframe_precision: bool) -> int | float:
        return self._frames(self._start, subframe_precision)

    def GetEnd(self, *subframe_precision: bool) -> int | float:
        return self._frames(self._start + self._duration, subframe_precision)

    def GetDuration(self, *subframe_precision: bool) -> int | float:
        return self._frames(self._duration, subframe_precision)

    def GetLeftOffset(self, *subframe_precision: bool) -> int | float:
        return self._frames(self._left, subframe_precision)

    def GetRightOffset(self, *subframe_precision: bool) -> int | float:
        return self._frames(self._right, subframe_precision)

    def GetSourceStartFrame(self) -> int:
        return 0

    def GetSourceEndFrame(self) -> int:
        return self._duration

    def GetMediaPoolItem(self) -> MediaPoolItem | None:
        return self._clip

    def GetUniqueId(self) -> str:
        return self._id

    def GetProperty(self, propertyKey: str | None = None) -> object:
        return {} if self._clip is None else ({"Pan": 0.0} if propertyKey is None else 0.0)

    def GetTrackTypeAndIndex(self) -> list:
        return list(self._track)

    def GetType(self) -> str:
        return "transition" if self._clip is None else "video"

    def AddMarker(
        self, frameId: float, color: str, name: str, note: str, duration: int, customData: str | None = None
    ) -> bool:
        if color not in MARKER_COLORS or int(frameId) in self._markers:
            return False
        self._markers[int(frameId)] = {"color": color, "name": name, "note": note, "duration": duration}
        return True

    def GetMarkers(self) -> dict:
        return {float(k): v for k, v in self._markers.items()}

    def GetNodeGraph(self, *layerIdx: int) -> Graph | None:
        if self._clip is None or self._no_graph:
            return None
        if layerIdx and (len(layerIdx) > 1 or layerIdx[0] != 1):
            return None
        return self._graph

    def SetLUT(self, nodeIndex: int, lutPath: str) -> bool:
        if self._clip is None or nodeIndex != 1 or not self._tl._project._lut_ok(lutPath):
            return False
        self._luts[nodeIndex] = lutPath
        return True

    def AddTransition(self, transitionOptions: dict) -> TimelineItem | None:
        """21.1: a transition at this item's start or end; it consumes media handles."""
        opts = transitionOptions
        if not isinstance(opts, dict) or set(opts) - {
            "type",
            "category",
            "position",
            "alignment",
            "duration",
        }:
            return None
        if self._track[0] != "video":
            return None  # audio crossfades are not modelled here
        if self._clip is None or "position" not in opts or "alignment" not in opts:
            return None  # measured: the bare call returns None
        if opts.get("category", "simple") != "simple" or opts.get("type") != "Cross Dissolve":
            return None
        if opts["position"] not in ("start", "end") or opts["alignment"] not in ("left", "center", "right"):
            return None
        track = self._tl._video[self._track[1] - 1]
        clips = [i for i in track if i._clip is not None]
        pos = clips.index(self)
        if opts["position"] == "end":
            if pos + 1 >= len(clips):
                return None
            outgoing, incoming = self, clips[pos + 1]
        else:
            if pos == 0:
                return None
            outgoing, incoming = clips[pos - 1], self
        cut = incoming._start
        if outgoing._start + outgoing._duration != cut:
            return None
        duration = opts.get("duration") or 12
        if not isinstance(duration, int) or duration < 1:
            return None
        before = {"left": duration, "center": duration // 2, "right": 0}[opts["alignment"]]
        after = duration - before
        # the outgoing clip runs on after the cut, the incoming one starts before it
        if after > outgoing._right or before > incoming._left:
            return None
        item = TimelineItem(
            self._world, self._tl, "Cross Dissolve", cut - before, duration, None, self._track
        )
        track.append(item)
        track.sort(key=lambda i: i._start)
        outgoing._right -= after
        incoming._left -= before
        return item

    def _dump(self) -> dict:
        return {
            "name": self._name,
            "kind": "clip" if self._clip is not None else "transition",
            "start": self._start,
            "duration": self._duration,
            "media": self._clip._path if self._clip is not None else None,
            "grades": list(self._grades),
            "luts": {str(k): v for k, v in self._luts.items()},
            "handles": [self._left, self._right],
            "markers": {str(k): v for k, v in sorted(self._markers.items())},
            "online": self._clip._online if self._clip is not None else None,
        }


class Graph(Api):
    METHODS = {
        "GetNumNodes": _since(19, 0, 0),
        "SetLUT": _since(19, 0, 0),
        "GetLUT": _since(19, 0, 0),
        "GetNodeLabel": _since(19, 0, 0),
        "ApplyGradeFromDRX": _since(19, 1, 0),
        "ResetAllGrades": _since(19, 1, 0),
    }

    def __init__(self, world: World, owner: Api) -> None:
        super().__init__(world)
        self._owner = owner

    def GetNumNodes(self) -> int:
        return 1

    def GetNodeLabel(self, nodeIndex: int) -> str:
        return ""

    def SetLUT(self, nodeIndex: int, lutPath: str) -> bool:
        owner = self._owner
        if not isinstance(owner, TimelineItem) or nodeIndex != 1:
            return False
        if not owner._tl._project._lut_ok(lutPath):
            return False  # only LUTs Resolve has discovered under its LUT folder
        owner._luts[nodeIndex] = lutPath
        return True

    def GetLUT(self, nodeIndex: int) -> str:
        owner = self._owner
        return owner._luts.get(nodeIndex, "") if isinstance(owner, TimelineItem) else ""

    def ApplyGradeFromDRX(self, path: str, gradeMode: int, *applyToAllLayers: bool) -> bool:
        if applyToAllLayers and (self._world.version < (21, 1, 1) or len(applyToAllLayers) > 1):
            raise TypeError("ApplyGradeFromDRX() takes 2 arguments before 21.1.1")
        if not _drx_ok(path, gradeMode) or not isinstance(self._owner, TimelineItem):
            return False
        self._owner._grades.append(os.path.basename(path))
        return True

    def ResetAllGrades(self) -> bool:
        return False


# ---------------------------------------------------------------------------------------------
# The stand-in's own readers for what Resolve imports (deliberately not the plugin's code)
# ---------------------------------------------------------------------------------------------


def _frames(rt: dict | None, rate: Fraction) -> int:
    if not rt:
        return 0
    return round(Fraction(str(rt["value"])) * rate / Fraction(str(rt["rate"])))


def _media_path(clip: dict) -> str | None:
    refs = clip.get("media_references")
    if isinstance(refs, dict):
        ref = refs.get(clip.get("active_media_reference_key") or "DEFAULT_MEDIA")
    else:
        ref = clip.get("media_reference")
    if not ref or "target_url" not in ref:
        return None
    url = ref["target_url"]
    # lenient: one unverified report says 20.2 refused file:// URLs; Resolve's own export
    # writes bare paths, which is what shotline writes for Resolve
    if url.startswith("file://"):
        from urllib.parse import unquote, urlparse

        url = unquote(urlparse(url).path)
    return url


def parse_otio(path: str, rate: Fraction) -> dict:
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    if not str(doc.get("OTIO_SCHEMA", "")).startswith("Timeline."):
        raise ValueError("not an OTIO timeline")
    gst = doc.get("global_start_time")
    markers: dict[int, dict] = {}
    tracks = doc["tracks"]["children"]
    video = [_parse_track(t, rate, handles=True) for t in tracks if t.get("kind") == "Video"]
    audio = [_parse_track(t, rate, handles=False) for t in tracks if t.get("kind") == "Audio"]
    for m in (doc.get("tracks") or {}).get("markers", []):
        frame = _frames(m["marked_range"]["start_time"], rate)
        markers[frame] = {
            "color": "Blue",
            "duration": 1.0,
            "note": "",
            "name": m.get("name", ""),
            "customData": "",
        }
    return {
        "name": doc.get("name"),
        "start": _frames(gst, rate) if gst else None,
        "video": video,
        "audio": audio,
        "markers": markers,
    }


def _parse_track(track: dict, rate: Fraction, *, handles: bool) -> dict:
    """A track's clips (with their media handles for video tracks) and transitions, in frames."""
    clips, transitions, pos = [], [], 0
    for child in track.get("children", []):
        schema = child["OTIO_SCHEMA"]
        if schema.startswith("Transition"):
            transitions.append(
                {
                    "cut": pos,
                    "in": _frames(child["in_offset"], rate),
                    "out": _frames(child["out_offset"], rate),
                }
            )
            continue
        dur = _frames(child["source_range"]["duration"], rate)
        if schema.startswith("Clip"):
            clip = {
                "name": child.get("name") or "",
                "start": pos,
                "duration": dur,
                "media": _media_path(child),
            }
            src_start = _frames(child["source_range"]["start_time"], rate)
            clip["markers"] = {
                _frames(m["marked_range"]["start_time"], rate) - src_start: {
                    "color": "Green",
                    "duration": 1,
                    "note": m.get("comment", ""),
                    "name": m.get("name", ""),
                }
                for m in child.get("markers", [])
            }
            if handles:
                avail = _available(child, rate)
                left = src_start - avail[0] if avail else 0
                right = avail[0] + avail[1] - (src_start + dur) if avail else 0
                clip.update(left=max(0, left), right=max(0, right))
            clips.append(clip)
        pos += dur
    return {"clips": clips, "transitions": transitions}


def _available(clip: dict, rate: Fraction) -> tuple[int, int] | None:
    refs = clip.get("media_references")
    ref = (
        refs.get(clip.get("active_media_reference_key") or "DEFAULT_MEDIA")
        if isinstance(refs, dict)
        else clip.get("media_reference")
    )
    rng = (ref or {}).get("available_range")
    if not rng:
        return None
    return _frames(rng["start_time"], rate), _frames(rng["duration"], rate)


def _cut(el: ET.Element) -> int:
    s, e = int(el.findtext("start", "0")), int(el.findtext("end", "0"))
    align = el.findtext("alignment", "center")
    return s if align.startswith("start") else e if align.startswith("end") else (s + e) // 2


def parse_fcp7(path: str, rate: Fraction) -> dict:
    root = ET.parse(path).getroot()
    if root.tag != "xmeml":
        raise ValueError("not FCP7 XML")
    seq = root.find(".//sequence")
    if seq is None:
        raise ValueError("no sequence")
    from urllib.parse import unquote, urlparse

    files: dict[str, tuple[str, int]] = {}
    for f in root.iter("file"):
        url = f.findtext("pathurl")
        if f.get("id") and url:
            local = unquote(urlparse(url).path) if url.startswith("file:") else url
            files[f.get("id", "")] = (local, int(f.findtext("duration") or 0))
    video = []
    for track in seq.findall("./media/video/track"):
        items = [el for el in track if el.tag in ("clipitem", "transitionitem")]
        clips, transitions = [], []
        for n, el in enumerate(items):
            if el.tag == "transitionitem":
                s, e, cut = int(el.findtext("start", "0")), int(el.findtext("end", "0")), _cut(el)
                transitions.append({"cut": cut, "in": cut - s, "out": e - cut})
                continue
            in_f, out_f = int(el.findtext("in", "0")), int(el.findtext("out", "0"))
            start, end = int(el.findtext("start", "-1")), int(el.findtext("end", "-1"))
            src_at = start  # the record frame where source frame ``in`` sits
            if start < 0:  # starts under a transition: the edit point is its cut
                prev = items[n - 1] if n else None
                if prev is None or prev.tag != "transitionitem":
                    raise ValueError("clipitem start -1 without a transition before it")
                src_at, start = int(prev.findtext("start", "0")), _cut(prev)
            if end < 0:
                nxt = items[n + 1] if n + 1 < len(items) else None
                if nxt is None or nxt.tag != "transitionitem":
                    raise ValueError("clipitem end -1 without a transition after it")
                end = _cut(nxt)
            f = el.find("file")
            media, length = files.get(f.get("id", "") if f is not None else "", ("", 0))
            first = in_f + (start - src_at)
            clips.append(
                {
                    "name": el.findtext("name", ""),
                    "start": start,
                    "duration": end - start,
                    "media": media,
                    "left": first,
                    "right": max(0, length - (first + end - start))
                    if length
                    else max(0, out_f - in_f - (end - start)),
                }
            )
        video.append({"clips": clips, "transitions": transitions})
    return {"name": seq.findtext("name"), "start": None, "video": video, "audio": [], "markers": {}}


# ---------------------------------------------------------------------------------------------
# Fusion UI stand-in: enough of UIManager for the job picker
# ---------------------------------------------------------------------------------------------


class _Element:
    def __init__(self, kind: str, props: dict | list | None = None) -> None:
        self.kind = kind
        self.props = props if isinstance(props, dict) else {}
        self.children = props if isinstance(props, list) else []
        self.Text = self.props.get("Text", "")


class _Handlers:
    def __init__(self) -> None:
        self.table: dict[str, _Events] = {}

    def __getattr__(self, element_id: str) -> _Events:
        return self.table.setdefault(element_id, _Events())


class _Events:
    def __init__(self) -> None:
        self.__dict__["events"] = {}

    def __setattr__(self, event: str, fn: object) -> None:
        self.__dict__["events"][event] = fn


class _Window:
    def __init__(self, world: World, props: dict, root: _Element) -> None:
        self.world, self.props, self.root = world, props, root
        self.On = _Handlers()
        self.shown = False

    def _walk(self, el: _Element) -> list[_Element]:
        out = [el]
        for c in el.children:
            out.extend(self._walk(c))
        return out

    def GetItems(self) -> dict:
        return {e.props["ID"]: e for e in self._walk(self.root) if "ID" in e.props}

    def Show(self) -> None:
        self.shown = True

    def Hide(self) -> None:
        self.shown = False


class UIManager:
    def __init__(self, world: World) -> None:
        self.world = world

    def __getattr__(self, kind: str) -> object:
        if kind not in (
            "VGroup",
            "HGroup",
            "Label",
            "LineEdit",
            "Button",
            "TextEdit",
            "ComboBox",
            "CheckBox",
        ):
            raise AttributeError(kind)
        return lambda props=None: _Element(kind, props)


class UIDispatcher:
    def __init__(self, world: World, ui: UIManager) -> None:
        self.world, self.ui = world, ui
        self.window: _Window | None = None

    def AddWindow(self, props: dict, children: object) -> _Window | None:
        self.world.calls.append(
            {"class": "UIDispatcher", "method": "AddWindow", "args": [], "kwargs": {}, "missing": False}
        )
        if not self.world.studio and self.world.version >= (19, 1, 0):
            # free 19.1+: no window, the "You've reached a limitation" pop-up instead, and
            # every API call answers None until someone dismisses it
            self.world.modal = True
            return None
        if self.world.ui == "refused":
            return None
        root = children if isinstance(children, _Element) else _Element("VGroup", list(children))  # type: ignore[arg-type]
        self.window = _Window(self.world, props, root)
        return self.window

    def RunLoop(self) -> int:
        """Plays the user: types the configured answer and clicks Import (or Cancel when empty)."""
        win = self.window
        assert win is not None and win.shown
        items = win.GetItems()
        if self.world.ui == "accept":  # presses Import on whatever the field holds
            win.On.Run.events["Clicked"]({"who": "Run"})
        elif self.world.ui_answer:
            items["JobPath"].Text = self.world.ui_answer
            win.On.Run.events["Clicked"]({"who": "Run"})
        else:
            win.On.Cancel.events["Clicked"]({"who": "Cancel"})
        return 0

    def ExitLoop(self, *code: int) -> None:
        pass


class Bmd:
    def __init__(self, world: World) -> None:
        self.world = world

    def UIDispatcher(self, ui: UIManager) -> UIDispatcher:
        return UIDispatcher(self.world, ui)


class FusionApp:
    def __init__(self, world: World) -> None:
        self.world = world
        self.UIManager = UIManager(world)

    def GetResolve(self) -> Resolve:
        return self.world.resolve


def _transition_items(
    world: Any, tl: Any, track: dict[str, Any], name: str, where: tuple[str, int]
) -> list[Any]:
    """A parsed track's transitions as the items Resolve shows: centred on the cut, in + out long."""
    return [
        TimelineItem(world, tl, name, tl._start + tr["cut"] - tr["in"], tr["in"] + tr["out"], None, where)
        for tr in track["transitions"]
    ]
