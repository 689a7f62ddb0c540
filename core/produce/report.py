"""The produce report: one static HTML file, no server, no external assets.

Previews (animated WebP/GIF) and stills are embedded as data URIs, styles are
inline, and the one small script only marks the page once every image has
decoded (so a headless browser test can tell that the previews rendered).
"""

from __future__ import annotations

import base64
import html
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shotline.core.media.runner import atomic_output


@dataclass(frozen=True)
class ReportTake:
    take: int
    path: str
    preview: str | None  # animated preview file (webp/gif) or None
    passed: bool
    chosen: bool
    reason: str
    score: float | None = None
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    seed: int | None = None
    cost: float | None = None
    adherence: dict[str, Any] | None = None  # a vision-language model's prompt-adherence verdict


@dataclass(frozen=True)
class ReportShot:
    shot_id: str
    prompt: str
    provider: str
    model: str
    duration: float
    takes: tuple[ReportTake, ...]
    negative_prompt: str | None = None
    camera: str | None = None
    cost: float | None = None


@dataclass(frozen=True)
class StripItem:
    """One clip on the timeline strip, with the transition that leads into it."""

    shot_id: str
    start: float
    duration: float
    transition_in: str | None = None
    transition_seconds: float = 0.0


@dataclass(frozen=True)
class Deliverable:
    kind: str
    path: str
    size_bytes: int
    duration: float | None
    sha256: str | None = None


@dataclass(frozen=True)
class ReportData:
    title: str
    shots: tuple[ReportShot, ...]
    strip: tuple[StripItem, ...]
    deliverables: tuple[Deliverable, ...]
    total_cost: float
    cost_unit: str
    elapsed_seconds: float
    created: str
    notes: tuple[str, ...] = ()
    costs: dict[str, float] | None = None  # per unit; shown instead of total_cost/cost_unit when given


CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#111;color:#eee}
header{padding:20px 28px;background:#1c1c1c;border-bottom:1px solid #333}
h1{margin:0 0 4px;font-size:22px} h2{font-size:17px;margin:28px 28px 10px}
.sum{color:#aaa} main{padding-bottom:40px}
.shot{margin:14px 28px;padding:14px;background:#1b1b1b;border:1px solid #2c2c2c;border-radius:8px}
.shot h3{margin:0 0 6px;font-size:15px} .prompt{color:#cfcfcf;white-space:pre-wrap;margin:4px 0 8px}
.meta{color:#999;font-size:12px} .takes{display:flex;flex-wrap:wrap;gap:12px;margin-top:10px}
.take{width:250px;background:#151515;border:2px solid #333;border-radius:6px;padding:6px}
.take.chosen{border-color:#3fb950} .take.rejected{border-color:#a33}
.take img{width:100%;display:block;border-radius:3px;background:#000;min-height:40px}
.take .why{font-size:12px;margin:4px 0} .take table{font-size:11px;color:#aaa;border-collapse:collapse;width:100%}
.take td{padding:0 4px 0 0}
.strip{display:flex;margin:0 28px;height:46px;border:1px solid #333;border-radius:4px;overflow:hidden}
.clip{position:relative;background:#2d4f7c;border-right:1px solid #111;color:#fff;font-size:11px;
 padding:4px;box-sizing:border-box;overflow:hidden;white-space:nowrap}
.clip:nth-child(even){background:#3c6a9e}
.tr{position:absolute;left:0;top:0;bottom:0;background:repeating-linear-gradient(45deg,#e3b341 0 4px,#b8860b 4px 8px);
 opacity:.85} .tr span{position:absolute;bottom:2px;left:2px;color:#000;font-size:10px}
.notes{margin:0 28px;color:#bbb} .notes summary{cursor:pointer}
table.del{margin:0 28px;border-collapse:collapse} table.del td,table.del th{border-bottom:1px solid #333;
 padding:5px 12px 5px 0;text-align:left}
"""

SCRIPT = """
(function(){var imgs=[].slice.call(document.images);var n=0;function done(){n++;if(n>=imgs.length){
var ok=imgs.filter(function(i){return i.naturalWidth>0}).length;document.body.setAttribute('data-images-ok',ok);
document.body.setAttribute('data-images-total',imgs.length);}}
if(!imgs.length){done();}imgs.forEach(function(i){if(i.complete){done();}else{i.onload=done;i.onerror=done;}});})();
"""


def data_uri(path: str | Path) -> str:
    p = Path(path)
    mime = mimetypes.guess_type(p.name)[0] or (
        "image/webp" if p.suffix == ".webp" else "application/octet-stream"
    )
    return f"data:{mime};base64," + base64.b64encode(p.read_bytes()).decode("ascii")


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _fmt_cost(v: float | None, unit: str) -> str:
    return "n/a" if v is None else f"{v:g} {unit}"


def _total(data: ReportData) -> str:
    if data.costs is not None:
        return " + ".join(f"{v:g} {u}" for u, v in data.costs.items()) or "0"
    return _fmt_cost(data.total_cost, data.cost_unit)


def _take_html(t: ReportTake, unit: str) -> str:
    cls = "chosen" if t.chosen else ("rejected" if not t.passed else "")
    img = (
        f'<img alt="take {t.take} preview" src="{data_uri(t.preview)}">'
        if t.preview and Path(t.preview).exists()
        else '<div class="meta">no preview</div>'
    )
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td>{_e(round(v, 3) if isinstance(v, float) else v)}</td></tr>"
        for k, v in t.metrics.items()
    )
    score = "" if t.score is None else f" · score {t.score:.2f}"
    seed = "" if t.seed is None else f" · seed {t.seed}"
    return (
        f'<div class="take {cls}" data-take="{t.take}">{img}<div class="why"><b>take {t.take}</b>'
        f"{score}{seed} · {_e(_fmt_cost(t.cost, unit))}<br>{_e(t.reason)}</div>{_adherence_html(t.adherence)}"
        f"<table>{rows}</table></div>"
    )


def _adherence_html(a: dict[str, Any] | None) -> str:
    """The review model's verdict, labelled as one signal among the metrics (never the only one)."""
    if not a:
        return ""
    seen = ", ".join(a.get("seen") or []) or "none"
    missing = ", ".join(a.get("missing") or []) or "none"
    return (
        f'<div class="why adherence"><b>prompt adherence {float(a["score"]):.2f}</b> '
        f"(vision-language model {_e(a.get('model', ''))}, one signal among the metrics)<br>"
        f"seen: {_e(seen)} · missing: {_e(missing)}<br>{_e(a.get('reason', ''))}</div>"
    )


def render_html(data: ReportData) -> str:
    total = sum(s.duration for s in data.strip) or 1.0
    shots = []
    for s in data.shots:
        neg = f'<div class="meta">negative: {_e(s.negative_prompt)}</div>' if s.negative_prompt else ""
        cam = f" · camera {_e(s.camera)}" if s.camera else ""
        takes = "".join(_take_html(t, data.cost_unit) for t in s.takes)
        shots.append(
            f'<section class="shot" id="shot-{_e(s.shot_id)}" data-shot="{_e(s.shot_id)}"><h3>{_e(s.shot_id)}</h3>'
            f'<div class="prompt">{_e(s.prompt)}</div>{neg}<div class="meta">{_e(s.provider)} / {_e(s.model)}'
            f" · {s.duration:g} s{cam} · {_e(_fmt_cost(s.cost, data.cost_unit))}</div>"
            f'<div class="takes">{takes}</div></section>'
        )
    strip = []
    for c in data.strip:
        tr = ""
        if c.transition_in and c.transition_seconds > 0:
            w = min(100.0, 100.0 * c.transition_seconds / c.duration)
            tr = f'<div class="tr" style="width:{w:.2f}%"><span>{_e(c.transition_in)}</span></div>'
        strip.append(
            f'<div class="clip" data-clip="{_e(c.shot_id)}" style="width:{100 * c.duration / total:.3f}%"'
            f' title="{_e(c.shot_id)} {c.start:.2f}s +{c.duration:.2f}s">{tr}{_e(c.shot_id)}</div>'
        )
    dels = "".join(
        f"<tr><td>{_e(d.kind)}</td><td>{_e(Path(d.path).name)}</td><td>{d.size_bytes / 1e6:.2f} MB</td>"
        f"<td>{'' if d.duration is None else f'{d.duration:.2f} s'}</td><td><code>{_e((d.sha256 or '')[:12])}</code></td></tr>"
        for d in data.deliverables
    )
    notes = "".join(f"<li>{_e(n)}</li>" for n in data.notes)
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{_e(data.title)} · shotline report</title><style>{CSS}</style></head><body>"
        f"<header><h1>{_e(data.title)}</h1><div class=sum>{len(data.shots)} shots · total cost "
        f"{_e(_total(data))} · {data.elapsed_seconds:.1f} s · {_e(data.created)}</div>"
        "</header><main>"
        f"<h2>Shots</h2>{''.join(shots)}<h2>Timeline</h2><div class=strip>{''.join(strip)}</div>"
        f"<h2>Deliverables</h2><table class=del><tr><th>kind</th><th>file</th><th>size</th><th>duration</th>"
        f"<th>sha256</th></tr>{dels}</table>"
        + (
            f"<h2>Notes</h2><details class=notes><summary>{len(data.notes)} note(s): what a format could not "
            f"carry, what was substituted</summary><ul>{notes}</ul></details>"
            if notes
            else ""
        )
        + f"</main><script>{SCRIPT}</script></body></html>"
    )


def write_report(data: ReportData, output: str | Path, *, overwrite: bool = True) -> Path:
    """Write the report atomically; returns its path."""
    out = Path(output)
    with atomic_output(out, overwrite=overwrite) as tmp:
        tmp.write_text(render_html(data), encoding="utf-8")
    return out
