"""The static HTML report, opened in headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from shotline.core.produce.report import (
    Deliverable,
    ReportData,
    ReportShot,
    ReportTake,
    StripItem,
    render_html,
    write_report,
)
from tests.browser import find_or_install_chromium, headless
from tests.mediakit import ffmpeg


def _preview(root: Path, name: str, src: str) -> Path:
    p = root / f"{name}.webp"
    ffmpeg("-f", "lavfi", "-i", f"{src}=s=160x90:r=8:d=1", "-c:v", "libwebp_anim", "-loop", "0", str(p))
    return p


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    p1, p2, p3 = (
        _preview(root, n, s) for n, s in [("a1", "testsrc2"), ("a2", "smptebars"), ("b1", "rgbtestsrc")]
    )
    shots = (
        ReportShot(
            "s01-opening",
            'A lighthouse at dusk, "storm" <coming>',
            "local",
            "animatic",
            2.0,
            (
                ReportTake(
                    1, "a1.mp4", str(p1), True, True, "chosen: best score", 5.1, {"sharpness": 345.2}, 11, 0.0
                ),
                ReportTake(
                    2, "a2.mp4", str(p2), False, False, "rejected: black for 1.00 s", 2.0, {"black": 1.0}, 12
                ),
            ),
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
            (ReportTake(1, "b1.mp4", str(p3), True, True, "chosen: only passing take", 4.0, {}, 7, 15.0),),
            cost=15.0,
        ),
    )
    data = ReportData(
        title="Lighthouse",
        shots=shots,
        strip=(StripItem("s01-opening", 0, 2.0), StripItem("s02-keeper", 1.5, 3.0, "dissolve", 0.5)),
        deliverables=(Deliverable("master", "/x/master.mp4", 1_500_000, 4.5, "ab" * 32),),
        total_cost=15.0,
        cost_unit="credits",
        elapsed_seconds=12.3,
        created="2026-11-22 19:00",
    )
    return write_report(data, root / "report.html")


def test_html_is_self_contained_and_escaped(report: Path):
    text = report.read_text(encoding="utf-8")
    assert "&quot;storm&quot; &lt;coming&gt;" in text
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)
    assert text.count("data:image/webp;base64,") == 3
    assert 'class="take chosen"' in text and 'class="take rejected"' in text


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path):
    browser, why = find_or_install_chromium()
    if browser is None:
        pytest.skip(why)
    dom = headless(browser, report.as_uri(), "--virtual-time-budget=3000", "--dump-dom")
    assert len(re.findall(r'<section class="shot"', dom)) == 2
    assert len(re.findall(r'class="take[^"]*" data-take=', dom)) == 3
    assert 'data-images-ok="3"' in dom and 'data-images-total="3"' in dom  # every preview decoded
    assert len(re.findall(r'class="clip"', dom)) == 2
    shot = tmp_path / "report.png"
    headless(
        browser,
        report.as_uri(),
        "--virtual-time-budget=3000",
        "--window-size=1200,900",
        f"--screenshot={shot}",
    )
    import av

    with av.open(str(shot)) as c:
        img = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert img.shape[:2] == (900, 1200)
    # The previews are colourful test patterns on a near-black page: the screenshot must show them.
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
    html = render_html(data)
    assert "no preview" in html and "0 USD" in html
