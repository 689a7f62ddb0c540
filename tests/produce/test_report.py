"""The report as an editor's page, opened in headless Chromium: it plays, links and reads."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest

from shotline.core.produce.report import (
    Deliverable,
    MetricRow,
    ReportData,
    ReportShot,
    ReportTake,
    StripItem,
    render_html,
    write_report,
)
from tests.browser import boxes_overlap, find_or_install_chromium, headless, inspect_page
from tests.mediakit import ffmpeg


def _video(path: Path, src: str, seconds: float = 1.0, size: str = "160x90") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg(
        "-f", "lavfi", "-i", f"{src}=s={size}:r=12:d={seconds}",
        "-f", "lavfi", "-i", f"sine=d={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
        "-movflags", "+faststart", "-shortest", str(path),
    )  # fmt: skip
    return path


def _preview(path: Path, src: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ffmpeg("-f", "lavfi", "-i", f"{src}=s=160x90:r=8:d=1", "-c:v", "libwebp_anim", "-loop", "0", str(path))
    return path


def _rows(decides: str) -> tuple[MetricRow, ...]:
    return (
        MetricRow("longest_freeze", "frozen", "1.40 s", "limit 0.5 s", decides == "longest_freeze", True),
        MetricRow("sharpness", "sharpness", "389 Laplacian var.", "higher is better", decides == "sharpness"),
    )


def _data(root: Path) -> ReportData:
    """A report over real media in ``root``: takes in spaced folder names, every deliverable kind."""
    a1 = _video(root / "shots" / "s01 opening" / "s01_t01.mp4", "testsrc2")
    a2 = _video(root / "shots" / "s01 opening" / "s01_t02.mp4", "smptebars")
    b1 = _video(root / "shots" / "s02" / "s02_t01.mp4", "rgbtestsrc")
    p1, p2, p3 = (
        _preview(root / "previews" / f"{n}.webp", s)
        for n, s in [("a1", "testsrc2"), ("a2", "smptebars"), ("b1", "rgbtestsrc")]
    )
    master = _video(root / "master.mp4", "testsrc2", 4.0, "320x180")
    cut = _video(root / "cuts" / "film_tiktok.mp4", "testsrc2", 4.0, "90x160")
    gif = root / "preview.gif"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x90:r=5:d=1", str(gif))
    sheet = root / "contact_sheet.png"
    ffmpeg("-f", "lavfi", "-i", "smptebars=s=320x180", "-frames:v", "1", str(sheet))
    edl = root / "exports" / "film.edl"
    edl.parent.mkdir()
    edl.write_text("TITLE: film\n", encoding="utf-8")
    shots = (
        ReportShot(
            "s01-opening",
            'A lighthouse at dusk, "storm" <coming>',
            "local",
            "animatic",
            2.0,
            (
                ReportTake(
                    1,
                    str(a1),
                    str(p1),
                    True,
                    True,
                    "take 1 chosen over take 2: sharper",
                    5.1,
                    {"sharpness": 345.2},
                    11,
                    0.0,
                    _rows("sharpness"),
                    True,
                ),
                ReportTake(
                    2,
                    str(a2),
                    str(p2),
                    False,
                    False,
                    "take 2 froze for 1.40 s, over the 0.50 s limit",
                    2.0,
                    {"longest_freeze": 1.4},
                    12,
                    0.0,
                    _rows("longest_freeze"),
                ),
            ),  # fmt: skip
            negative_prompt="blurry",
            camera="dolly in",
            cost=0.0,
        ),
        ReportShot(
            "s02-keeper",
            "The keeper climbs the stairs",
            "runway",
            "gen4_turbo",
            3.0,
            (
                ReportTake(
                    1,
                    str(b1),
                    str(p3),
                    True,
                    True,
                    "take 1 chosen: the only take",
                    4.0,
                    {},
                    7,
                    15.0,
                    review_pick=True,
                ),
            ),  # fmt: skip
            cost=15.0,
        ),
    )
    strip = (
        StripItem("s01-opening", 0.0, 1.6, "fadeblack", 0.5),
        StripItem("harbour-wide", 1.6, 1.4, "dissolve", 0.5),
        StripItem("a-very-short-insert", 3.0, 0.2, "wipeleft", 0.2),
        StripItem("s02-keeper", 3.2, 2.0, "dissolve", 0.5),
        StripItem("ending", 5.2, 1.0, "fade", 0.4, 0.1, "fade out", 0.5),
    )
    dels = tuple(
        Deliverable(kind, str(p), p.stat().st_size, dur, "ab" * 32)
        for kind, p, dur in (
            ("master", master, 4.0),
            ("cut:tiktok", cut, 4.0),
            ("preview", gif, 1.0),
            ("contact_sheet", sheet, None),
            ("edl", edl, None),
        )
    )
    return ReportData(
        title="Lighthouse",
        shots=shots,
        strip=strip,
        deliverables=dels,
        total_cost=15.0,
        cost_unit="credits",
        elapsed_seconds=12.3,
        created="2026-11-22 19:00",
        costs={"credits": 15.0},
        budget=50.0,
        command="shotline produce film.yaml -o out",
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    return write_report(_data(root), root / "report.html")


@pytest.fixture(scope="module")
def browser() -> str:
    found, why = find_or_install_chromium()
    if found is None:
        pytest.skip(why)
    return found


def test_html_links_relatively_and_escapes(report: Path):
    text = report.read_text(encoding="utf-8")
    assert "&quot;storm&quot; &lt;coming&gt;" in text
    assert not re.search(r"""(src|href|poster)=["']?(https?:|//|file:|/)""", text)
    assert str(report.parent) not in text  # no machine path: the folder can move
    assert 'src="shots/s01%20opening/s01_t01.mp4"' in text and 'poster="previews/a1.webp"' in text
    assert 'class="take chosen"' in text and 'class="take rejected"' in text
    # the deciding metric is marked, with its unit and limit, and the reason is in words
    assert re.search(r'<tr class="decides failed" data-metric="longest_freeze"><td>frozen ◀</td>'
                     r"<td class=v>1.40 s</td><td class=l>limit 0.5 s</td></tr>", text)  # fmt: skip
    assert "take 2 froze for 1.40 s, over the 0.50 s limit" in text
    assert "cost <b>15 credits</b> · budget 50 credits" in text


def _check_plays_and_links(browser: str, page: Path) -> dict:
    got = inspect_page(browser, page)
    root = page.parent.resolve()
    # a player for each take, the master and the cut, every one with its metadata loaded
    assert len(got["videos"]) == 5
    for v in got["videos"]:
        assert v["error"] is None and v["ready"] >= 1 and v["width"] > 0, v
    # the GIF preview, the contact sheet and the takes' posters are shown
    shown = {unquote(i["src"]): i["width"] for i in got["images"]}
    assert shown["preview.gif"] > 0 and shown["contact_sheet.png"] > 0
    # every link resolves to a file inside the folder (the selection download is built in the page)
    for link in got["links"]:
        if link["download"]:
            assert link["href"].startswith("data:application/json")
            continue
        target = (root / unquote(link["href"].split("#")[0])).resolve()
        assert target.is_file() and target.is_relative_to(root), link
    linked = {unquote(x["href"]) for x in got["links"]}
    assert {
        "master.mp4",
        "cuts/film_tiktok.mp4",
        "preview.gif",
        "contact_sheet.png",
        "exports/film.edl",
    } <= linked
    assert {"shots/s01 opening/s01_t01.mp4", "shots/s02/s02_t01.mp4"} <= linked
    return got


def test_every_player_loads_and_every_link_resolves_even_after_the_folder_moves(
    report: Path, browser: str, tmp_path: Path
):
    _check_plays_and_links(browser, report)
    moved = tmp_path / "zipped and unpacked"
    shutil.copytree(report.parent, moved)
    _check_plays_and_links(browser, moved / "report.html")
    # a missing file is seen, so the checks above can fail
    (moved / "master.mp4").unlink()
    got = inspect_page(browser, moved / "report.html")
    assert any(v["error"] is not None for v in got["videos"])


@pytest.mark.parametrize("window", ["1280,900", "760,900"])
def test_no_label_of_the_timeline_strip_is_covered(report: Path, browser: str, window: str):
    got = inspect_page(browser, report, window=window)
    labels, marks = got["labels"], got["transitions"]
    clips = [x["name"] for x in labels if x["kind"] == "clip"]
    assert clips == ["s01-opening", "harbour-wide", "a-very-short-insert", "s02-keeper", "ending"]
    assert [m["name"] for m in marks] == ["fadeblack", "dissolve", "wipeleft", "dissolve", "fade", "fade out"]
    named = {x["name"] for x in labels if x["kind"] == "transition"}
    assert named >= {"fadeblack", "dissolve", "wipeleft"}  # named beside the mark where there is room
    assert all(m["name"] in m["title"] for m in marks)  # and every mark names itself on hover
    for lab in labels:
        vis = lab["visible"]
        assert vis[2] - vis[0] > 0, lab  # some of the name shows
        for mark in marks:
            assert not boxes_overlap(vis, mark["box"]), (lab["name"], mark["name"])
        for other in labels:
            if other is not lab:
                assert not boxes_overlap(vis, other["visible"]), (lab["name"], other["name"])
        assert all(lab["hits"]), lab  # nothing is drawn over the name
        assert lab["name"] in lab["title"]  # hover text names it whole, with its times
    short = next(x for x in labels if x["name"] == "a-very-short-insert")
    assert short["overflows"]  # the short clip's name is cut, and its title carries it whole
    # the names of the clips that have room show whole
    assert all(not x["overflows"] for x in labels if x["kind"] == "clip" and x["name"] != short["name"])


def test_report_screenshot_shows_the_media(report: Path, browser: str, tmp_path: Path):
    shot = tmp_path / "report.png"
    headless(
        browser,
        report.as_uri(),
        "--virtual-time-budget=5000",
        "--window-size=1200,900",
        f"--screenshot={shot}",
    )
    import av

    with av.open(str(shot)) as c:
        img = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert img.shape[:2] == (900, 1200)
    # the players and previews are colourful test patterns on a near-black page: the screenshot shows them
    saturated = (img.max(axis=2).astype(int) - img.min(axis=2).astype(int)) > 80
    assert saturated.mean() > 0.01
    assert np.unique(img.reshape(-1, 3), axis=0).shape[0] > 200


def test_empty_strip_and_missing_preview_still_render(tmp_path: Path):
    data = ReportData(
        "t",
        (ReportShot("x", "p", "local", "m", 1.0, (ReportTake(1, "x.mp4", None, True, True, "ok"),)),),
        (),
        (),
        0.0,
        "USD",
        0.0,
        "now",
    )
    html = render_html(data, tmp_path)
    assert "no timeline yet" in html and "0 USD" in html and "poster=" not in html


def test_the_selection_islands_survive_any_shot_id(tmp_path: Path):
    import json

    sid = "x</script><!--<script>"
    take = ReportTake(1, "x.mp4", None, True, True, "ok", review_pick=True)
    data = ReportData(
        "t", (ReportShot(sid, "p", "local", "m", 1.0, (take,)),), (), (), 0.0, "USD", 0.0, "now"
    )
    html = render_html(dataclasses.replace(data, selection={sid: 1}), tmp_path)
    islands = re.findall(r'<script type="application/json" id="(\w+)-data">(.*?)</script>', html)
    assert dict((k, json.loads(v)) for k, v in islands) == {
        "selection": {"version": 1, "takes": {sid: 1}},
        "review": {sid: 1},
    }
