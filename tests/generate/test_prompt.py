from __future__ import annotations

from pathlib import Path

import pytest

from shotline.core.errors import UsageError
from shotline.core.generate.prompt import build_prompt, known_presets, parse_camera
from shotline.core.generate.storyboard import from_dict


@pytest.mark.parametrize(
    ("note", "move", "direction", "speed"),
    [
        ("static", "static", "none", 1.0),
        ("slow pan left", "pan", "left", 0.5),
        ("pan", "pan", "right", 1.0),
        ("tilt down", "tilt", "down", 1.0),
        ("push in", "dolly", "in", 1.0),
        ("pull out", "dolly", "out", 1.0),
        ("fast dolly out", "dolly", "out", 1.8),
        ("truck right", "tracking", "right", 1.0),
        ("crane down", "crane", "down", 1.0),
        ("handheld", "handheld", "none", 1.0),
        ("aerial drone forward", "drone", "forward", 1.0),
        ("arc shot to the left", "orbit", "left", 1.0),
        ("dutch roll ccw", "roll", "counterclockwise", 1.0),
    ],
)
def test_camera_vocabulary(note: str, move: str, direction: str, speed: float) -> None:
    cam = parse_camera(note)
    assert (cam.move, cam.direction, cam.speed) == (move, direction, speed)
    assert cam.phrase  # goes into the prompt
    if direction != "none":
        assert direction in cam.phrase


def test_camera_errors() -> None:
    with pytest.raises(UsageError, match="unknown camera move"):
        parse_camera("moonwalk")
    with pytest.raises(UsageError, match="cannot go 'left'"):
        parse_camera("tilt left")


def board(**shot: object) -> object:
    return from_dict(
        {
            "style": "cinematic, 35mm.",
            "style_preset": "film-noir",
            "characters": {"mara": "a woman in a yellow raincoat"},
            "shots": [{"id": "s1", **shot}],
        },
        base_dir=Path("."),
    )


def test_structured_parts_are_ordered_with_style_characters_and_camera() -> None:
    sb = board(
        subject="a detective",
        action="lights a cigarette",
        setting="rainy alley",
        camera="slow dolly in",
        lighting="neon",
        details="steam rising",
        characters=["mara"],
        negative_prompt="blurry",
    )
    r = build_prompt(sb, sb.shots[0])  # type: ignore[attr-defined]
    noir = known_presets()["film-noir"]
    assert r.text == (
        f"cinematic, 35mm. {noir['prompt']}. a detective; Mara, a woman in a yellow raincoat. "
        "lights a cigarette. rainy alley. smooth dolly in toward the subject, slow and steady. neon. steam rising."
    )
    assert r.negative == f"blurry, {noir['negative']}"
    assert r.camera is not None and r.camera.note() == "slow dolly in"


def test_raw_prompt_keeps_text_and_adds_camera_and_limit() -> None:
    sb = board(prompt="Mara runs", camera="orbit left", characters=["mara"])
    r = build_prompt(sb, sb.shots[0])  # type: ignore[attr-defined]
    assert r.text.endswith("Mara (a woman in a yellow raincoat) runs. camera orbits left around the subject.")
    sb = board(subject="MARA on a bike", camera="static", characters=["mara"])
    r = build_prompt(sb, sb.shots[0])  # type: ignore[attr-defined]
    assert r.text.endswith(
        "MARA (a woman in a yellow raincoat) on a bike. locked-off static camera, no camera movement."
    )
    with pytest.raises(UsageError, match=r"shot 's1' \(#1\) prompt: \d+ characters .* allows 20"):
        build_prompt(sb, sb.shots[0], max_length=20)  # type: ignore[attr-defined]


def test_body_is_the_shots_own_words() -> None:
    sb = board(subject="Mara", action="waves", camera="pan left", characters=["mara"])
    r = build_prompt(sb, sb.shots[0])  # type: ignore[attr-defined]
    assert r.body == "Mara (a woman in a yellow raincoat). waves."
    assert r.text.endswith("camera pans left.") and r.text.startswith("cinematic, 35mm.")
