"""The produce report: an editor's page in the output folder, no server, no network.

``report.html`` sits in the output folder and links every file by a relative path, so
the folder can be moved or zipped and the page still plays: a player for the master,
each platform cut and every take, the GIF preview and the contact sheet shown, every
deliverable linked. Per shot the takes stand side by side with their metrics (unit and
limit, the deciding one highlighted) and the reason in words; a "use this take" button
writes the editor's choice into a small ``selection.json`` that ``produce`` reads on its
next run. Styles are inline; the one script only keeps that selection.
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from shotline.core.media.runner import atomic_output

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".webm")


@dataclass(frozen=True)
class MetricRow:
    """One metric of a take as the editor reads it."""

    key: str
    label: str
    value: str  # with its unit, e.g. "0.29 s"
    limit: str  # e.g. "limit 0.50 s", "higher is better"
    decides: bool = False  # the metric that decided this take's fate
    failed: bool = False


@dataclass(frozen=True)
class ReportTake:
    take: int
    path: str  # the take's video file
    preview: str | None  # animated preview file (webp/gif) or None: the player's poster
    passed: bool
    chosen: bool  # in the edit: review's pick or the editor's
    reason: str  # why, in words
    score: float | None = None
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    seed: int | None = None
    cost: float | None = None
    rows: tuple[MetricRow, ...] = ()
    review_pick: bool = False  # review's own choice, whatever the editor did
    editor_pick: bool = False  # chosen in selection.json
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
    transition_before: float | None = None  # seconds of it before the cut (None: half)
    transition_out: str | None = None  # a transition after the clip with nothing after it (fade out)
    transition_out_seconds: float = 0.0


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
    budget: float | None = None
    command: str = ""  # the produce command line that re-runs this folder
    selection: dict[str, int] = field(default_factory=dict)  # shot id -> take, from selection.json
    extra_files: tuple[str, ...] = ()  # more files to link (manifest, review, ledger)


CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#111;color:#eee}
a{color:#7cb7ff} code{font-size:12px}
header{padding:18px 28px;background:#1c1c1c;border-bottom:1px solid #333}
h1{margin:0 0 4px;font-size:22px} h2{font-size:17px;margin:26px 28px 10px}
.sum{color:#bbb} .sum b{color:#fff} main{padding-bottom:40px}
.watch{display:flex;flex-wrap:wrap;gap:14px;margin:0 28px;align-items:flex-start}
.watch figure{margin:0;background:#1b1b1b;border:1px solid #2c2c2c;border-radius:6px;padding:6px}
.watch figcaption{font-size:12px;color:#bbb;margin-top:4px}
.watch video,.watch img{display:block;max-height:240px;max-width:100%;background:#000;border-radius:3px}
.watch .master video{width:426px;max-height:none}
.watch .preview img{width:300px} .watch .contact_sheet img{width:426px}
.shot{margin:14px 28px;padding:14px;background:#1b1b1b;border:1px solid #2c2c2c;border-radius:8px}
.shot h3{margin:0 0 6px;font-size:15px} .prompt{color:#cfcfcf;white-space:pre-wrap;margin:4px 0 8px}
.meta{color:#9a9a9a;font-size:12px}
.takes{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:12px;margin-top:10px}
.take{background:#151515;border:2px solid #333;border-radius:6px;padding:6px}
.take.chosen{border-color:#3fb950} .take.rejected{border-color:#a33} .take.picked{border-color:#e3b341}
.take video{width:100%;display:block;border-radius:3px;background:#000;aspect-ratio:16/9}
.badge{display:inline-block;font-size:11px;padding:1px 6px;border-radius:9px;margin-right:4px;background:#333}
.badge.in{background:#1f6f34} .badge.out{background:#7a2323} .badge.ed{background:#8a6a12}
.why{font-size:13px;margin:6px 0}
.take table{font-size:12px;color:#bbb;border-collapse:collapse;width:100%}
.take td{padding:1px 6px 1px 0;border-bottom:1px solid #222} .take td.v{color:#eee;text-align:right}
.take td.l{color:#888}
.take tr.decides td{background:#3a3212;color:#ffd86b;font-weight:600}
.take tr.failed td.v{color:#ff7b72}
.take .foot{display:flex;justify-content:space-between;align-items:center;margin-top:6px;font-size:12px}
button.use{background:#2b5a8a;color:#fff;border:0;border-radius:4px;padding:4px 10px;cursor:pointer}
button.use[disabled]{background:#333;color:#999;cursor:default}
.strip{position:relative;margin:0 28px;height:62px}
.lane{position:absolute;left:0;right:0}
.lane.clips{top:0;height:32px} .lane.trs{top:36px;height:22px}
.clip{position:absolute;top:0;height:32px;background:#2d4f7c;border-right:1px solid #111;border-radius:3px;
 color:#fff;font-size:12px;line-height:32px;padding:0 5px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis}
.clip.odd{background:#3c6a9e}
.tr{position:absolute;top:0;height:22px;border-radius:3px;
 background:repeating-linear-gradient(45deg,#e3b341 0 4px,#c99a1e 4px 8px)}
.trl{position:absolute;top:0;height:22px;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;
 color:#e3b341;font-size:11px;line-height:22px;padding:0 4px}
.ruler{margin:2px 28px 0;color:#888;font-size:11px;display:flex;justify-content:space-between}
.panel{margin:0 28px;padding:10px 14px;background:#1b1b1b;border:1px solid #2c2c2c;border-radius:8px}
.panel pre{background:#0c0c0c;padding:8px;border-radius:4px;margin:6px 0;white-space:pre-wrap}
.notes{margin:0 28px;color:#bbb} .notes summary{cursor:pointer}
table.del{margin:0 28px;border-collapse:collapse} table.del td,table.del th{border-bottom:1px solid #333;
 padding:5px 14px 5px 0;text-align:left}
"""

SCRIPT = """
(function(){
var sel=JSON.parse(document.getElementById('selection-data').textContent);
var saved=JSON.parse(JSON.stringify(sel.takes));
var review=JSON.parse(document.getElementById('review-data').textContent);
var pre=document.getElementById('selection-json'),cmd=document.getElementById('selection-cmd');
var dl=document.getElementById('selection-download'),base=cmd.getAttribute('data-base');
function inEdit(s){return s in sel.takes?sel.takes[s]:review[s];}
function render(){
 var text=JSON.stringify(sel,null,2);pre.textContent=text;
 dl.href='data:application/json;charset=utf-8,'+encodeURIComponent(text+'\\n');
 var uses=[];Object.keys(sel.takes).forEach(function(s){uses.push('--use '+s+'='+sel.takes[s]);});
 Object.keys(saved).forEach(function(s){if(!(s in sel.takes))uses.push('--use '+s+'=auto');});
 cmd.textContent=base+(uses.length?' '+uses.join(' '):'');
 [].forEach.call(document.querySelectorAll('.take[data-shot]'),function(el){
  var s=el.getAttribute('data-shot'),t=+el.getAttribute('data-take');
  el.classList.toggle('picked',s in sel.takes&&sel.takes[s]===t);
  var b=el.querySelector('button.use');if(!b)return;var on=inEdit(s)===t;b.disabled=on;
  b.textContent=on?'in the edit':'use this take';});
}
[].forEach.call(document.querySelectorAll('button.use'),function(b){b.addEventListener('click',function(){
 var s=b.getAttribute('data-shot'),t=+b.getAttribute('data-take');
 if(review[s]===t){delete sel.takes[s];}else{sel.takes[s]=t;}render();});});
render();
})();
"""


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def href(path: str | Path, base: Path) -> str:
    """A URL for ``path`` relative to the folder ``base``, percent-encoded, forward slashes."""
    p = Path(path)
    if not p.is_absolute():
        p = Path.cwd() / p
    rel = os.path.relpath(p, base.resolve() if base.is_absolute() else Path.cwd() / base)
    return quote(rel.replace(os.sep, "/"))


def _fmt_cost(v: float | None, unit: str) -> str:
    return "n/a" if v is None else f"{v:g} {unit}"


def _units(data: ReportData) -> str:
    if data.costs:
        return next(iter(data.costs)) if len(data.costs) == 1 else ""
    return data.cost_unit


def _total(data: ReportData) -> str:
    if data.costs is not None:
        return " + ".join(f"{v:g} {u}" for u, v in data.costs.items()) or f"0 {data.cost_unit or 'credits'}"
    return _fmt_cost(data.total_cost, data.cost_unit)


def _budget(data: ReportData) -> str:
    if data.budget is None:
        return "no budget set (--budget)"
    unit = _units(data)
    return f"budget {data.budget:g}{' ' + unit if unit else ''}"


def _take_html(s: ReportShot, t: ReportTake, unit: str, base: Path) -> str:
    cls = "chosen" if t.chosen else ("rejected" if not t.passed else "")
    poster = f' poster="{href(t.preview, base)}"' if t.preview and Path(t.preview).exists() else ""
    player = (
        f'<video controls preload="metadata" src="{href(t.path, base)}"{poster}></video>'
        if Path(t.path).suffix.lower() in VIDEO_SUFFIXES
        else f'<img alt="take {t.take}" src="{href(t.path, base)}">'
    )
    badges = []
    if t.chosen:
        badges.append('<span class="badge in">in the edit</span>')
    if t.editor_pick:
        badges.append('<span class="badge ed">editor\'s pick</span>')
    elif t.review_pick and not t.chosen:
        badges.append("<span class=badge>review's pick</span>")
    if not t.passed:
        badges.append('<span class="badge out">rejected</span>')
    rows = "".join(
        f'<tr class="{"decides" if r.decides else ""}{" failed" if r.failed else ""}" data-metric="{_e(r.key)}">'
        f"<td>{_e(r.label)}{' ◀' if r.decides else ''}</td><td class=v>{_e(r.value)}</td>"
        f"<td class=l>{_e(r.limit)}</td></tr>"
        for r in t.rows
    )
    score = "" if t.score is None else f"score {t.score:.2f}"
    seed = "" if t.seed is None else f" · seed {t.seed}"
    cost = f" · {_fmt_cost(t.cost, unit)}"
    return (
        f'<div class="take {cls}" data-shot="{_e(s.shot_id)}" data-take="{t.take}">{player}'
        f'<div class="why"><b>take {t.take}</b> {"".join(badges)}<br>{_e(t.reason)}</div>'
        f"{_adherence_html(t.adherence)}<table>{rows}</table>"
        f'<div class="foot"><span class=meta>{score}{seed}{_e(cost)} · '
        f'<a href="{href(t.path, base)}">{_e(Path(t.path).name)}</a></span>'
        f'<button class="use" type="button" data-shot="{_e(s.shot_id)}" data-take="{t.take}">'
        "use this take</button></div></div>"
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


def _strip_html(items: tuple[StripItem, ...]) -> str:
    if not items:
        return '<div class="meta" style="margin:0 28px">no timeline yet</div>'
    total = max(c.start + c.duration for c in items) or 1.0
    clips, trs = [], []
    tmarks: list[tuple[float, float, str, str]] = []  # left %, width %, name, hover text
    for i, c in enumerate(items):
        left, width = 100 * c.start / total, 100 * c.duration / total
        tip = f"{c.shot_id}: {c.start:.2f} s to {c.start + c.duration:.2f} s ({c.duration:.2f} s)"
        clips.append(
            f'<div class="clip{" odd" if i % 2 else ""}" data-clip="{_e(c.shot_id)}" title="{_e(tip)}" '
            f'style="left:{left:.3f}%;width:{width:.3f}%">{_e(c.shot_id)}</div>'
        )
        marks = []
        if c.transition_in and c.transition_seconds > 0:
            before = c.transition_seconds / 2 if c.transition_before is None else c.transition_before
            tip = f"{c.transition_in}, {c.transition_seconds:.2f} s, into {c.shot_id}"
            marks.append((c.transition_in, c.start - before, c.transition_seconds, tip))
        if c.transition_out and c.transition_out_seconds > 0:
            tip = f"{c.transition_out}, {c.transition_out_seconds:.2f} s, out of {c.shot_id}"
            end = c.start + c.duration
            marks.append((c.transition_out, end - c.transition_out_seconds, c.transition_out_seconds, tip))
        for name, at, seconds, tip in marks:
            w = 100 * seconds / total
            tmarks.append((min(max(0.0, 100 * at / total), 100.0 - w), w, name, tip))
    # each transition: a hatched mark spanning its time, and its name in the room after the mark
    # up to the next one (the last, with no room after it, takes the back half of the room before);
    # where there is no room for a word, the mark's hover text names it
    tmarks.sort()
    starts = [m[0] + m[1] for m in tmarks]  # the room for each name: from its mark's end ...
    ends = [nxt[0] for nxt in tmarks[1:]] + [100.0]  # ... to the next mark
    aligns = ["left"] * len(tmarks)
    for i in range(1, len(tmarks)):
        if ends[i] - starts[i] < 3.0:
            mid = (starts[i - 1] + ends[i - 1]) / 2
            ends[i - 1], starts[i], ends[i], aligns[i] = mid, mid, tmarks[i][0], "right"
    rooms = list(zip(starts, ends, aligns))
    for (left, width, name, tip), (r0, r1, align) in zip(tmarks, rooms):
        trs.append(
            f'<div class="tr" data-transition="{_e(name)}" title="{_e(tip)}" '
            f'style="left:{left:.3f}%;width:{width:.3f}%"></div>'
        )
        if r1 - r0 >= 4.0:  # room for a word; a tighter one is named by its hover text only
            trs.append(
                f'<div class="trl" data-transition="{_e(name)}" title="{_e(tip)}" '
                f'style="left:{r0:.3f}%;width:{r1 - r0:.3f}%;text-align:{align}">{_e(name)}</div>'
            )
    return (
        f'<div class="strip"><div class="lane clips">{"".join(clips)}</div>'
        f'<div class="lane trs">{"".join(trs)}</div></div>'
        f"<div class=ruler><span>0 s</span><span>{total / 2:.1f} s</span><span>{total:.1f} s</span></div>"
    )


def _watch_html(data: ReportData, base: Path) -> str:
    figs = []
    for d in data.deliverables:
        p = Path(d.path)
        if not p.exists():
            continue
        dur = "" if d.duration is None else f" · {d.duration:.2f} s"
        link = f'<a href="{href(p, base)}">{_e(p.name)}</a>'
        if d.kind in ("master", "upscaled") or d.kind.startswith("cut:"):
            name = d.kind.partition(":")[2] or d.kind
            # open a little way in: an edit starts from black, and a black box says nothing
            at = f"#t={min(2.0, d.duration / 3):.1f}" if d.duration else ""
            figs.append(
                f'<figure class="{_e(d.kind.partition(":")[0])}"><video controls preload="metadata" '
                f'src="{href(p, base)}{at}"></video><figcaption>{_e(name)}{dur} · {link}</figcaption></figure>'
            )
        elif d.kind in ("preview", "contact_sheet"):
            name = "preview" if d.kind == "preview" else "contact sheet"
            figs.append(
                f'<figure class="{_e(d.kind)}"><a href="{href(p, base)}"><img alt="{name}" '
                f'src="{href(p, base)}"></a><figcaption>{name} · {link}</figcaption></figure>'
            )
    return f'<div class="watch">{"".join(figs)}</div>' if figs else ""


def render_html(data: ReportData, base: Path | None = None) -> str:
    """The page; links are relative to ``base``, the folder the page will be written to."""
    base = base or Path.cwd()
    unit = _units(data) or data.cost_unit or "credits"
    shots = []
    for s in data.shots:
        neg = f'<div class="meta">negative: {_e(s.negative_prompt)}</div>' if s.negative_prompt else ""
        cam = f" · camera {_e(s.camera)}" if s.camera else ""
        takes = "".join(_take_html(s, t, unit, base) for t in s.takes) or '<div class="meta">no take</div>'
        shots.append(
            f'<section class="shot" id="shot-{_e(s.shot_id)}" data-shot="{_e(s.shot_id)}"><h3>{_e(s.shot_id)}</h3>'
            f'<div class="prompt">{_e(s.prompt)}</div>{neg}<div class="meta">{_e(s.provider)} / {_e(s.model)}'
            f" · {s.duration:g} s{cam} · {len(s.takes)} take(s) · {_e(_fmt_cost(s.cost, unit))}</div>"
            f'<div class="takes">{takes}</div></section>'
        )
    dels = "".join(
        f'<tr><td>{_e(d.kind)}</td><td><a href="{href(d.path, base)}">{_e(Path(d.path).name)}</a></td>'
        f"<td>{d.size_bytes / 1e6:.2f} MB</td>"
        f"<td>{'' if d.duration is None else f'{d.duration:.2f} s'}</td><td><code>{_e((d.sha256 or '')[:12])}</code></td></tr>"
        for d in data.deliverables
    )
    extra = " · ".join(
        f'<a href="{href(f, base)}">{_e(Path(f).name)}</a>' for f in data.extra_files if Path(f).exists()
    )
    notes = "".join(f"<li>{_e(n)}</li>" for n in data.notes)
    runtime = max((c.start + c.duration for c in data.strip), default=0.0)
    review = {s.shot_id: next((t.take for t in s.takes if t.review_pick), None) for s in data.shots}
    selection = {"version": 1, "takes": dict(data.selection)}
    # no "<" in the JSON islands, so no "</script>" or "<!--" can end or bend them
    sel_json = json.dumps(selection, ensure_ascii=False).replace("<", "\\u003c")
    rev_json = json.dumps(review, ensure_ascii=False).replace("<", "\\u003c")
    command = data.command or "shotline produce STORYBOARD -o OUTDIR"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{_e(data.title)} · shotline report</title><style>{CSS}</style></head><body>"
        f"<header><h1>{_e(data.title)}</h1><div class=sum>{len(data.shots)} shots · {runtime:.1f} s · "
        f"cost <b>{_e(_total(data))}</b> · {_e(_budget(data))} · made in {data.elapsed_seconds:.1f} s · "
        f"{_e(data.created)}</div></header><main>"
        f"<h2>Watch</h2>{_watch_html(data, base)}"
        f"<h2>Timeline</h2>{_strip_html(data.strip)}"
        f"<h2>Shots</h2>{''.join(shots)}"
        '<h2>Your selection</h2><div class="panel" id="selection">'
        '<div class="meta">"use this take" puts a take in the edit. Save the selection below as '
        "<b>selection.json</b> in this folder (beside report.html) and run produce again, or run the "
        "command; only the timeline, the render and the exports are redone.</div>"
        f'<pre id="selection-json">{_e(json.dumps(selection, indent=2))}</pre>'
        f'<pre><code id="selection-cmd" data-base="{_e(command)}">{_e(command)}</code></pre>'
        '<a id="selection-download" download="selection.json" href="data:application/json,">'
        "download selection.json</a></div>"
        f"<h2>Deliverables</h2><table class=del><tr><th>kind</th><th>file</th><th>size</th><th>duration</th>"
        f"<th>sha256</th></tr>{dels}</table>"
        + (f'<p class="meta" style="margin:8px 28px">also: {extra}</p>' if extra else "")
        + (
            f"<h2>Notes</h2><details class=notes><summary>{len(data.notes)} note(s): what a format could not "
            f"carry, what was substituted</summary><ul>{notes}</ul></details>"
            if notes
            else ""
        )
        + f'</main><script type="application/json" id="selection-data">{sel_json}</script>'
        f'<script type="application/json" id="review-data">{rev_json}</script>'
        f"<script>{SCRIPT}</script></body></html>"
    )


def write_report(data: ReportData, output: str | Path, *, overwrite: bool = True) -> Path:
    """Write the report atomically; its links are relative to its folder. Returns its path."""
    out = Path(output)
    with atomic_output(out, overwrite=overwrite) as tmp:
        tmp.write_text(render_html(data, out.parent), encoding="utf-8")
    return out
