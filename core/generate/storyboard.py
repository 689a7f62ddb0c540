"""The storyboard: a project's shots as plain, validated data.

A storyboard file (YAML or JSON) holds a title, the output format, a base style,
named characters, an optional music bed, the platform cuts to deliver and an
ordered list of shots. ``load_storyboard(path)`` reads and validates it and
returns a frozen ``Storyboard``; every problem is collected and reported at once,
each naming the shot and the field (``shot 'harbour' (#3) duration: ...``), so a
user fixes a file in one pass.

Relative paths (source images, character references, music) are resolved against
the storyboard's folder. Nothing here touches the network or renders media.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from shotline.core.errors import UsageError
from shotline.core.generate.providers.base import ShotKind

# Ids are for people ("sc 12A", "plan-séquence"): a letter or digit first, no slashes or
# control characters. Files are named from a sanitized form (core.batch.safe_name).
SHOT_ID = re.compile(r"^[^\W_][^\x00-\x1f\x7f/\\]{0,63}$")
PLATFORM = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
PART_NAMES = ("subject", "action", "setting", "camera", "style", "lighting", "details")
# Transitions INTO the next shot. "cut" is a straight cut; the rest are ffmpeg
# xfade transition names, so the renderer and the NLE exports can honour them.
TRANSITIONS = frozenset(
    {
        "cut",
        "dissolve",
        "fade",
        "fadeblack",
        "fadewhite",
        "wipeleft",
        "wiperight",
        "wipeup",
        "wipedown",
        "slideleft",
        "slideright",
        "slideup",
        "slidedown",
        "smoothleft",
        "smoothright",
        "circleopen",
        "circleclose",
        "radial",
        "pixelize",
        "zoomin",
    }
)
KIND_ALIASES = {
    "t2v": ShotKind.TEXT_TO_VIDEO,
    "i2v": ShotKind.IMAGE_TO_VIDEO,
    "v2v": ShotKind.VIDEO_TO_VIDEO,
    "lip-sync": ShotKind.CHARACTER_PERFORMANCE,
    "lipsync": ShotKind.CHARACTER_PERFORMANCE,
    "performance": ShotKind.CHARACTER_PERFORMANCE,
    "sfx": ShotKind.SOUND_EFFECT,
}
SHOT_KINDS = tuple(
    k for k in ShotKind if k not in (ShotKind.TEXT_TO_IMAGE, ShotKind.UPSCALE)
)  # what a storyboard shot may be


class StoryboardError(UsageError):
    """A storyboard failed validation. ``problems`` lists every finding, each naming shot and field."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = list(problems)
        head = f"{source}: {len(problems)} problem{'s' if len(problems) != 1 else ''}"
        super().__init__(head + "".join(f"\n  - {p}" for p in problems))


@dataclass(frozen=True)
class Character:
    name: str
    description: str
    image: Path | None = None


@dataclass(frozen=True)
class PromptParts:
    subject: str = ""
    action: str = ""
    setting: str = ""
    camera: str = ""
    style: str = ""
    lighting: str = ""
    details: str = ""

    def any(self) -> bool:
        return any(getattr(self, n) for n in PART_NAMES)


@dataclass(frozen=True)
class Transition:
    """How this shot hands over to the next: ``cut`` or an xfade name with a duration in seconds."""

    type: str = "cut"
    duration: float = 0.0


@dataclass(frozen=True)
class ShotAudio:
    sfx: str | None = None  # a sound-effect prompt laid under this shot
    voiceover: str | None = None  # text of a voice-over line
    music: bool = True  # False: duck the music bed out under this shot
    volume_db: float = 0.0


@dataclass(frozen=True)
class Music:
    """The project's music bed: a file, or a prompt for a sound/music generator."""

    path: Path | None = None
    prompt: str | None = None
    volume_db: float = -14.0
    fade_in: float = 0.5
    fade_out: float = 1.5


@dataclass(frozen=True)
class Shot:
    id: str
    index: int  # 0-based position in the storyboard
    kind: ShotKind
    duration: float
    prompt: str | None = None  # a raw prompt, used as is (after base style)
    parts: PromptParts = field(default_factory=PromptParts)
    characters: tuple[str, ...] = ()
    negative_prompt: str | None = None
    aspect: str | None = None  # overrides the project's aspect
    seed: int | None = None
    source_image: Path | None = None
    source_video: Path | None = None
    provider: str = "local"
    model: str | None = None  # None: the provider's default model
    takes: int = 1
    style_preset: str | None = None
    transition: Transition = field(default_factory=Transition)
    audio: ShotAudio = field(default_factory=ShotAudio)

    @property
    def camera(self) -> str:
        return self.parts.camera

    @property
    def label(self) -> str:
        return f"shot '{self.id}' (#{self.index + 1})"


@dataclass(frozen=True)
class Storyboard:
    title: str
    width: int
    height: int
    fps: Fraction
    aspect: str  # "16:9"
    style: str  # base style prompt, prepended to every shot
    style_preset: str | None
    characters: Mapping[str, Character]
    shots: tuple[Shot, ...]
    music: Music | None = None
    deliver: tuple[str, ...] = ()  # platform cuts to render (platform preset names)
    source: Path | None = None  # the file it came from
    base_dir: Path = Path(".")

    @property
    def duration(self) -> float:
        """Running time with transitions overlapping their shots."""
        total = sum(s.duration for s in self.shots)
        return total - sum(s.transition.duration for s in self.shots[:-1])

    def shot(self, shot_id: str) -> Shot:
        for s in self.shots:
            if s.id == shot_id:
                return s
        raise KeyError(shot_id)


# ----------------------------------------------------------------------------- loading


def load_storyboard(path: str | Path, *, check_files: bool = True) -> Storyboard:
    """Read a YAML or JSON storyboard and validate it; raise StoryboardError listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: storyboard file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read storyboard: {exc}") from None
    data = parse_text(text, str(path), json_only=path.suffix.lower() == ".json")
    return from_dict(data, base_dir=path.parent, source=path, check_files=check_files)


def parse_text(text: str, name: str = "<storyboard>", json_only: bool = False) -> Any:
    """Parse YAML (a superset of JSON) or strict JSON, turning syntax errors into one clear line."""
    if json_only:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise StoryboardError(name, [f"line {exc.lineno} column {exc.colno}: {exc.msg}"]) from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        raise StoryboardError(name, [f"{where}{exc.problem or exc}"]) from None
    except yaml.YAMLError as exc:
        raise StoryboardError(name, [str(exc)]) from None


class _Checker:
    """Collects problems while reading one mapping, so all of them are reported together."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, where: str, problem: str) -> None:
        self.problems.append(f"{where}: {problem}" if where else problem)

    def keys(self, where: str, data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                hint = _closest(str(key), allowed)
                self.add(
                    f"{where} {key}".strip(),
                    f"unknown field{f' (did you mean {hint!r}?)' if hint else ''}",
                )

    def text(self, where: str, value: Any, required: bool = False) -> str | None:
        if value is None:
            if required:
                self.add(where, "is required")
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.add(where, f"must be text, got {_show(value)}")
            return None
        value = value.strip()
        if required and not value:
            self.add(where, "must not be empty")
        return value or None

    def number(
        self, where: str, value: Any, *, low: float = 0.0, high: float | None = None, strict: bool = True
    ) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(str(value).strip().removesuffix("s"))
            except ValueError:
                self.add(where, f"must be a number, got {_show(value)}")
                return None
        v = float(value)
        if v != v or (strict and v <= low) or (not strict and v < low) or (high is not None and v > high):
            rng = f"{'>' if strict else '>='} {low:g}" + (f" and <= {high:g}" if high is not None else "")
            self.add(where, f"must be {rng}, got {value!r}")
            return None
        return v

    def integer(self, where: str, value: Any, *, low: int = 0, high: int | None = None) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                value = int(value)
            else:
                self.add(where, f"must be a whole number, got {_show(value)}")
                return None
        if value < low or (high is not None and value > high):
            self.add(where, f"must be between {low} and {high}, got {value}" if high else f">= {low}")
            return None
        return int(value)

    def mapping(self, where: str, value: Any) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add(where, f"must be a mapping of fields, got {_show(value)}")
            return {}
        return value

    def path(self, where: str, value: Any, base: Path, check: bool) -> Path | None:
        text = self.text(where, value)
        if text is None:
            return None
        p = Path(text).expanduser()
        if not p.is_absolute():
            p = base / p
        if check and not p.is_file():
            self.add(where, f"file not found: {p}")
        return p


def from_dict(
    data: Any,
    *,
    base_dir: Path = Path("."),
    source: Path | None = None,
    check_files: bool = True,
) -> Storyboard:
    """Validate already-parsed storyboard data (see the module docstring for the shape)."""
    from shotline.core.generate.prompt import known_presets, parse_camera

    name = str(source) if source is not None else "<storyboard>"
    c = _Checker()
    if not isinstance(data, Mapping):
        raise StoryboardError(name, [f"the top level must be a mapping of fields, got {_show(data)}"])
    c.keys(
        "",
        data,
        (
            "title",
            "output",
            "style",
            "style_preset",
            "negative_prompt",
            "defaults",
            "characters",
            "music",
            "deliver",
            "shots",
        ),
    )
    title = c.text("title", data.get("title")) or (source.stem if source else "untitled")

    out = c.mapping("output", data.get("output"))
    c.keys("output", out, ("width", "height", "fps", "aspect"))
    width = c.integer("output width", out.get("width", 1280), low=16, high=8192) or 1280
    height = c.integer("output height", out.get("height", 720), low=16, high=8192) or 720
    if width % 2 or height % 2:
        c.add("output", f"width and height must be even for video encoders, got {width}x{height}")
    fps = _fps(c, "output fps", out.get("fps", 24))
    aspect = _aspect(c, "output aspect", out.get("aspect")) or _ratio_text(width, height)

    style = c.text("style", data.get("style")) or ""
    presets = known_presets()
    style_preset = c.text("style_preset", data.get("style_preset"))
    if style_preset and style_preset not in presets:
        c.add("style_preset", f"unknown preset {style_preset!r}; known: {', '.join(sorted(presets))}")
    project_negative = c.text("negative_prompt", data.get("negative_prompt"))

    defaults = c.mapping("defaults", data.get("defaults"))
    c.keys("defaults", defaults, ("provider", "model", "takes", "duration", "kind", "transition"))
    d_provider = c.text("defaults provider", defaults.get("provider")) or "local"
    d_model = c.text("defaults model", defaults.get("model"))
    d_takes = c.integer("defaults takes", defaults.get("takes", 1), low=1, high=16) or 1
    d_duration = c.number("defaults duration", defaults.get("duration", 5), high=60) or 5.0
    d_kind = _kind(c, "defaults kind", defaults.get("kind", "text-to-video")) or ShotKind.TEXT_TO_VIDEO
    d_transition = _transition(c, "defaults transition", defaults.get("transition", "cut"))

    characters: dict[str, Character] = {}
    raw_chars = c.mapping("characters", data.get("characters"))
    for cname, cdata in raw_chars.items():
        where = f"character '{cname}'"
        if not isinstance(cname, str) or not SHOT_ID.match(cname):
            c.add(where, "name must start with a letter or digit, with no slashes (at most 64 characters)")
            continue
        if isinstance(cdata, str):
            cdata = {"description": cdata}
        cm = c.mapping(where, cdata)
        c.keys(where, cm, ("description", "image"))
        desc = c.text(f"{where} description", cm.get("description"), required=True) or ""
        image = c.path(f"{where} image", cm.get("image"), base_dir, check_files)
        characters[cname] = Character(cname, desc, image)

    music = None
    if data.get("music") is not None:
        raw = data["music"]
        if isinstance(raw, str):
            raw = {"path": raw}
        mm = c.mapping("music", raw)
        c.keys("music", mm, ("path", "prompt", "volume_db", "fade_in", "fade_out"))
        mpath = c.path("music path", mm.get("path"), base_dir, check_files)
        mprompt = c.text("music prompt", mm.get("prompt"))
        if mpath is None and mprompt is None:
            c.add("music", "give a path to an audio file or a prompt")
        vol = c.number("music volume_db", mm.get("volume_db", -14.0), low=-60, high=12, strict=False)
        fin = c.number("music fade_in", mm.get("fade_in", 0.5), strict=False, high=30)
        fout = c.number("music fade_out", mm.get("fade_out", 1.5), strict=False, high=30)
        music = Music(
            mpath,
            mprompt,
            -14.0 if vol is None else vol,
            0.5 if fin is None else fin,
            1.5 if fout is None else fout,
        )

    deliver: list[str] = []
    raw_deliver = data.get("deliver") or []
    if isinstance(raw_deliver, str):
        raw_deliver = [raw_deliver]
    if not isinstance(raw_deliver, list):
        c.add("deliver", f"must be a list of platform names, got {_show(raw_deliver)}")
        raw_deliver = []
    for i, plat in enumerate(raw_deliver):
        if not isinstance(plat, str) or not PLATFORM.match(plat):
            c.add(f"deliver[{i}]", f"must be a platform name like 'youtube-shorts', got {_show(plat)}")
        elif plat in deliver:
            c.add(f"deliver[{i}]", f"{plat!r} is listed twice")
        elif (problem := _unknown_platform(plat)) is not None:
            c.add(f"deliver[{i}]", problem)
        else:
            deliver.append(plat)

    shots: list[Shot] = []
    raw_shots = data.get("shots")
    if not isinstance(raw_shots, list) or not raw_shots:
        c.add("shots", "must be a non-empty list of shots")
        raw_shots = []
    seen: dict[str, int] = {}
    ctx = _ShotDefaults(d_provider, d_model, d_takes, d_duration, d_kind, d_transition)
    for i, raw_shot in enumerate(raw_shots):
        shot = _shot(c, i, raw_shot, ctx, characters, presets, base_dir, check_files, parse_camera)
        if shot is None:
            continue
        if shot.id in seen:
            c.add(f"{shot.label} id", f"duplicate of shot #{seen[shot.id] + 1}")
        seen.setdefault(shot.id, i)
        if shot.negative_prompt is None and project_negative:
            shot = _replace(shot, negative_prompt=project_negative)
        shots.append(shot)
    if shots and shots[-1].transition.type != "cut":
        c.add(f"{shots[-1].label} transition", "the last shot has no next shot to transition into; use 'cut'")
    for a, b in zip(shots, shots[1:]):
        td = a.transition.duration
        if td and td >= min(a.duration, b.duration):
            c.add(
                f"{a.label} transition",
                f"{td:g} s is not shorter than the shots it joins ({a.duration:g} s and {b.duration:g} s)",
            )

    if c.problems:
        raise StoryboardError(name, c.problems)
    return Storyboard(
        title=title,
        width=width,
        height=height,
        fps=fps,
        aspect=aspect,
        style=style,
        style_preset=style_preset,
        characters=characters,
        shots=tuple(shots),
        music=music,
        deliver=tuple(deliver),
        source=source,
        base_dir=base_dir,
    )


@dataclass(frozen=True)
class _ShotDefaults:
    provider: str
    model: str | None
    takes: int
    duration: float
    kind: ShotKind
    transition: Transition


SHOT_FIELDS = (
    "id",
    "kind",
    "prompt",
    *PART_NAMES,
    "parts",
    "characters",
    "negative_prompt",
    "duration",
    "aspect",
    "seed",
    "source_image",
    "source_video",
    "image",
    "video",
    "provider",
    "model",
    "takes",
    "style_preset",
    "transition",
    "audio",
)


def _shot(
    c: _Checker,
    i: int,
    raw: Any,
    d: _ShotDefaults,
    characters: Mapping[str, Character],
    presets: Mapping[str, Any],
    base: Path,
    check_files: bool,
    parse_camera: Any,
) -> Shot | None:
    if not isinstance(raw, Mapping):
        c.add(f"shot #{i + 1}", f"must be a mapping of fields, got {_show(raw)}")
        return None
    sid = raw.get("id")
    if sid is None:
        sid = f"shot{i + 1:02d}"
    sid = str(sid)
    label = f"shot '{sid}' (#{i + 1})"
    if not SHOT_ID.match(sid) or sid != sid.strip():
        c.add(
            f"{label} id",
            "must start with a letter or digit, with no slashes or control characters (at most 64 characters)",
        )
    c.keys(label, raw, SHOT_FIELDS)
    kind = _kind(c, f"{label} kind", raw.get("kind", d.kind.value)) or d.kind

    prompt = c.text(f"{label} prompt", raw.get("prompt"))
    part_src = dict(c.mapping(f"{label} parts", raw.get("parts")))
    c.keys(f"{label} parts", part_src, PART_NAMES)
    for n in PART_NAMES:  # parts may also sit directly on the shot
        if raw.get(n) is not None:
            if n in part_src:
                c.add(f"{label} {n}", "given both on the shot and under parts; keep one")
            part_src[n] = raw[n]
    parts = PromptParts(**{n: c.text(f"{label} {n}", part_src.get(n)) or "" for n in PART_NAMES})
    if prompt and parts.any() and any(getattr(parts, n) for n in PART_NAMES if n != "camera"):
        c.add(f"{label} prompt", "give either a raw prompt or structured parts (camera may go with either)")
    needs_prompt = kind not in (ShotKind.EXTEND, ShotKind.CHARACTER_PERFORMANCE)
    if needs_prompt and not prompt and not parts.any():
        c.add(f"{label} prompt", "is required (a raw prompt, or parts such as subject and action)")
    if parts.camera:
        try:
            parse_camera(parts.camera)
        except UsageError as exc:
            c.add(f"{label} camera", str(exc))

    chars = raw.get("characters") or []
    if isinstance(chars, str):
        chars = [chars]
    if not isinstance(chars, list):
        c.add(f"{label} characters", f"must be a list of character names, got {_show(chars)}")
        chars = []
    for ch in chars:
        if ch not in characters:
            known = ", ".join(sorted(characters)) or "none defined"
            c.add(f"{label} characters", f"unknown character {ch!r} (defined: {known})")

    duration = c.number(f"{label} duration", raw.get("duration", d.duration), high=60) or d.duration
    aspect = _aspect(c, f"{label} aspect", raw.get("aspect"))
    seed = c.integer(f"{label} seed", raw.get("seed"), low=0, high=2**32 - 1)
    img_raw = raw.get("source_image", raw.get("image"))
    vid_raw = raw.get("source_video", raw.get("video"))
    source_image = c.path(f"{label} source_image", img_raw, base, check_files)
    source_video = c.path(f"{label} source_video", vid_raw, base, check_files)
    if kind == ShotKind.IMAGE_TO_VIDEO and source_image is None:
        first = next((characters[n].image for n in chars if n in characters and characters[n].image), None)
        if first is None:
            c.add(
                f"{label} source_image", "image-to-video needs a source image (or a character with an image)"
            )
        source_image = first
    if (
        kind in (ShotKind.VIDEO_TO_VIDEO, ShotKind.EXTEND, ShotKind.CHARACTER_PERFORMANCE)
        and not source_video
    ):
        c.add(f"{label} source_video", f"{kind.value} needs a source video")

    provider = c.text(f"{label} provider", raw.get("provider")) or d.provider
    model = c.text(f"{label} model", raw.get("model")) or d.model
    takes = c.integer(f"{label} takes", raw.get("takes", d.takes), low=1, high=16) or d.takes
    preset = c.text(f"{label} style_preset", raw.get("style_preset"))
    if preset and preset not in presets:
        c.add(f"{label} style_preset", f"unknown preset {preset!r}; known: {', '.join(sorted(presets))}")
    transition = (
        _transition(c, f"{label} transition", raw["transition"]) if "transition" in raw else d.transition
    )
    audio = _shot_audio(c, f"{label} audio", raw.get("audio"))
    neg = c.text(f"{label} negative_prompt", raw.get("negative_prompt"))
    if kind == ShotKind.SOUND_EFFECT and transition.type != "cut":
        c.add(f"{label} transition", "a sound-effect shot has no picture to transition; use 'cut'")
    return Shot(
        id=sid,
        index=i,
        kind=kind,
        duration=duration,
        prompt=prompt,
        parts=parts,
        characters=tuple(str(x) for x in chars),
        negative_prompt=neg,
        aspect=aspect,
        seed=seed,
        source_image=source_image,
        source_video=source_video,
        provider=provider,
        model=model,
        takes=takes,
        style_preset=preset,
        transition=transition,
        audio=audio,
    )


def _shot_audio(c: _Checker, where: str, raw: Any) -> ShotAudio:
    if raw is None:
        return ShotAudio()
    m = c.mapping(where, raw)
    c.keys(where, m, ("sfx", "voiceover", "music", "volume_db"))
    music = m.get("music", True)
    if not isinstance(music, bool):
        c.add(f"{where} music", f"must be true or false, got {_show(music)}")
        music = True
    vol = c.number(f"{where} volume_db", m.get("volume_db", 0.0), low=-60, high=12, strict=False)
    return ShotAudio(
        sfx=c.text(f"{where} sfx", m.get("sfx")),
        voiceover=c.text(f"{where} voiceover", m.get("voiceover")),
        music=music,
        volume_db=vol or 0.0,
    )


def _transition(c: _Checker, where: str, raw: Any) -> Transition:
    if raw is None or raw == "cut":
        return Transition()
    if isinstance(raw, str):
        raw = {"type": raw}
    m = c.mapping(where, raw)
    c.keys(where, m, ("type", "duration"))
    kind = c.text(f"{where} type", m.get("type", "cut")) or "cut"
    if kind not in TRANSITIONS:
        hint = _closest(kind, tuple(TRANSITIONS))
        c.add(
            f"{where} type",
            f"unknown transition {kind!r}"
            + (f" (did you mean {hint!r}?)" if hint else "")
            + f"; known: {', '.join(sorted(TRANSITIONS))}",
        )
        return Transition()
    if kind == "cut":
        if m.get("duration"):
            c.add(f"{where} duration", "a cut has no duration")
        return Transition()
    dur = c.number(f"{where} duration", m.get("duration", 0.5), high=10)
    return Transition(kind, dur if dur is not None else 0.5)


def _kind(c: _Checker, where: str, raw: Any) -> ShotKind | None:
    text = str(raw).strip().lower().replace("_", "-")
    if text in KIND_ALIASES:
        return KIND_ALIASES[text]
    for k in SHOT_KINDS:
        if k.value == text:
            return k
    c.add(where, f"unknown kind {raw!r}; known: {', '.join(k.value for k in SHOT_KINDS)}")
    return None


def _fps(c: _Checker, where: str, raw: Any) -> Fraction:
    try:
        if isinstance(raw, bool):
            raise ValueError
        fps = (
            Fraction(str(raw).strip())
            if not isinstance(raw, float)
            else Fraction(raw).limit_denominator(1001)
        )
    except (ValueError, ZeroDivisionError):
        c.add(where, f"must be a frame rate like 24, 25, 29.97 or 30000/1001, got {_show(raw)}")
        return Fraction(24)
    if isinstance(raw, str) and "." in raw:
        fps = fps.limit_denominator(1001)
    if not 1 <= fps <= 240:
        c.add(where, f"must be between 1 and 240, got {raw}")
        return Fraction(24)
    return fps


def _aspect(c: _Checker, where: str, raw: Any) -> str | None:
    if raw is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*[:/x]\s*(\d+)\s*", str(raw))
    if not m or int(m[1]) == 0 or int(m[2]) == 0:
        c.add(where, f"must be a ratio like 16:9 or 9:16, got {_show(raw)}")
        return None
    return f"{int(m[1])}:{int(m[2])}"


def _unknown_platform(name: str) -> str | None:
    """None when ``name`` is a platform preset (core.presets) or an alias of one."""
    try:
        from shotline.core.ops.presets import get_preset
    except ImportError:  # pragma: no cover - a build without the presets module
        return None
    try:
        get_preset(name)
    except UsageError as exc:
        return str(exc)
    return None


def _ratio_text(w: int, h: int) -> str:
    f = Fraction(w, h)
    return f"{f.numerator}:{f.denominator}"


def _replace(shot: Shot, **kw: Any) -> Shot:
    from dataclasses import replace

    return replace(shot, **kw)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _closest(word: str, options: tuple[str, ...]) -> str | None:
    import difflib

    hits = difflib.get_close_matches(word, options, n=1, cutoff=0.75)
    return hits[0] if hits else None
