from __future__ import annotations

import os
from pathlib import Path

from shotline.core.produce.stages import StageResult, StageState, run_stage
from shotline.core.vocab import stable_hash


def _writer(path: Path, text: str, calls: list[str]):
    def fn() -> StageResult:
        calls.append(path.name)
        path.write_text(text)
        return StageResult({"out": path}, {"chars": len(text)})

    return fn


def test_skip_when_valid_and_rerun_when_changed(tmp_path: Path):
    state_file = tmp_path / "state.json"
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    calls: list[str] = []

    def pipeline(text: str) -> None:
        st = StageState(state_file)
        ra = run_stage(st, "a", stable_hash("a", text), _writer(a, text, calls))
        run_stage(st, "b", stable_hash("b", ra.record.checksums()), _writer(b, text.upper(), calls))

    pipeline("hello")
    assert calls == ["a.txt", "b.txt"]
    pipeline("hello")  # nothing changed: both skipped, state survives a new process
    assert calls == ["a.txt", "b.txt"]
    pipeline("world")  # input changed: a runs, and b because a's output checksum changed
    assert calls == ["a.txt", "b.txt", "a.txt", "b.txt"]
    assert b.read_text() == "WORLD"

    b.unlink()  # a deleted output is redone, upstream is not
    pipeline("world")
    assert calls[-1] == "b.txt" and calls.count("a.txt") == 2

    b.write_text("tampered")  # a modified output is redone
    os.utime(b, ns=(1, 1))
    pipeline("world")
    assert b.read_text() == "WORLD" and calls.count("b.txt") == 4


def test_touched_but_identical_output_is_still_valid(tmp_path: Path):
    st = StageState(tmp_path / "s.json")
    out = tmp_path / "x.txt"
    calls: list[str] = []
    run_stage(st, "x", "k", _writer(out, "same", calls))
    os.utime(out, ns=(5, 5))  # copied or touched: same bytes
    assert not run_stage(StageState(tmp_path / "s.json"), "x", "k", _writer(out, "same", calls)).ran
    assert calls == ["x.txt"]


def test_corrupt_state_file_means_run_again(tmp_path: Path):
    sf = tmp_path / "s.json"
    sf.write_text("{not json")
    calls: list[str] = []
    outcome = run_stage(StageState(sf), "x", "k", _writer(tmp_path / "x.txt", "v", calls))
    assert outcome.ran and calls == ["x.txt"]
    assert StageState(sf).valid("x", "k") is not None
