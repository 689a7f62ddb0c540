from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from shotline.core.errors import UsageError
from shotline.core.generate.providers.base import ShotKind
from shotline.core.generate.storyboard import StoryboardError, load_storyboard

GOOD = """
title: Harbour
output: {width: 640, height: 360, fps: 30000/1001}
style: "cinematic, 35mm"
style_preset: golden-hour
defaults: {provider: local, takes: 2, duration: 2.5}
characters:
  mara: {description: "a woman in a yellow raincoat"}
music: {prompt: "soft piano bed", volume_db: -18}
deliver: [youtube-shorts, instagram-square]
shots:
  - id: open
    subject: harbour at dawn
    camera: slow pan left
    transition: {type: dissolve, duration: 0.5}
  - id: mara-walks
    kind: t2v
    prompt: "Mara walks along the pier"
    characters: [mara]
    duration: 3
    seed: 7
    audio: {sfx: "gulls", music: false}
  - id: boom
    kind: sfx
    prompt: "distant foghorn"
    duration: 2
"""


def write(tmp_path: Path, text: str, name: str = "sb.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_loads_yaml_with_defaults_and_aliases(tmp_path: Path) -> None:
    sb = load_storyboard(write(tmp_path, GOOD))
    assert (sb.width, sb.height, sb.fps, sb.aspect) == (640, 360, Fraction(30000, 1001), "16:9")
    assert [s.id for s in sb.shots] == ["open", "mara-walks", "boom"]
    open_, walk, boom = sb.shots
    assert open_.kind is ShotKind.TEXT_TO_VIDEO and open_.takes == 2 and open_.duration == 2.5
    assert open_.transition.type == "dissolve" and open_.transition.duration == 0.5
    assert walk.characters == ("mara",) and walk.seed == 7 and walk.audio.music is False
    assert boom.kind is ShotKind.SOUND_EFFECT
    assert sb.deliver == ("youtube-shorts", "instagram-square")
    assert sb.music is not None and sb.music.volume_db == -18
    # running time: transitions overlap
    assert sb.duration == pytest.approx(2.5 + 3 + 2 - 0.5)


def test_json_and_yaml_give_the_same_storyboard(tmp_path: Path) -> None:
    import yaml

    data = yaml.safe_load(GOOD)
    a = load_storyboard(write(tmp_path, GOOD))
    b = load_storyboard(write(tmp_path, json.dumps(data), "sb.json"))
    assert a.shots == b.shots and a.characters == b.characters


def test_every_problem_names_shot_and_field(tmp_path: Path) -> None:
    bad = """
output: {width: 641, fps: fast}
shots:
  - id: a
    prompt: x
    duration: -2
    camera: moonwalk sideways
  - id: a
    promt: typo here
    transition: {type: swirl}
  - id: "../evil"
    kind: image-to-video
    prompt: y
    characters: [ghost]
    takes: 99
"""
    with pytest.raises(StoryboardError) as err:
        load_storyboard(write(tmp_path, bad))
    msg = str(err.value)
    assert "shot 'a' (#1) duration: must be > 0" in msg
    assert "shot 'a' (#1) camera: unknown camera move" in msg
    assert "shot 'a' (#2) promt: unknown field (did you mean 'prompt'?)" in msg
    assert "shot 'a' (#2) id: duplicate of shot #1" in msg
    assert "shot 'a' (#2) transition type: unknown transition 'swirl'" in msg
    assert "shot '../evil' (#3) id: must start with a letter" in msg
    assert "shot '../evil' (#3) characters: unknown character 'ghost'" in msg
    assert "shot '../evil' (#3) source_image: image-to-video needs a source image" in msg
    assert "shot '../evil' (#3) takes: must be between 1 and 16" in msg
    assert "output fps: must be a frame rate" in msg
    assert "must be even" in msg
    assert err.value.exit_code == 2


def test_missing_files_and_syntax_errors(tmp_path: Path) -> None:
    with pytest.raises(StoryboardError, match=r"shot 'x' \(#1\) source_image: file not found: .*nope.png"):
        load_storyboard(write(tmp_path, "shots: [{id: x, kind: i2v, prompt: p, image: nope.png}]"))
    with pytest.raises(StoryboardError, match="line 3 column 1: expected"):
        load_storyboard(write(tmp_path, "shots:\n  - id: [unclosed\n"))
    with pytest.raises(StoryboardError, match="line 1 column"):
        load_storyboard(write(tmp_path, "{bad json", "s.json"))
    with pytest.raises(UsageError, match="storyboard file not found"):
        load_storyboard(tmp_path / "absent.yaml")
    with pytest.raises(StoryboardError, match="shots: must be a non-empty list"):
        load_storyboard(write(tmp_path, "title: empty"))


def test_relative_paths_resolve_against_the_storyboard(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    img = tmp_path / "assets" / "still one é.png"
    img.write_bytes(b"x")
    p = write(tmp_path, "shots: [{id: s, kind: image-to-video, prompt: p, image: 'assets/still one é.png'}]")
    sb = load_storyboard(p)
    assert sb.shots[0].source_image == img


def test_transition_must_fit_and_last_shot_cuts(tmp_path: Path) -> None:
    text = """
shots:
  - {id: a, prompt: p, duration: 1, transition: {type: fade, duration: 1.5}}
  - {id: b, prompt: q, duration: 2, transition: dissolve}
"""
    with pytest.raises(StoryboardError) as err:
        load_storyboard(write(tmp_path, text))
    assert "shot 'a' (#1) transition: 1.5 s is not shorter" in str(err.value)
    assert "shot 'b' (#2) transition: the last shot has no next shot" in str(err.value)


def test_platform_cuts_must_be_known_presets(tmp_path: Path) -> None:
    ok = load_storyboard(write(tmp_path, "deliver: [youtube-shorts, instagram]\nshots: [{id: a, prompt: p}]"))
    assert ok.deliver == ("youtube-shorts", "instagram")
    with pytest.raises(StoryboardError, match=r"deliver\[1\]: unknown preset 'myspace'"):
        load_storyboard(write(tmp_path, "deliver: [tiktok, myspace]\nshots: [{id: a, prompt: p}]"))
