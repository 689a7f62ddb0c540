"""One home per shared fact: the drift bugs that copies of a fact caused, each pinned by a test."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.errors import UsageError
from shotline.core.generate.orchestrator import _safe
from shotline.core.generate.providers import kling
from shotline.core.generate.storyboard import from_dict
from shotline.core.vocab import SECRET_ENV_NAMES, XFADE_NAMES, parse_rate, parse_size, timeline_transition
from shotline.otio_adapters.build import build_from_files, parse_transition
from shotline.otio_adapters.conform.model import build_conform

# --------------------------------------------------------------------------- transitions


@pytest.mark.parametrize("name", ["coverleft", "revealdown", "hlwind", "wipetl", "fadegrays"])
def test_every_xfade_the_builder_accepts_is_rendered_as_itself(clips, tmp_path: Path, name: str) -> None:
    """`coverleft` passed `timeline build` and then rendered as a plain dissolve (four name lists)."""
    a, b = clips(duration=2, rate="24"), clips(duration=2, rate="24", tone=550)
    tl = build_from_files([a, b], transition=parse_transition(f"{name}:0.5")).timeline
    conform = build_conform(tl, base=tmp_path)
    (dissolve,) = conform.video[0].dissolves
    assert dissolve.effect == name
    assert not [n for n in conform.notes if "rendered as a dissolve" in n]


def test_a_storyboard_takes_every_transition_the_timeline_builder_takes() -> None:
    for name in ("coverleft", "wipetl", "crossfade", "noise-dissolve"):
        sb = from_dict(
            {
                "title": "t",
                "shots": [
                    {"id": "a", "subject": "a harbour", "transition": name},
                    {"id": "b", "subject": "boats"},
                ],
            }
        )
        assert sb.shots[0].transition.type == name
        assert timeline_transition(name) in XFADE_NAMES
    with pytest.raises(UsageError, match="unknown"):
        timeline_transition("coverleftt")


# --------------------------------------------------------------------------- secrets


def test_kling_key_names_are_scrubbed_and_shown_by_doctor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch scrubber and `shotline doctor` missed the KLINGAI_* names kling.py asks for."""
    secret = "klingai-secret-value-1234567890"
    monkeypatch.setenv("KLINGAI_SECRET_KEY", secret)
    assert set(kling.ACCESS_ENVS + kling.SECRET_ENVS) <= set(SECRET_ENV_NAMES)
    text = _safe(RuntimeError(f"upstream said: bad signature for {secret}"))
    assert secret not in text and "***" in text
    result = CliRunner().invoke(cli, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    assert '"KLINGAI_SECRET_KEY": true' in result.output
    assert '"KLINGAI_ACCESS_KEY"' in result.output
    assert secret not in result.output


# --------------------------------------------------------------------------- rates and sizes


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("29.97", Fraction(30000, 1001)),
        ("23.976", Fraction(24000, 1001)),
        ("59.94", Fraction(60000, 1001)),
        ("30000/1001", Fraction(30000, 1001)),
        ("25", Fraction(25)),
        ("12.5", Fraction(25, 2)),
        (24, Fraction(24)),
        (29.97, Fraction(30000, 1001)),
    ],
)
def test_one_rate_parser(text: object, rate: Fraction) -> None:
    assert parse_rate(text) == rate  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["0", "-25", "abc", "1/0", "", "nan"])
def test_rate_parser_refuses(bad: str) -> None:
    with pytest.raises(UsageError):
        parse_rate(bad)


def test_edit_and_timeline_commands_read_29_97_alike(clips, tmp_path: Path) -> None:
    """`--fps 29.97` was 2997/100 in the edit commands and 30000/1001 in the timeline ones."""
    a, b = clips(duration=1, rate="25"), clips(duration=1, rate="30000/1001", width=320, height=240)
    runner = CliRunner()
    res = runner.invoke(
        cli, ["concat", str(a), str(b), "-o", str(tmp_path / "o.mp4"), "--fps", "29.97", "--dry-run"]
    )
    assert res.exit_code == 0, res.output
    assert "30000/1001" in res.output and "2997/100" not in res.output
    sb = from_dict({"title": "t", "output": {"fps": 29.97}, "shots": [{"id": "a", "subject": "x"}]})
    assert sb.fps == Fraction(30000, 1001)


@pytest.mark.parametrize("bad", ["0x0", "1x100", "100x0", "20000x100", "100", "axb"])
def test_one_size_parser_refuses_what_no_encoder_takes(bad: str, tmp_path: Path) -> None:
    """One size parser accepted `0x0`, the other refused it."""
    with pytest.raises(UsageError):
        parse_size(bad)
    tl = tmp_path / "t.otio"
    tl.write_text("{}")
    res = CliRunner().invoke(
        cli, ["timeline", "render", str(tl), "-o", str(tmp_path / "o.mp4"), "--size", bad]
    )
    assert res.exit_code == 2, res.output
    assert not (tmp_path / "o.mp4").exists()
    assert parse_size(" 1920 x 1080 ") == (1920, 1080)
