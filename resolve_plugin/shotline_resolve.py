"""shotline: import a shotline timeline into DaVinci Resolve and queue its render jobs.

This one file runs inside Resolve's own Python (3.6 to 3.14) from Workspace > Scripts,
or from a terminal against a running Resolve Studio:

    python shotline_resolve.py path/to/job.json

It uses only the standard library (Resolve's Python has no opentimelineio), so it
reads the OTIO JSON or FCP7 XML itself for its verification step. The code keeps
to Python 3.6 syntax on purpose: no ``from __future__ import annotations``, no
dataclasses, no walrus, no annotations that would be evaluated.

What it does, each step checked and reported in a result file beside the job
(``<job>.result.json``): connect; open or create the project; set frame rate and
resolution before import; import the timeline under a unique name (OTIO, with the
FCP7 XML fallback); verify clips, durations and transitions against the file; on
21.1+ add transitions the import dropped; apply DRX grades and LUTs per item;
add markers; add one render job per preset; optionally render and wait.

It never deletes or changes the user's other timelines, render jobs or media.
Resolve's API fails silently (False/None); every call is checked here.
"""

import json
import os
import sys
import time
import xml.etree.ElementTree as ET
from fractions import Fraction

SCHEMA = "shotline.resolve-job"
SCHEMA_VERSION = 1
RESULT_SCHEMA = "shotline.resolve-result"

MARKER_COLORS = (
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
)
RESOLVE_RATES = (
    "23.976",
    "24",
    "25",
    "29.97",
    "30",
    "47.952",
    "48",
    "50",
    "59.94",
    "60",
    "95.904",
    "96",
    "100",
    "119.88",
    "120",
)
QUALITIES = ("Least", "Low", "Medium", "High", "Best")
# the placeholder a render job's file_name may hold: the name the timeline got in Resolve
TIMELINE_PLACEHOLDER = "{timeline}"
DONE_STATES = ("Complete", "Failed", "Cancelled", "Background Render Cancelled", "Remote Render Cancelled")


class JobError(Exception):
    """The job file cannot be used; the message says which field and why."""


# ---------------------------------------------------------------------------------------------
# Job schema and validation (also imported by the shotline CLI, which writes the job)
# ---------------------------------------------------------------------------------------------

_STR = ("str",)
_OPT_STR = ("str", "none")
_INT = ("int",)
_NUM = ("int", "float")
_BOOL = ("bool",)


def _type_name(value):
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


_TIMELINE_FIELDS = {
    "path": _STR,
    "name": _STR,
    "format": _STR,
    "fallback_xml": _OPT_STR,
}
_PROJECT_FIELDS = {
    "name": _OPT_STR,
    "frame_rate": _STR,
    "width": _INT,
    "height": _INT,
}
_LOOK_FIELDS = {
    "all": _OPT_STR,
    "shots": ("object",),
    "tracks": ("object",),
}
_GRADE_FIELDS = dict(_LOOK_FIELDS, mode=_INT)
_MARKER_FIELDS = {
    "frame": _INT,
    "color": _STR,
    "name": _STR,
    "note": _STR,
    "duration": _INT,
    "custom_data": _STR,
}
_RENDER_JOB_FIELDS = {
    "preset": _STR,
    "format": _STR,
    "codec": _STR,
    "width": _INT,
    "height": _INT,
    "target_dir": _STR,
    "file_name": _STR,
    "quality": _STR,
    "export_audio": _BOOL,
    "frame_rate": _NUM,
    "audio_codec": _STR,
    "audio_sample_rate": _INT,
}
_RENDER_FIELDS = {
    "jobs": ("list",),
    "start": _BOOL,
    "wait": _BOOL,
    "timeout_s": _NUM,
    "poll_s": _NUM,
    "render_offline": _BOOL,
    "overwrite": _BOOL,
}
_TOP_FIELDS = {
    "schema": _STR,
    "version": _INT,
    "timeline": ("object",),
    "project": ("object",),
    "grades": ("object",),
    "luts": ("object",),
    "markers": ("list",),
    "render": ("object",),
    "add_missing_transitions": _BOOL,
    "allow_offline": _BOOL,
}
_REQUIRED = {
    "": ("schema", "version", "timeline", "project"),
    "timeline": ("path", "name"),
    "project": ("frame_rate", "width", "height"),
    "marker": ("frame", "name"),
    "render_job": ("preset", "format", "codec", "width", "height", "target_dir", "file_name"),
}


def _check_fields(obj, fields, where, required, problems):
    if not isinstance(obj, dict):
        problems.append("{}: must be an object, got {}".format(where or "job", _type_name(obj)))
        return False
    for key in sorted(obj):
        if key not in fields:
            problems.append(f"{_join(where, key)}: unknown field")
            continue
        kind = _type_name(obj[key])
        if kind not in fields[key]:
            problems.append(
                "{}: must be {}, got {}".format(_join(where, key), " or ".join(fields[key]), kind)
            )
    for key in required:
        if key not in obj:
            problems.append(f"{_join(where, key)}: required field is missing")
    return True


def _join(where, key):
    return f"{where}.{key}" if where else str(key)


def _check_look(obj, where, fields, problems):
    if obj is None:
        return
    if not _check_fields(obj, fields, where, (), problems):
        return
    for part in ("shots", "tracks"):
        table = obj.get(part) or {}
        if not isinstance(table, dict):
            continue
        for key, value in sorted(table.items()):
            if not isinstance(value, str):
                problems.append(f"{where}.{part}.{key}: must be a file path (str)")
            if part == "tracks" and not (key.isdigit() and int(key) >= 1):
                problems.append(f"{where}.tracks.{key}: track keys are video track numbers from 1")
    if "mode" in obj and obj["mode"] not in (0, 1, 2):
        problems.append(f"{where}.mode: must be 0, 1 or 2 (Resolve's DRX grade modes)")


def validate_job(job):
    """Return a list of problems ("field: what is wrong"); an empty list means the job is valid."""
    problems = []
    if not _check_fields(job, _TOP_FIELDS, "", _REQUIRED[""], problems):
        return problems
    if "schema" in job and job["schema"] != SCHEMA:
        problems.append("schema: must be {!r}, got {!r}".format(SCHEMA, job["schema"]))
    if isinstance(job.get("version"), int) and job["version"] != SCHEMA_VERSION:
        problems.append(
            "version: this script reads version {}, the job is version {}".format(
                SCHEMA_VERSION, job["version"]
            )
        )
    tl = job.get("timeline")
    if isinstance(tl, dict) and _check_fields(
        tl, _TIMELINE_FIELDS, "timeline", _REQUIRED["timeline"], problems
    ):
        if tl.get("format", "auto") not in ("auto", "otio", "fcp7xml"):
            problems.append("timeline.format: must be 'auto', 'otio' or 'fcp7xml'")
        if isinstance(tl.get("name"), str) and not tl["name"].strip():
            problems.append("timeline.name: must not be empty")
    pr = job.get("project")
    if isinstance(pr, dict) and _check_fields(pr, _PROJECT_FIELDS, "project", _REQUIRED["project"], problems):
        if isinstance(pr.get("frame_rate"), str) and pr["frame_rate"] not in RESOLVE_RATES:
            problems.append(
                "project.frame_rate: {!r} is not a Resolve timeline rate ({})".format(
                    pr["frame_rate"], ", ".join(RESOLVE_RATES)
                )
            )
        for key in ("width", "height"):
            value = pr.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and not 16 <= value <= 16384:
                problems.append(f"project.{key}: must be between 16 and 16384")
    _check_look(job.get("grades"), "grades", _GRADE_FIELDS, problems)
    _check_look(job.get("luts"), "luts", _LOOK_FIELDS, problems)
    for i, marker in enumerate(job.get("markers") or []):
        where = f"markers[{i}]"
        if _check_fields(marker, _MARKER_FIELDS, where, _REQUIRED["marker"], problems):
            if "color" in marker and marker["color"] not in MARKER_COLORS:
                problems.append("{}.color: must be one of {}".format(where, ", ".join(MARKER_COLORS)))
            if isinstance(marker.get("frame"), int) and marker["frame"] < 0:
                problems.append(f"{where}.frame: must be >= 0")
            if isinstance(marker.get("duration"), int) and marker["duration"] < 1:
                problems.append(f"{where}.duration: must be >= 1")
    render = job.get("render")
    if isinstance(render, dict) and _check_fields(render, _RENDER_FIELDS, "render", (), problems):
        for key in ("timeout_s", "poll_s"):
            value = render.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value <= 0:
                problems.append(f"render.{key}: must be > 0")
        names = set()
        for i, rj in enumerate(render.get("jobs") or []):
            where = f"render.jobs[{i}]"
            if not _check_fields(rj, _RENDER_JOB_FIELDS, where, _REQUIRED["render_job"], problems):
                continue
            if "quality" in rj and rj["quality"] not in QUALITIES:
                problems.append("{}.quality: must be one of {}".format(where, ", ".join(QUALITIES)))
            rate = rj.get("frame_rate")
            if isinstance(rate, (int, float)) and not isinstance(rate, bool) and not 1 <= rate <= 240:
                problems.append(f"{where}.frame_rate: must be between 1 and 240")
            for key in ("width", "height"):
                value = rj.get(key)
                if isinstance(value, int) and not 16 <= value <= 16384:
                    problems.append(f"{where}.{key}: must be between 16 and 16384")
            name = rj.get("file_name")
            if isinstance(name, str) and (not name or "/" in name or "\\" in name):
                problems.append(f"{where}.file_name: must be a plain file name without folders")
            elif isinstance(name, str) and "{" in name.replace(TIMELINE_PLACEHOLDER, ""):
                problems.append(f"{where}.file_name: the only placeholder is {TIMELINE_PLACEHOLDER}")
            rate = rj.get("audio_sample_rate")
            if isinstance(rate, int) and rate not in (44100, 48000, 96000):
                problems.append(f"{where}.audio_sample_rate: must be 44100, 48000 or 96000")
            if name in names:
                problems.append(f"{where}.file_name: {name!r} is used by another render job")
            names.add(name)
    return problems


def load_job(path):
    """Read and validate a job file; raise JobError naming the file and every problem."""
    try:
        with open(path, encoding="utf-8") as fh:
            job = json.load(fh)
    except OSError as exc:
        raise JobError(f"{path}: cannot read the job file ({exc})") from None
    except ValueError as exc:
        raise JobError(f"{path}: not valid JSON ({exc})") from None
    problems = validate_job(job)
    if problems:
        raise JobError("{}: invalid job file: {}".format(path, "; ".join(problems)))
    return job


def job_files(job, job_dir):
    """Every file the job names, resolved against the job's folder: [(field, absolute path)]."""
    files = [("timeline.path", _abs(job_dir, job["timeline"]["path"]))]
    if job["timeline"].get("fallback_xml"):
        files.append(("timeline.fallback_xml", _abs(job_dir, job["timeline"]["fallback_xml"])))
    for part in ("grades", "luts"):
        look = job.get(part) or {}
        if look.get("all"):
            files.append((f"{part}.all", _abs(job_dir, look["all"])))
        for table in ("shots", "tracks"):
            for key, value in sorted((look.get(table) or {}).items()):
                files.append((f"{part}.{table}.{key}", _abs(job_dir, value)))
    return files


def _abs(job_dir, path):
    path = os.path.expanduser(path)
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(job_dir, path))


# ---------------------------------------------------------------------------------------------
# Reading the timeline file with the standard library (for verification)
# ---------------------------------------------------------------------------------------------


def _rt_frames(rt, rate):
    """An OTIO RationalTime dict -> frames at ``rate`` (Fraction), rounded to the nearest frame."""
    if not rt:
        return 0
    value = rt.get("value", 0)
    src_rate = rt.get("rate", 1) or 1
    if abs(float(src_rate) - float(rate)) < 1e-6:
        return int(round(value))  # the common case: already at the timeline rate
    return int(round(Fraction(str(value)) / Fraction(str(src_rate)) * rate))


def parse_rate(text):
    """'29.97' -> Fraction(30000, 1001); integer rates stay exact."""
    ntsc = {"23.976": Fraction(24000, 1001), "29.97": Fraction(30000, 1001), "47.952": Fraction(48000, 1001)}
    ntsc.update(
        {"59.94": Fraction(60000, 1001), "95.904": Fraction(96000, 1001), "119.88": Fraction(120000, 1001)}
    )
    text = str(text).replace("DF", "").strip()
    if text in ntsc:
        return ntsc[text]
    value = Fraction(text)
    for known in ntsc.values():
        if abs(float(value) - float(known)) < 0.001:
            return known
    return value


def _shot_id(clip_name, metadata):
    meta = (metadata or {}).get("shotline") or {}
    for key in ("shot_id", "shot", "id"):
        if isinstance(meta.get(key), str) and meta[key]:
            return meta[key]
    return clip_name


def _otio_media(clip):
    """The clip's media file path (bare path or file:// URL), or None."""
    refs = clip.get("media_references")
    if isinstance(refs, dict):
        ref = refs.get(clip.get("active_media_reference_key") or "DEFAULT_MEDIA") or {}
    else:
        ref = clip.get("media_reference") or {}
    url = ref.get("target_url") if isinstance(ref, dict) else None
    if not url:
        return None
    if url.startswith("file://"):
        from urllib.parse import unquote, urlparse

        url = unquote(urlparse(url).path)
        if os.name == "nt" and url[:1] == "/" and url[2:3] == ":":
            url = url[1:]
    return os.path.normpath(url)


def read_otio(path, rate, kind="Video"):
    """Expected tracks of ``kind`` ('Video' or 'Audio') from an OTIO JSON file.

    Returns one ``{'clips': [...], 'transitions': [...]}`` per track, in frames at ``rate``.
    """
    with open(path, encoding="utf-8") as fh:
        doc = json.load(fh)
    stack = doc.get("tracks") or {}
    tracks = []
    for track in stack.get("children") or []:
        if not str(track.get("OTIO_SCHEMA", "")).startswith("Track") or track.get("kind", "Video") != kind:
            continue
        pos = 0
        clips = []
        transitions = []
        for child in track.get("children") or []:
            schema = str(child.get("OTIO_SCHEMA", ""))
            if schema.startswith("Transition"):
                transitions.append(
                    {
                        "cut": pos,
                        "in": _rt_frames(child.get("in_offset"), rate),
                        "out": _rt_frames(child.get("out_offset"), rate),
                    }
                )
                continue
            sr = child.get("source_range") or {}
            dur = _rt_frames(sr.get("duration"), rate)
            if schema.startswith("Clip"):
                clips.append(
                    {
                        "start": pos,
                        "duration": dur,
                        "shot": _shot_id(child.get("name") or "", child.get("metadata")),
                        "media": _otio_media(child),
                    }
                )
            pos += dur
        tracks.append({"clips": clips, "transitions": transitions})
    return tracks


def read_fcp7(path, rate):
    """Expected video tracks from an FCP7 XML (xmeml) file, in the same shape as read_otio."""
    root = ET.parse(path).getroot()
    seq = root.find(".//sequence")
    if seq is None:
        raise ValueError("no <sequence> in the XML")
    seq_rate = _xml_rate(seq.find("rate")) or rate
    tracks = []
    for track in seq.findall("./media/video/track"):
        elements = [el for el in track if el.tag in ("clipitem", "transitionitem")]
        clips = []
        transitions = []
        for i, el in enumerate(elements):
            if el.tag == "transitionitem":
                cut = _xml_cut(el)
                start = _xml_int(el, "start")
                transitions.append(
                    {
                        "cut": _conv(cut, seq_rate, rate),
                        "in": _conv(cut - start, seq_rate, rate),
                        "out": _conv(_xml_int(el, "end") - cut, seq_rate, rate),
                    }
                )
                continue
            # a clip that meets a transition has start or end -1: its edit point is the cut
            start, end = _xml_int(el, "start"), _xml_int(el, "end")
            length = _xml_int(el, "out") - _xml_int(el, "in")
            if start < 0:
                before = elements[i - 1] if i > 0 else None
                start = _xml_cut(before) if before is not None and before.tag == "transitionitem" else 0
            if end < 0:
                after = elements[i + 1] if i + 1 < len(elements) else None
                end = (
                    _xml_cut(after) if after is not None and after.tag == "transitionitem" else start + length
                )
            clips.append(
                {
                    "start": _conv(start, seq_rate, rate),
                    "duration": _conv(end - start, seq_rate, rate),
                    "shot": el.findtext("name") or "",
                }
            )
        tracks.append({"clips": clips, "transitions": transitions})
    return tracks


def _xml_cut(el):
    """The cut under an FCP7 transitionitem, from its start, end and alignment."""
    start, end = _xml_int(el, "start"), _xml_int(el, "end")
    align = (el.findtext("alignment") or "center").strip()
    return (
        start
        if align in ("start", "start-black")
        else end
        if align in ("end", "end-black")
        else (start + end) // 2
    )


def _xml_int(el, tag):
    text = el.findtext(tag)
    return int(text) if text not in (None, "") else -1


def _xml_rate(el):
    if el is None:
        return None
    timebase = Fraction(el.findtext("timebase") or "0")
    if timebase and (el.findtext("ntsc") or "").upper() == "TRUE":
        return timebase * 1000 / 1001
    return timebase or None


def _conv(frames, src_rate, dst_rate):
    return int(round(Fraction(frames) / src_rate * dst_rate)) if src_rate != dst_rate else int(frames)


# ---------------------------------------------------------------------------------------------
# The run: steps and the result file
# ---------------------------------------------------------------------------------------------


class Report:
    """Collects what each step did; written to ``<job>.result.json`` whatever happens."""

    def __init__(self, job_path):
        self.job_path = job_path
        self.data = {
            "schema": RESULT_SCHEMA,
            "version": SCHEMA_VERSION,
            "job": job_path,
            "ok": False,
            "resolve": None,
            "project": None,
            "timeline": None,
            "steps": [],
            "render_jobs": [],
            "changes": [],
        }

    def step(self, name, status, detail="", **extra):
        entry = {"step": name, "status": status, "detail": detail}
        entry.update(extra)
        self.data["steps"].append(entry)
        say("[{}] {}{}".format(status, name, ": " + detail if detail else ""))
        return entry

    def change(self, what):
        """Something in the user's project that this run changed (listed so it can be undone)."""
        self.data["changes"].append(what)

    def path(self):
        base = self.job_path[:-5] if self.job_path.lower().endswith(".json") else self.job_path
        return base + ".result.json"

    def write(self):
        self.data["ok"] = bool(self.data["steps"]) and all(
            s["status"] in ("ok", "skipped", "warning") for s in self.data["steps"]
        )
        target = self.path()
        tmp = target + ".tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump(self.data, fh, indent=2, sort_keys=False)
                fh.write("\n")
            os.replace(tmp, target)
        except OSError as exc:
            say(f"could not write the result file {target}: {exc}")
            return None
        return target


def say(text):
    print("shotline: " + text)
    sys.stdout.flush()


class Stop(Exception):
    """A step failed in a way that makes the following steps pointless."""


def has(obj, name):
    """Feature test: Resolve objects answer hasattr() with True for any name, dir() is honest."""
    try:
        return obj is not None and name in dir(obj)
    except Exception:  # a proxy that cannot list itself has nothing to offer
        return False


def version_tuple(resolve):
    try:
        fields = resolve.GetVersion() or []
    except Exception:
        fields = []
    nums = []
    for value in list(fields)[:3]:
        try:
            nums.append(int(value))
        except (TypeError, ValueError):
            break
    while len(nums) < 3:
        nums.append(0)
    return tuple(nums)


class Runner:
    """Runs one job against a live ``resolve`` object, reporting every step."""

    def __init__(self, resolve, job, job_path, report):
        self.resolve = resolve
        self.job = job
        self.job_dir = os.path.dirname(os.path.abspath(job_path))
        self.report = report
        self.version = version_tuple(resolve)
        self.rate = parse_rate(job["project"]["frame_rate"])
        self.project = None
        self.timeline = None
        self.expected = []
        self.items = {}  # (track, record start) -> (item, shot id)
        self.offline = []  # clips whose media Resolve cannot reach
        self.pool_before = []  # media paths in the pool before the import
        self.pm = None

    # -- helpers --
    def path(self, p):
        return _abs(self.job_dir, p)

    def run(self):
        for step in (
            self.connect,
            self.open_project,
            self.project_settings,
            self.import_timeline,
            self.verify,
            self.media,
            self.transitions,
            self.grades,
            self.luts,
            self.markers,
            self.render_jobs,
            self.render,
            self.save,
        ):
            step()

    def connect(self):
        product = self.resolve.GetProductName() if has(self.resolve, "GetProductName") else "DaVinci Resolve"
        version = self.resolve.GetVersionString() if has(self.resolve, "GetVersionString") else ""
        self.report.data["resolve"] = {"product": product, "version": version}
        self.report.step("connect", "ok", f"{product} {version}".strip())

    def open_project(self):
        pm = self.pm = self.resolve.GetProjectManager()
        if pm is None:
            self.report.step(
                "project", "failed", "Resolve returned no project manager (is a modal dialog open?)"
            )
            raise Stop()
        wanted = self.job["project"].get("name")
        current = pm.GetCurrentProject()
        if not wanted:
            if current is None:
                self.report.step("project", "failed", "no project is open and the job names none")
                raise Stop()
            self.project = current
            how = "using the open project"
        elif current is not None and current.GetName() == wanted:
            self.project = current
            how = "already open"
        elif wanted in (pm.GetProjectListInCurrentFolder() or []):
            self.project = pm.LoadProject(wanted)
            how = "loaded"
        else:
            self.project = pm.CreateProject(wanted)
            how = "created"
            if self.project is not None:
                self.report.change(f"created project {wanted!r}")
        if self.project is None:
            self.report.step(
                "project",
                "failed",
                "could not {} project {!r}".format("create" if how == "created" else "load", wanted),
            )
            raise Stop()
        if current is not None and how in ("loaded", "created"):
            self.report.change(f"switched the open project from {current.GetName()!r} to {wanted!r}")
        self.report.data["project"] = {"name": self.project.GetName(), "how": how}
        self.report.step("project", "ok", f"{self.project.GetName()!r} ({how})")

    def _get_setting(self, key):
        # 21.1 makes GetSettings()/SetSettings({}) canonical; GetSetting/SetSetting stay as
        # deprecated forms there and are the only forms before
        if has(self.project, "GetSettings"):
            return (self.project.GetSettings() or {}).get(key)
        return self.project.GetSetting(key)

    def _set_setting(self, key, value):
        if has(self.project, "SetSettings"):
            return bool(self.project.SetSettings({key: value}))
        return bool(self.project.SetSetting(key, value))

    def project_settings(self):
        """Frame rate and size before the import; never resize a project other timelines depend on."""
        pr = self.job["project"]
        size = "{}x{}".format(pr["width"], pr["height"])
        wanted = (
            ("timelineFrameRate", pr["frame_rate"]),
            ("timelineResolutionWidth", str(pr["width"])),
            ("timelineResolutionHeight", str(pr["height"])),
        )
        shared = (
            self.report.data["project"]["how"] != "created" and int(self.project.GetTimelineCount() or 0) > 0
        )
        failed, kept = [], []
        for key, value in wanted:
            now = self._get_setting(key)
            if _same_setting(key, now, value):
                continue
            if shared and key != "timelineFrameRate":
                kept.append(f"{key} {now}")
                continue
            if self._set_setting(key, value):
                self.report.change(f"project setting {key} {now!r} -> {value!r}")
            else:
                failed.append(f"{key} is {now!r}, wanted {value!r}")
        if failed:
            hint = (
                " (Resolve locks a project's frame rate once media is in its media pool or it has "
                "timelines: use a new project, or one at this rate)"
            )
            self.report.step("project settings", "failed", "; ".join(failed) + hint)
            raise Stop()
        if kept:
            self.report.step(
                "project settings",
                "warning",
                "kept {} because other timelines use it; the {} edit is scaled to fit".format(
                    ", ".join(kept), size
                ),
            )
            return
        self.report.step("project settings", "ok", "{} fps, {}".format(pr["frame_rate"], size))

    def _timeline_names(self):
        names = []
        for i in range(1, int(self.project.GetTimelineCount() or 0) + 1):
            tl = self.project.GetTimelineByIndex(i)
            if tl is not None:
                names.append(tl.GetName())
        return names

    def import_timeline(self):
        tl_job = self.job["timeline"]
        existing = self._timeline_names()
        name = unique_name(tl_job["name"], existing)
        if name != tl_job["name"]:
            self.report.step(
                "timeline name", "warning", "{!r} exists; importing as {!r}".format(tl_job["name"], name)
            )
        attempts = []
        fmt = tl_job.get("format", "auto")
        # ImportTimelineFromFile names OTIO from the 18.6.5 README on ("AAF/EDL/XML/FCPXML/DRT/ADL" before)
        otio_ok = self.version >= (18, 6, 5)
        if fmt in ("auto", "otio") and otio_ok:
            attempts.append(("otio", self.path(tl_job["path"]), {"importSourceClips": True}))
            if self.version >= (21, 1, 0):
                # measured on 21.1: media already in the pool makes the OTIO import cancel unless
                # importSourceClips is False; then Resolve looks for the clips only in the current
                # folder and the sourceClipsFolders given, so name the bins that hold them
                attempts.append(("otio-pooled", self.path(tl_job["path"]), {"importSourceClips": False}))
        elif fmt in ("auto", "otio"):
            self.report.step(
                "import",
                "warning" if fmt == "otio" else "skipped",
                "Resolve documents OTIO import from 18.6.5 on; using the FCP7 XML",
            )
        if tl_job.get("fallback_xml") and fmt in ("auto", "fcp7xml", "otio"):
            attempts.append(("fcp7xml", self.path(tl_job["fallback_xml"]), {"importSourceClips": True}))
        if fmt == "fcp7xml" and not tl_job.get("fallback_xml"):
            attempts.append(("fcp7xml", self.path(tl_job["path"]), {"importSourceClips": True}))
        pool = self.project.GetMediaPool()
        self.pool_before = [p for p, _folder in self._pool_clips()]
        tried = []
        for kind, path, options in attempts:
            if kind == "otio-pooled":
                folders = self._folders_holding(path)
                if not folders:
                    continue
                options = dict(options, sourceClipsFolders=folders)
                kind = "otio"
            opts = dict(options, timelineName=name)
            timeline = pool.ImportTimelineFromFile(path, opts)
            tried.append(
                "{} ({}, importSourceClips={})".format(
                    os.path.basename(path), kind, options["importSourceClips"]
                )
            )
            if timeline is not None:
                self.timeline = timeline
                self.kind, self.file = kind, path
                break
        if self.timeline is None:
            self.report.step(
                "import",
                "failed",
                "Resolve returned None for {} (it gives no reason: check media paths and the Import Log)".format(
                    " then ".join(tried) or "no importable file"
                ),
            )
            raise Stop()
        self.report.change(f"imported timeline {self.timeline.GetName()!r}")
        self.project.SetCurrentTimeline(self.timeline)
        self.report.data["timeline"] = {
            "name": self.timeline.GetName(),
            "format": self.kind,
            "file": self.file,
        }
        self.report.step("import", "ok", f"{self.timeline.GetName()!r} from {os.path.basename(self.file)}")

    def _pool_clips(self):
        """Every clip in the media pool, in every bin: [(normalised file path, folder)]."""
        out, folders = [], [self.project.GetMediaPool().GetRootFolder()]
        while folders:
            folder = folders.pop(0)
            if folder is None:
                continue
            for clip in folder.GetClipList() or []:
                path = clip.GetClipProperty("File Path")
                if path:
                    out.append((os.path.normpath(path), folder))
            folders.extend(folder.GetSubFolderList() or [])
        return out

    def _folders_holding(self, otio_path):
        """The pool folders that hold every media file of the .otio, or None if some file is not pooled."""
        try:
            wanted = set(c["media"] for t in read_otio(otio_path, self.rate) for c in t["clips"])
        except (OSError, ValueError):
            return None
        if not wanted or None in wanted:
            return None
        folders, found = [], set()
        for path, folder in self._pool_clips():
            if path in wanted:
                found.add(path)
                if all(f is not folder for f in folders):
                    folders.append(folder)
        return folders if found == wanted else None

    # -- verification --
    def _resolve_tracks(self):
        """Per video track: (index, start frame, clip items, transition items, other items).

        Names say nothing (an FCP7 XML import has named dissolves "fade cut"): an item is told
        by what the API reports about it. 21.1 has ``GetType()``; before, an item with a media
        pool item is a clip, and one without is matched by its span against the file's
        transitions and clips (a clip whose media never linked has no media pool item).
        """
        tracks = []
        start = int(self.timeline.GetStartFrame())
        for index in range(1, int(self.timeline.GetTrackCount("video") or 0) + 1):
            exp = self.expected[index - 1] if index - 1 < len(self.expected) else {}
            clips, transitions, other = [], [], []
            for item in self.timeline.GetItemListInTrack("video", index) or []:
                kind = item_kind(item, start, exp)
                (clips if kind == "clip" else transitions if kind == "transition" else other).append(item)
            tracks.append((index, start, clips, transitions, other))
        return tracks

    def verify(self):
        reader = read_otio if self.kind == "otio" else read_fcp7
        try:
            self.expected = reader(self.file, self.rate)
        except (OSError, ValueError, ET.ParseError) as exc:
            self.report.step("verify", "failed", f"cannot read {self.file} to verify: {exc}")
            return
        got = self._resolve_tracks()
        problems = []
        if len(got) < len(self.expected):
            problems.append(f"{len(got)} video tracks came in, the file has {len(self.expected)}")
        n_clips = n_trans = 0
        n_other = sum(len(t[4]) for t in got)
        for (index, start, items, trans, _other), exp in zip(got, self.expected):
            n_clips += len(items)
            n_trans += len(trans)
            if len(items) != len(exp["clips"]):
                problems.append("V{}: {} clips, the file has {}".format(index, len(items), len(exp["clips"])))
            for item, clip in zip(items, exp["clips"]):
                rec = int(round(item.GetStart())) - start
                dur = int(round(item.GetDuration()))
                self.items[(index, clip["start"])] = (item, clip["shot"])
                if rec != clip["start"] or dur != clip["duration"]:
                    problems.append(
                        "V{} {!r}: at frame {} for {} frames, the file says {} for {}".format(
                            index, clip["shot"], rec, dur, clip["start"], clip["duration"]
                        )
                    )
        want_trans = sum(len(t["transitions"]) for t in self.expected)
        self.missing_transitions = want_trans - n_trans
        detail = f"{n_clips} clips, {n_trans} of {want_trans} transitions"
        if n_other:
            problems.append(f"{n_other} items that are neither a clip nor a transition of the file")
        if problems:
            self.report.step("verify", "failed", detail + "; " + "; ".join(problems[:10]))
        else:
            self.report.step("verify", "ok", detail)
        if self.kind == "otio":
            self.verify_audio()

    def verify_audio(self):
        """Audio clips per track at the file's record frames (OTIO only: FCP7 splits channels)."""
        try:
            expected = read_otio(self.file, self.rate, "Audio")
        except (OSError, ValueError) as exc:
            self.report.step("verify audio", "warning", f"cannot read the audio tracks: {exc}")
            return
        if not any(t["clips"] for t in expected):
            self.report.step("verify audio", "skipped", "the timeline has no audio clips")
            return
        start = int(self.timeline.GetStartFrame())
        problems, count = [], 0
        n_tracks = int(self.timeline.GetTrackCount("audio") or 0)
        if n_tracks < len(expected):
            problems.append(f"{n_tracks} audio tracks came in, the file has {len(expected)}")
        for index, exp in enumerate(expected[:n_tracks], start=1):
            items = [
                i
                for i in (self.timeline.GetItemListInTrack("audio", index) or [])
                if i.GetMediaPoolItem() is not None
            ]
            count += len(items)
            got = [(int(round(i.GetStart())) - start, int(round(i.GetDuration()))) for i in items]
            want = [(c["start"], c["duration"]) for c in exp["clips"]]
            if got != want:
                problems.append(f"A{index}: clips at {got}, the file has {want}")
        if problems:
            self.report.step("verify audio", "warning", "; ".join(problems[:5]))
        else:
            self.report.step("verify audio", "ok", f"audio clips {count}, audio tracks {len(expected)}")

    def transitions(self):
        missing = getattr(self, "missing_transitions", 0)
        if missing <= 0:
            self.report.step(
                "transitions", "ok" if self.expected else "skipped", "all came in with the timeline"
            )
            return
        if self.job.get("add_missing_transitions", True) is False:
            self.report.step("transitions", "failed", f"{missing} transitions did not come in")
            return
        if not self.items or not has(next(iter(self.items.values()))[0], "AddTransition"):
            self.report.step(
                "transitions",
                "failed",
                "{} transitions did not come in, and this Resolve ({}) has no TimelineItem.AddTransition "
                "(21.1+): add them by hand".format(missing, ".".join(str(v) for v in self.version)),
            )
            return
        added, failed, edges = 0, [], 0
        for index, start, items, trans, _other in self._resolve_tracks():
            spans = [(int(round(t.GetStart())) - start, int(round(t.GetEnd())) - start) for t in trans]
            exp = self.expected[index - 1] if index - 1 < len(self.expected) else {"transitions": []}
            for t in exp["transitions"]:
                cut = t["cut"]
                if any(a <= cut <= b for a, b in spans):
                    continue  # this one came in
                outgoing = [i for i in items if int(round(i.GetEnd())) - start == cut]
                incoming = [i for i in items if int(round(i.GetStart())) - start == cut]
                if not outgoing or not incoming:
                    edges += 1  # a fade at either end of the track: nothing to dissolve with
                    continue
                # before the cut the incoming clip shows frames ahead of its in-point, after
                # it the outgoing clip shows frames past its out-point: both are handles
                if (incoming[0].GetLeftOffset() or 0) < t["in"] or (outgoing[0].GetRightOffset() or 0) < t[
                    "out"
                ]:
                    failed.append(f"V{index} cut at frame {cut}: the clips have no handles for it")
                    continue
                align = "center" if t["in"] and t["out"] else ("right" if not t["in"] else "left")
                opts = {
                    "type": "Cross Dissolve",
                    "category": "simple",
                    "position": "end",
                    "alignment": align,
                    "duration": int(t["in"] + t["out"]),
                }
                if outgoing[0].AddTransition(opts) is None:
                    failed.append(f"V{index} cut at frame {cut}: AddTransition returned None")
                else:
                    added += 1
        if added:
            self.report.change(f"added {added} transitions")
        note = f"; {edges} fades at the track ends need adding by hand" if edges else ""
        if failed:
            self.report.step("transitions", "failed", f"added {added}; " + "; ".join(failed) + note)
        elif edges:
            self.report.step("transitions", "warning", f"added {added} the import dropped" + note)
        else:
            self.report.step("transitions", "ok", f"added {added} the import dropped")

    # -- looks --
    def _pick(self, look, track, shot):
        shots = look.get("shots") or {}
        tracks = look.get("tracks") or {}
        if shot in shots:
            return shots[shot]
        if str(track) in tracks:
            return tracks[str(track)]
        return look.get("all")

    def _assignments(self, look):
        out = []
        for (track, _rec), (item, shot) in sorted(self.items.items(), key=lambda kv: kv[0]):
            path = self._pick(look, track, shot)
            if path:
                out.append((item, shot, track, self.path(path)))
        return out

    def _wanted(self, look):
        return bool(look.get("all") or look.get("shots") or look.get("tracks"))

    def grades(self):
        look = self.job.get("grades") or {}
        todo = self._assignments(look)
        if not todo:
            if self._wanted(look):
                self.report.step(
                    "grades", "failed", "no imported clip matched the shots or tracks the job grades"
                )
            else:
                self.report.step("grades", "skipped", "no DRX in the job")
            return
        mode = int(look.get("mode", 0))
        failed, done = [], 0
        missing = sorted(set(p for _, _, _, p in todo if not os.path.isfile(p)))
        if missing:
            self.report.step("grades", "failed", "DRX file not found: " + ", ".join(missing))
            todo = [t for t in todo if t[3] not in missing]
        # per item: 19.1+ grades through the item's node graph; an item without one (or a
        # Resolve before 19.1) goes through Timeline.ApplyGradeFromDRX where that exists
        by_path = {}
        for item, shot, track, path in todo:
            graph = item.GetNodeGraph() if has(item, "GetNodeGraph") else None
            if graph is not None and has(graph, "ApplyGradeFromDRX"):
                if graph.ApplyGradeFromDRX(path, mode):
                    done += 1
                else:
                    failed.append(f"{os.path.basename(path)} on V{track} {shot!r}")
            elif has(self.timeline, "ApplyGradeFromDRX"):
                by_path.setdefault(path, []).append((item, shot, track))
            else:
                failed.append(f"V{track} {shot!r} has no node graph to take {os.path.basename(path)}")
        for path, group in sorted(by_path.items()):
            if self.timeline.ApplyGradeFromDRX(path, mode, [g[0] for g in group]):
                done += len(group)
            else:
                failed.extend(f"{os.path.basename(path)} on V{t} {s!r}" for _, s, t in group)
        if done:
            self.report.change(f"applied DRX grades to {done} items")
        if failed:
            self.report.step(
                "grades", "failed", "applied {}; Resolve refused: {}".format(done, "; ".join(failed))
            )
        elif todo:
            self.report.step("grades", "ok", f"applied to {done} items (mode {mode})")

    def luts(self):
        look = self.job.get("luts") or {}
        todo = self._assignments(look)
        if not todo:
            if self._wanted(look):
                self.report.step(
                    "luts", "failed", "no imported clip matched the shots or tracks the job names"
                )
            else:
                self.report.step("luts", "skipped", "no LUT in the job")
            return
        if has(self.project, "RefreshLUTList"):
            self.project.RefreshLUTList()
        failed, done = [], 0
        for item, shot, track, path in todo:
            graph = item.GetNodeGraph() if has(item, "GetNodeGraph") else None
            if graph is not None:
                ok = graph.SetLUT(int(graph.GetNumNodes() or 1), path)
            elif has(item, "SetLUT"):  # deprecated since 19.0, the only call before
                ok = item.SetLUT(1, path)
            else:
                ok = False
            if ok:
                done += 1
            else:
                failed.append(f"{os.path.basename(path)} on V{track} {shot!r}")
        if done:
            self.report.change(f"set LUTs on {done} items")
        if failed:
            self.report.step(
                "luts",
                "failed",
                "set {}; Resolve refused {} (LUTs must sit in Resolve's LUT folder)".format(
                    done, "; ".join(failed)
                ),
            )
        else:
            self.report.step("luts", "ok", f"set on {done} items")

    def media(self):
        """Every clip's media must be online: a file Resolve reaches, a pool clip not offline."""
        start = int(self.timeline.GetStartFrame())
        offline, count = [], 0
        for kind, letter in (("video", "V"), ("audio", "A")):
            for index in range(1, int(self.timeline.GetTrackCount(kind) or 0) + 1):
                exp = self.expected[index - 1] if kind == "video" and index - 1 < len(self.expected) else {}
                for item in self.timeline.GetItemListInTrack(kind, index) or []:
                    if kind == "video" and item_kind(item, start, exp) != "clip":
                        continue
                    mpi = item.GetMediaPoolItem()
                    if kind == "audio" and mpi is None and not has(item, "GetType"):
                        continue  # an audio crossfade: no media of its own
                    if kind == "audio" and has(item, "GetType") and item.GetType() == "transition":
                        continue
                    count += 1
                    why = media_problem(mpi)
                    if why:
                        offline.append(
                            {
                                "track": f"{letter}{index}",
                                "item": item.GetName(),
                                "frame": int(round(item.GetStart())) - start,
                                "path": (mpi.GetClipProperty("File Path") or None) if mpi else None,
                                "why": why,
                            }
                        )
        self.offline = offline
        self.report.data["offline_media"] = offline
        dupes = self._pool_duplicates()
        self.report.data["pool_duplicates"] = dupes
        note = ""
        if dupes:
            note = "; the media pool now holds {} more clips of files it already had: {}".format(
                len(dupes), ", ".join(os.path.basename(p) for p in dupes)
            )
            self.report.change(f"added {len(dupes)} duplicate clips to the media pool")
        if not offline:
            self.report.step("media", "ok", f"{count} clips online{note}")
            return
        listed = "; ".join(
            "{} {!r} at frame {}: {}".format(o["track"], o["item"], o["frame"], o["path"] or o["why"])
            for o in offline[:10]
        )
        status = "warning" if self.job.get("allow_offline") else "failed"
        self.report.step("media", status, f"{len(offline)} of {count} clips are offline: {listed}{note}")

    def _pool_duplicates(self):
        """Files that had a pool clip before the import and got another one with it."""
        before = {}
        for p in self.pool_before:
            before[p] = before.get(p, 0) + 1
        after = {}
        for p, _folder in self._pool_clips():
            after[p] = after.get(p, 0) + 1
        return sorted(p for p, n in after.items() if p in before and n > before[p])

    def markers(self):
        markers = self.job.get("markers") or []
        if not markers:
            self.report.step("markers", "skipped", "no markers in the job")
            return
        present = set(int(round(float(k))) for k in (self.timeline.GetMarkers() or {}))
        on_clips = self._clip_marker_frames()
        added, kept, failed = 0, 0, []
        for m in markers:
            if m["frame"] in present or (m["frame"], m["name"]) in on_clips:
                kept += 1  # on the timeline already, or a clip marker the import brought
                continue
            ok = self.timeline.AddMarker(
                m["frame"],
                m.get("color", "Blue"),
                m["name"],
                m.get("note", ""),
                m.get("duration", 1),
                m.get("custom_data", ""),
            )
            if ok:
                added += 1
                present.add(m["frame"])
            else:
                failed.append("{!r} at frame {}".format(m["name"], m["frame"]))
        detail = f"added {added}, {kept} already there"
        if failed:
            self.report.step("markers", "failed", detail + "; Resolve refused " + ", ".join(failed))
        else:
            self.report.step("markers", "ok", detail)

    def _clip_marker_frames(self):
        """(timeline frame, name) of every marker on a clip (an OTIO import brings clip markers)."""
        out = set()
        start = int(self.timeline.GetStartFrame())
        for (_track, _rec), (item, _shot) in self.items.items():
            if not has(item, "GetMarkers"):
                continue
            at = int(round(item.GetStart())) - start
            for frame, info in (item.GetMarkers() or {}).items():
                name = info.get("name", "") if isinstance(info, dict) else ""
                out.add((at + int(round(float(frame))), name))
        return out

    # -- render --
    def render_jobs(self):
        render = self.job.get("render") or {}
        jobs = render.get("jobs") or []
        if not jobs:
            self.report.step("render jobs", "skipped", "no render presets in the job")
            return
        if self.offline and not render.get("render_offline"):
            self.report.step(
                "render jobs",
                "skipped",
                f"not queued: {len(self.offline)} clips are offline and would render as 'Media Offline' frames; relink "
                "them and run again, or set render.render_offline",
            )
            return
        self.project.SetCurrentTimeline(self.timeline)
        frames = int(self.timeline.GetEndFrame()) - int(self.timeline.GetStartFrame())
        self.report.data["timeline"]["frames"] = frames
        self.report.data["timeline"]["frame_rate"] = self.job["project"]["frame_rate"]
        for rj in jobs:
            entry = {
                "preset": rj["preset"],
                "job_id": None,
                "output": None,
                "status": "not added",
                "error": None,
            }
            self.report.data["render_jobs"].append(entry)
            problem = self._add_render_job(rj, entry, frames)
            if problem:
                entry["error"] = problem
                self.report.step("render job " + rj["preset"], "failed", problem)
            else:
                entry["status"] = "queued"
                self.report.change("added render job {} ({})".format(entry["job_id"], rj["preset"]))
                self.report.step(
                    "render job " + rj["preset"], "ok", "{} -> {}".format(entry["job_id"], entry["output"])
                )

    def _file_name(self, rj, target):
        """The job's file name with the imported timeline's own name; never an existing file's."""
        safe = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in self.timeline.GetName()).strip()
        base = rj["file_name"].replace(TIMELINE_PLACEHOLDER, safe or "shotline")
        if (self.job.get("render") or {}).get("overwrite"):
            return base
        name, n = base, 2
        while os.path.exists(os.path.join(target, "{}.{}".format(name, rj["format"]))):
            name = f"{base} {n}"
            n += 1
        return name

    def _add_render_job(self, rj, entry, frames):
        """Set every setting that decides the file (the Deliver page keeps a user's leftovers),
        queue the job, read its settings back, and take the job out again if Resolve kept others."""
        p = self.project
        if has(p, "SetCurrentRenderMode") and not p.SetCurrentRenderMode(1):
            return "Resolve refused render mode 'Single clip'"
        if not p.SetCurrentRenderFormatAndCodec(rj["format"], rj["codec"]):
            formats = p.GetRenderFormats() or {}
            if rj["format"] not in formats.values():
                return "render format {!r} is not offered here (have: {})".format(
                    rj["format"], ", ".join(sorted(str(v) for v in formats.values()))
                )
            codecs = p.GetRenderCodecs(rj["format"]) or {}
            return "codec {!r} is not offered for {} here (have: {})".format(
                rj["codec"], rj["format"], ", ".join(sorted(str(v) for v in codecs.values()))
            )
        target = self.path(rj["target_dir"])
        if not os.path.isdir(target):
            try:
                os.makedirs(target)
            except OSError as exc:
                return f"cannot create the target folder {target}: {exc}"
        audio = bool(rj.get("export_audio", True))
        rate = float(rj.get("frame_rate") or round(float(self.rate), 3))
        name = self._file_name(rj, target)
        settings = (
            ("SelectAllFrames", True),
            ("ExportVideo", True),
            ("ExportAudio", audio),
            ("FormatWidth", int(rj["width"])),
            ("FormatHeight", int(rj["height"])),
            ("FrameRate", rate),
            ("VideoQuality", rj.get("quality", "High")),
            ("TargetDir", target),
            ("CustomName", name),
        )
        if audio:
            settings += (
                ("AudioCodec", rj.get("audio_codec", "aac")),
                ("AudioSampleRate", int(rj.get("audio_sample_rate", 48000))),
            )
        for key, value in settings:
            # one key per call: a dict with one refused key fails as a whole, without saying which
            if not p.SetRenderSettings({key: value}):
                return f"Resolve refused render setting {key}={value!r}"
        # read back what can be read before queuing: format, codec and render mode
        current = p.GetCurrentRenderFormatAndCodec() or {}
        if (current.get("format"), current.get("codec")) != (rj["format"], rj["codec"]):
            return "Resolve reports format {!r} and codec {!r} after setting {!r} and {!r}".format(
                current.get("format"), current.get("codec"), rj["format"], rj["codec"]
            )
        if has(p, "GetCurrentRenderMode") and p.GetCurrentRenderMode() != 1:
            return "Resolve kept render mode 'Individual clips' after setting 'Single clip'"
        job_id = p.AddRenderJob()
        if not job_id:
            job_id = p.AddRenderJob()  # measured: the first call may return ""
        if not job_id:
            return "AddRenderJob returned no job id"
        info = {}
        for candidate in p.GetRenderJobList() or []:
            if candidate.get("JobId") == job_id:
                info = candidate
                break
        want = {
            "IsExportVideo": True,
            "IsExportAudio": audio,
            "FormatWidth": int(rj["width"]),
            "FormatHeight": int(rj["height"]),
            "FrameRate": rate,
            "TargetDir": target,
            "OutputFilename": "{}.{}".format(name, rj["format"]),
            "RenderMode": "Single clip",
        }
        if audio:
            want["AudioSampleRate"] = int(rj.get("audio_sample_rate", 48000))
        kept = render_job_differences(info, want, frames)
        if kept:
            # the job would make another file than the job file asks for: take our own job out
            if not p.DeleteRenderJob(job_id):
                kept.append(f"and Resolve refused to delete render job {job_id}: delete it by hand")
            return "the queued job kept Deliver-page settings: " + "; ".join(kept)
        entry["job_id"] = job_id
        entry["output"] = os.path.join(info.get("TargetDir") or target, info.get("OutputFilename") or "")
        entry["expected"] = {
            "width": int(rj["width"]),
            "height": int(rj["height"]),
            "frame_rate": rate,
            "audio": audio,
            "frames": frames,
            "timeline_rate": self.job["project"]["frame_rate"],
        }
        return None

    def render(self):
        render = self.job.get("render") or {}
        queued = [e for e in self.report.data["render_jobs"] if e["job_id"]]
        if not render.get("start") or not queued:
            self.report.step(
                "render", "skipped", "not asked to render" if queued else "no render jobs queued"
            )
            return
        ids = [e["job_id"] for e in queued]
        if not self.project.StartRendering(ids):
            self.report.step("render", "failed", "StartRendering returned False")
            return
        self.report.change("started rendering {}".format(", ".join(ids)))
        if not render.get("wait", True):
            self.report.step("render", "ok", f"started {len(ids)} jobs; not waiting")
            return
        timeout = float(render.get("timeout_s", 24 * 3600))
        poll = float(render.get("poll_s", 2))
        deadline = time.time() + timeout
        last = {}
        while True:
            pending = 0
            for e in queued:
                status = self.project.GetRenderJobStatus(e["job_id"])
                if not isinstance(status, dict):
                    status = {"JobStatus": "Failed", "Error": str(status)}
                state = status.get("JobStatus", "")
                e["status"] = state
                pct = status.get("CompletionPercentage", 0)
                if state == "Failed":
                    e["error"] = status.get("Error") or "Resolve reports Failed without a reason"
                if state not in DONE_STATES:
                    pending += 1
                if last.get(e["job_id"]) != (state, pct):
                    last[e["job_id"]] = (state, pct)
                    say("render {} {}: {} {}%".format(e["preset"], e["job_id"], state, pct))
            if not pending:
                break
            if time.time() > deadline:
                self.project.StopRendering()
                for e in queued:
                    if e["status"] not in DONE_STATES:
                        e["error"] = f"stopped after {timeout:.0f} s"
                self.report.step("render", "failed", f"timed out after {timeout:.0f} s; rendering stopped")
                return
            time.sleep(poll)
        failed = []
        for e in queued:
            if e["status"] == "Complete":
                size = os.path.getsize(e["output"]) if e["output"] and os.path.isfile(e["output"]) else 0
                e["bytes"] = size
                if not size:
                    e["error"] = "Resolve says Complete but {} is missing or empty".format(e["output"])
            if e["error"]:
                failed.append("{}: {}".format(e["preset"], e["error"]))
        if failed:
            self.report.step("render", "failed", "; ".join(failed))
        else:
            self.report.step(
                "render", "ok", f"{len(queued)} files written; check them with 'shotline resolve verify'"
            )

    def save(self):
        """Save the project after a run where everything worked (Resolve does not save by itself)."""
        if not all(s["status"] in ("ok", "skipped", "warning") for s in self.report.data["steps"]):
            self.report.step("save", "skipped", "not saved: the run had problems (see above)")
            return
        if self.pm is not None and self.pm.SaveProject():
            self.report.step("save", "ok", f"saved project {self.project.GetName()!r}")
        else:
            self.report.step(
                "save",
                "warning",
                "Resolve did not save the project (a never-saved 'Untitled Project' must be saved "
                "once by hand): save it before closing Resolve",
            )


def item_kind(item, start, expected):
    """'clip', 'transition' or 'other' for a video track item, from what the API reports.

    ``expected`` is the file's track (``{'clips': [...], 'transitions': [...]}``), used only
    for items that report no media pool item before 21.1: their span decides.
    """
    if has(item, "GetType"):  # 21.1+
        kind = item.GetType()
        if kind == "transition":
            return "transition"
        if kind in ("video", "audio"):
            return "clip"
    if item.GetMediaPoolItem() is not None:
        return "clip"
    rec = int(round(item.GetStart())) - start
    dur = int(round(item.GetDuration()))
    for t in expected.get("transitions") or []:
        if rec == t["cut"] - t["in"] and dur == t["in"] + t["out"]:
            return "transition"
    for c in expected.get("clips") or []:
        if rec == c["start"] and dur == c["duration"]:
            return "clip"  # a clip of the file whose media did not link
    return "other"


def media_problem(mpi):
    """Why a clip's media is not usable, or None: no pool clip, no file, or Resolve says Offline."""
    if mpi is None:
        return "no media pool item (the media never linked)"
    path = mpi.GetClipProperty("File Path") or ""
    status = str(mpi.GetClipProperty("Online Status") or "")
    if status.lower() == "offline":
        return "Resolve reports it offline"
    if not path:
        return "the clip has no file path"
    if not os.path.exists(path):
        return "the file does not exist"
    return None


def render_job_differences(info, want, frames):
    """What a queued job (GetRenderJobList entry) does differently from ``want``: a list of texts."""
    if not info:
        return ["GetRenderJobList does not list the job"]
    out = []
    for key, value in sorted(want.items()):
        got = info.get(key)
        if got is None:
            continue  # a key this Resolve does not report cannot be checked
        if key == "FrameRate":
            try:
                same = abs(float(got) - float(value)) < 0.001
            except (TypeError, ValueError):
                same = False
        elif key == "TargetDir":
            same = os.path.normpath(str(got)) == os.path.normpath(str(value))
        else:
            same = got == value
        if not same:
            out.append(f"{key} {got!r}, wanted {value!r}")
    if "MarkIn" in info and "MarkOut" in info and frames > 0:
        try:
            span = int(info["MarkOut"]) - int(info["MarkIn"]) + 1
        except (TypeError, ValueError):
            span = -1
        if abs(span - frames) > 1:
            out.append(f"MarkIn/MarkOut cover {span} frames, the timeline has {frames}")
    return out


def unique_name(name, existing):
    """``name``, or ``name 2``, ``name 3``... whichever is not taken (Resolve refuses duplicates)."""
    taken = set(existing)
    if name not in taken:
        return name
    n = 2
    while f"{name} {n}" in taken:
        n += 1
    return f"{name} {n}"


def _same_setting(key, now, wanted):
    if now is None or now == "":
        return False
    if key == "timelineFrameRate":
        try:
            return abs(float(str(now).replace("DF", "")) - float(wanted)) < 0.0005
        except ValueError:
            return False
    return str(now) == str(wanted)


# ---------------------------------------------------------------------------------------------
# Entry points: finding Resolve, finding the job, the dialog
# ---------------------------------------------------------------------------------------------


# what each edition allows, said the same way in every message that depends on it
EDITIONS = (
    "external scripting (from a terminal) needs DaVinci Resolve Studio in every version; the free "
    "edition runs Python scripts only from Workspace > Scripts: free 19.1 to 21.0 run them but open no "
    "script window (this script then reads the job named on its command line or the last job shotline "
    "wrote), and free 21.1 has no Python scripting at all"
)
NOT_REACHABLE = (
    "start DaVinci Resolve and set Preferences > System > General > External scripting using to Local; "
    + EDITIONS
)


NO_MODULE = (
    "run this on the machine where Resolve is installed, with RESOLVE_SCRIPT_API or PYTHONPATH set "
    "as Blackmagic's scripting README says, or run it from Workspace > Scripts inside Resolve"
)


def run_job(resolve, job_path, why=None):
    """Run the job at ``job_path`` against ``resolve``; write and return the result path.

    ``resolve`` None means Resolve could not be reached (``why`` says how); the job is
    still validated so that one run reports every problem.
    """
    job_path = os.path.abspath(job_path)
    report = Report(job_path)
    try:
        job = None
        try:
            job = load_job(job_path)
        except JobError as exc:
            report.step("job", "failed", str(exc))
        if job is not None:
            missing = [
                f"{path} ({field})"
                for field, path in job_files(job, os.path.dirname(job_path))
                if not os.path.isfile(path)
            ]
            if missing:
                report.step("job", "failed", "file not found: " + ", ".join(missing))
                job = None
            else:
                report.step("job", "ok", os.path.basename(job_path))
        if resolve is None:
            hint = NO_MODULE if why and "module" in why else NOT_REACHABLE
            report.step(
                "connect", "failed", "cannot reach DaVinci Resolve ({}): {}".format(why or "no answer", hint)
            )
        if resolve is None or job is None:
            raise Stop()
        Runner(resolve, job, job_path, report).run()
    except Stop:
        pass
    except Exception as exc:  # report anything unexpected instead of losing the run
        report.step("unexpected", "failed", f"{type(exc).__name__}: {exc}")
    return report.write()


def _resolve_module_dirs():
    """Where Blackmagic installs DaVinciResolveScript.py, per OS (README "Using a script")."""
    dirs = []
    if os.environ.get("RESOLVE_SCRIPT_API"):
        dirs.append(os.path.join(os.environ["RESOLVE_SCRIPT_API"], "Modules"))
    if sys.platform == "darwin":
        dirs.append(
            "/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting/Modules"
        )
    elif sys.platform.startswith("win"):
        base = os.environ.get("PROGRAMDATA", "C:\\ProgramData")
        dirs.append(
            os.path.join(
                base, "Blackmagic Design", "DaVinci Resolve", "Support", "Developer", "Scripting", "Modules"
            )
        )
    else:
        dirs.extend(["/opt/resolve/Developer/Scripting/Modules", "/home/resolve/Developer/Scripting/Modules"])
    return dirs


def find_resolve(env):
    """``(resolve, None)``, or ``(None, why)``: the global menu scripts get, else external scripting."""
    resolve = env.get("resolve")
    if resolve is not None and has(resolve, "GetProjectManager"):
        return resolve, None
    app = env.get("app") or env.get("fusion")
    if app is not None and has(app, "GetResolve"):
        resolve = app.GetResolve()
        if resolve is not None:
            return resolve, None
    try:
        import DaVinciResolveScript as dvr_script
    except ImportError:
        for folder in _resolve_module_dirs():
            if os.path.isfile(os.path.join(folder, "DaVinciResolveScript.py")) and folder not in sys.path:
                sys.path.append(folder)
        try:
            import DaVinciResolveScript as dvr_script
        except ImportError as exc:
            return None, f"the DaVinciResolveScript module is not installed or not on PYTHONPATH ({exc})"
    except Exception as exc:  # its loader raises when fusionscript cannot be loaded
        return None, f"DaVinciResolveScript failed to load ({type(exc).__name__}: {exc})"
    resolve = dvr_script.scriptapp("Resolve")
    if resolve is None:
        return None, "scriptapp('Resolve') answered None: Resolve is not running, or it is the free edition"
    return resolve, None


def ask_for_job(env):
    """A small UIManager dialog to pick a job file.

    Returns ``(path or None, shown)``: ``shown`` is False where Resolve refuses script
    windows (the free edition from 19.1 on) or there is no UI at all.
    """
    fusion = env.get("fusion") or env.get("app")
    bmd = env.get("bmd")
    if fusion is None or bmd is None:
        return None, False
    try:
        ui = fusion.UIManager
        ui = ui() if callable(ui) else ui
        dispatcher = bmd.UIDispatcher(ui)
        win = dispatcher.AddWindow(
            {"ID": "ShotlineJob", "WindowTitle": "shotline: import a job", "Geometry": [200, 200, 560, 120]},
            ui.VGroup(
                [
                    ui.Label({"Text": "Job file written by 'shotline resolve job':"}),
                    ui.LineEdit(
                        {"ID": "JobPath", "PlaceholderText": "/path/to/job.json", "Text": _last_job() or ""}
                    ),
                    ui.HGroup(
                        [
                            ui.Button({"ID": "Run", "Text": "Import"}),
                            ui.Button({"ID": "Cancel", "Text": "Cancel"}),
                        ]
                    ),
                ]
            ),
        )
    except Exception:  # free Resolve 19.1+ refuses script UIs
        return None, False
    if win is None:
        return None, False
    chosen = {"path": None}

    def on_run(ev):
        chosen["path"] = (win.GetItems()["JobPath"].Text or "").strip() or None
        dispatcher.ExitLoop()

    def on_cancel(ev):
        dispatcher.ExitLoop()

    win.On.Run.Clicked = on_run
    win.On.Cancel.Clicked = on_cancel
    win.On.ShotlineJob.Close = on_cancel
    win.Show()
    dispatcher.RunLoop()
    win.Hide()
    return chosen["path"], True


def last_job_pointer():
    """The file where ``shotline resolve job`` notes the last job it wrote (read when no UI can ask)."""
    if sys.platform.startswith("win") and os.environ.get("APPDATA"):
        base = os.environ["APPDATA"]
    else:
        base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "shotline", "resolve-last-job.txt")


def _last_job():
    try:
        with open(last_job_pointer(), encoding="utf-8") as fh:
            path = fh.read().strip()
    except OSError:
        return None
    return path if path and os.path.isfile(path) else None


def edition(resolve):
    """'studio', 'free' or None (unknown): IsStudio() where documented (21.1), else the product name."""
    if resolve is None:
        return None
    try:
        if has(resolve, "IsStudio"):
            return "studio" if resolve.IsStudio() else "free"
        name = resolve.GetProductName() if has(resolve, "GetProductName") else None
    except Exception:  # a proxy that fails here tells nothing
        return None
    if not name:
        return None
    return "studio" if "studio" in str(name).lower() else "free"


def main(argv, env):
    # an embedded interpreter may have no sys.argv at all, or an empty one
    args = [a for a in list(argv or [])[1:] if a]
    job_path = args[0] if args else os.environ.get("SHOTLINE_RESOLVE_JOB")
    # the edition first: on free 19.1+ a script window raises an upsell pop-up that makes every
    # later API call fail until someone dismisses it, so there the dialog is never opened
    resolve, why = find_resolve(env)
    free = edition(resolve) == "free"
    version = version_tuple(resolve) if resolve is not None else (0, 0, 0)
    if free and version >= (21, 1, 0):
        say("this is free DaVinci Resolve " + ".".join(str(v) for v in version) + ": " + EDITIONS)
        return 2
    if not job_path:
        if free and version >= (19, 1, 0):
            job_path = _last_job()
            if job_path:
                say("free Resolve opens no script window; using the last job shotline wrote: " + job_path)
        else:
            job_path, shown = ask_for_job(env)
            if not job_path and not shown:
                job_path = _last_job()
                if job_path:
                    say("no window can open here; using the last job shotline wrote: " + job_path)
    if not job_path:
        say(
            "no job file: run 'shotline resolve job TIMELINE -o job.json' (it also notes the job as the "
            "last job), then run this script again, or run it from a terminal with the job path as its "
            "argument. SHOTLINE_RESOLVE_JOB works only where Resolve was started from a shell that has it "
            "set: a Resolve started from the Dock, Finder or Start menu does not see it. " + EDITIONS
        )
        return 2
    result = run_job(resolve, job_path, why)
    ok = False
    if result:
        with open(result, encoding="utf-8") as fh:
            ok = bool(json.load(fh).get("ok"))
    say("{}; result in {}".format("done" if ok else "finished with problems", result))
    return 0 if ok else 1


if __name__ == "__main__" or globals().get("resolve") is not None:
    # Resolve runs menu scripts with ``resolve``, ``fusion`` and ``bmd`` as globals; exiting
    # there would reach Resolve's own interpreter, so only a terminal run sets the exit status
    _code = main(getattr(sys, "argv", None), globals())
    if globals().get("resolve") is None:
        sys.exit(_code)
