"""What OpenTimelineIO's CMX 3600 reader skips without a word.

The reader takes every line after an event that does not start with a number as a comment of
that event and keeps only the comments it knows (``* FROM CLIP NAME:``, ``M2``, ``* LOC:``...).
A line that is neither an event, a header, a ``*`` comment nor a known comment is junk to it:
it disappears from the edit. ``ignored_lines`` lists them so the render can say so.
"""

from __future__ import annotations

import re
from pathlib import Path

# the comment ids otio-cmx3600-adapter 1.0 reads (CommentHandler.comment_id_map), star optional
_KNOWN = re.compile(
    r"^\*?\s*(FROM CLIP NAME|TO CLIP NAME|FROM CLIP|FROM FILE|LOC|ASC_SOP|ASC_SAT|M2|\* FREEZE FRAME|"
    r"\* OTIO REFERENCE [a-zA-Z]+)\b",
)
_HEADER = ("TITLE:", "FCM", "SPLIT")


def ignored_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every line the EDL reader drops unread."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(_HEADER) or line[0].isdigit() or line.startswith("*"):
            continue
        if _KNOWN.match(line):
            continue
        out.append((n, line))
    return out


def ignored_note(path: Path) -> str | None:
    """One note naming the dropped lines (the first three of them), or None."""
    lines = ignored_lines(path)
    if not lines:
        return None
    shown = "; ".join(f"line {n}: {text[:60]!r}" for n, text in lines[:3])
    more = f" and {len(lines) - 3} more" if len(lines) > 3 else ""
    return (
        f"{path.name}: OpenTimelineIO's EDL reader skipped {len(lines)} line(s) it does not understand "
        f"({shown}{more}); check that the edit is complete"
    )
