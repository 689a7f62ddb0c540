"""The prompt builder: structured shot parts + base style + characters -> one provider prompt.

The camera vocabulary (core/generate/data/camera.yaml) and the style presets
(core/generate/data/styles.yaml) are data, so adding a move or a look is an edit to a
YAML file, not to code. ``parse_camera("slow dolly in")`` turns a storyboard's
camera note into a ``CameraMove`` the local renderer animates and whose phrase
goes into the prompt. ``build_prompt(storyboard, shot)`` returns the exact text
sent to a provider, in a fixed order so prompts are stable (and so hash stably
into the ledger):

    base style. preset. subject (with character descriptions). action. setting.
    camera phrase. lighting. shot style. details.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from shotline.core.errors import UsageError

if TYPE_CHECKING:
    from shotline.core.generate.storyboard import Shot, Storyboard


@dataclass(frozen=True)
class CameraMove:
    move: str  # a key of camera.yaml moves: static, pan, tilt, dolly, ...
    direction: str  # "none" for moves without one
    speed: float  # 0.5 slow, 1.0 medium, 1.8 fast
    phrase: str  # the words that go into the prompt

    def note(self) -> str:
        """Short human note, e.g. 'slow dolly in'."""
        speed = {0.5: "slow ", 1.8: "fast "}.get(self.speed, "")
        direction = "" if self.direction == "none" else f" {self.direction}"
        return f"{speed}{self.move}{direction}"


@dataclass(frozen=True)
class ResolvedPrompt:
    text: str  # what the provider gets
    negative: str | None
    camera: CameraMove | None
    body: str = ""  # the shot's own words (no style, preset or camera phrase): for cards and notes


def _data(name: str) -> Any:
    import yaml

    text = (
        resources.files("shotline.core.generate").joinpath("data").joinpath(name).read_text(encoding="utf-8")
    )
    return yaml.safe_load(text)


@functools.lru_cache(maxsize=1)
def camera_vocabulary() -> dict[str, Any]:
    return dict(_data("camera.yaml"))


@functools.lru_cache(maxsize=1)
def known_presets() -> dict[str, dict[str, Any]]:
    return dict(_data("styles.yaml"))


def parse_camera(text: str) -> CameraMove:
    """Read a camera note such as 'slow pan left', 'push in', 'orbit right', 'handheld'."""
    vocab = camera_vocabulary()
    words = re.findall(r"[a-z]+(?:-[a-z]+)?", text.lower())
    if not words:
        raise UsageError(f"empty camera note {text!r}")
    speed = 1.0
    for w, value in vocab["speeds"].items():
        if w in words:
            speed = float(value)
            words = [x for x in words if x != w]
    joined = " ".join(words)
    move = None
    implied_dir = None
    for name, spec in vocab["moves"].items():
        names = [name, *spec.get("aliases", [])]
        for alias in sorted(names, key=len, reverse=True):
            if re.search(rf"\b{re.escape(alias)}\b", joined):
                move = name
                tail = alias.split()[-1] if " " in alias else None
                implied_dir = tail
                break
        if move:
            break
    if move is None:
        known = ", ".join(vocab["moves"])
        raise UsageError(f"unknown camera move in {text!r}; use one of: {known} (with a direction and speed)")
    spec = vocab["moves"][move]
    allowed = spec["directions"]
    direction = allowed[0]
    found = None
    for d, synonyms in vocab["directions"].items():
        if any(w in synonyms for w in words) and d in allowed:
            found = d
            break
    if found is None and implied_dir is not None:
        for d, synonyms in vocab["directions"].items():
            if implied_dir in synonyms and d in allowed:
                found = d
    if found is None:
        other = [w for w in words if any(w in s for s in vocab["directions"].values())]
        if other and allowed != ["none"]:
            raise UsageError(f"camera {move} cannot go {other[0]!r} in {text!r}; use {' or '.join(allowed)}")
        found = direction
    phrase = spec["phrase"].replace("{dir}", found)
    if move != "static":
        if speed == 0.5:
            phrase += ", slow and steady"
        elif speed > 1.0:
            phrase += ", fast and energetic"
    return CameraMove(move, found, speed, phrase)


def _display(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").title()


def with_characters(text: str, storyboard: Storyboard, shot: Shot) -> tuple[str, list[str]]:
    """Describe each of the shot's characters where the text first names it.

    'Mara walks' becomes 'Mara (a woman in a yellow raincoat) walks'. Returns the text and
    the characters it does not mention, as 'Mara, a woman in a yellow raincoat'.
    """
    missing = []
    for name in shot.characters:
        desc = storyboard.characters[name].description
        shown = _display(name)
        pattern = re.compile(rf"\b{re.escape(shown)}\b", re.IGNORECASE)
        match = pattern.search(text)
        if match:
            text = f"{text[: match.end()]} ({desc}){text[match.end() :]}"
        else:
            missing.append(f"{shown}, {desc}")
    return text, missing


def build_prompt(storyboard: Storyboard, shot: Shot, *, max_length: int | None = None) -> ResolvedPrompt:
    """The provider prompt for ``shot``; UsageError naming the shot if it exceeds ``max_length``."""
    presets = known_presets()
    pieces: list[str] = []
    negatives: list[str] = []
    if storyboard.style:
        pieces.append(storyboard.style)
    for preset in dict.fromkeys(p for p in (storyboard.style_preset, shot.style_preset) if p):
        pieces.append(presets[preset]["prompt"])
        if presets[preset].get("negative"):
            negatives.append(presets[preset]["negative"])
    camera = parse_camera(shot.parts.camera) if shot.parts.camera else None
    if shot.prompt:
        text, missing = with_characters(shot.prompt, storyboard, shot)
        body = [text]
        if missing:
            body.append("Featuring " + "; ".join(missing))
        if camera:
            body.append(camera.phrase)
    else:
        p = shot.parts
        subject, missing = with_characters(p.subject, storyboard, shot)
        if missing:
            subject = "; ".join(([subject] if subject else []) + missing)
        body = [subject, p.action, p.setting, camera.phrase if camera else "", p.lighting, p.style, p.details]
    pieces.extend(x for x in body if x)
    text = ". ".join(_clean(x) for x in pieces if _clean(x)) + "."
    own = [x for x in body if x and not (camera and x == camera.phrase)]
    shot_text = ". ".join(_clean(x) for x in own if _clean(x))
    if shot.negative_prompt:
        negatives.insert(0, shot.negative_prompt)
    negative = ", ".join(dict.fromkeys(_clean(n) for n in negatives if _clean(n))) or None
    if max_length is not None and len(text) > max_length:
        raise UsageError(
            f"{shot.label} prompt: {len(text)} characters after adding style and characters; "
            f"the provider allows {max_length}. Shorten the style or the shot's parts."
        )
    return ResolvedPrompt(text, negative, camera, shot_text + "." if shot_text else "")


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip(".;, ")
