"""Headless Chromium for tests: found, or installed from Debian's packages when missing.

Installation runs once per machine under a file lock (pytest-xdist workers share
it). Where it cannot be installed (not root, no apt-get, no network), callers skip
with the reason this module returns.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--mute-audio",
]


def _which() -> str | None:
    for n in NAMES:
        found = shutil.which(n)
        if found:
            return found
    return None


def find_or_install_chromium() -> tuple[str | None, str]:
    """(path, "") when available, else (None, why it could not be had)."""
    found = _which()
    if found:
        return found, ""
    if not shutil.which("apt-get"):
        return None, "chromium is not installed and apt-get is not available to install it"
    if os.geteuid() != 0:
        return None, "chromium is not installed and installing it needs root (apt-get install chromium)"
    lock = Path(tempfile.gettempdir()) / "shotline-chromium-install.lock"
    with open(lock, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        found = _which()
        if found:
            return found, ""
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=600)
        r = subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
        )
        found = _which()
        if found:
            return found, ""
        return None, f"apt-get install chromium failed: {r.stderr.strip()[-300:]}"


def headless(browser: str, url: str, *extra: str, timeout: float = 60) -> str:
    with tempfile.TemporaryDirectory(prefix="shotline-chromium-") as profile:
        r = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={profile}", *extra, url],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    if r.returncode != 0:
        raise RuntimeError(f"chromium failed ({r.returncode}): {r.stderr[-1000:]}")
    return r.stdout


# Injected into a copy of a page (beside it, so relative links resolve the same): waits until
# every video has its metadata or an error and every image has loaded or failed, optionally
# clicks elements first, then writes what it measured as JSON into <pre id="harness">.
HARNESS = """
(function(){
var clicks=%(clicks)s;
clicks.forEach(function(sel){var el=document.querySelector(sel);if(el){el.click();}else{window.__missing=(window.__missing||[]).concat([sel]);}});
function box(r){return [r.left,r.top,r.right,r.bottom];}
function measure(){
 var out={missing:window.__missing||[],videos:[],images:[],links:[],labels:[],transitions:[],texts:{}};
 [].forEach.call(document.querySelectorAll('video'),function(v){out.videos.push({src:v.getAttribute('src'),
  url:v.currentSrc,ready:v.readyState,error:v.error?v.error.code:null,width:v.videoWidth,duration:v.duration});});
 [].forEach.call(document.querySelectorAll('img'),function(i){out.images.push({src:i.getAttribute('src'),
  width:i.naturalWidth});});
 [].forEach.call(document.querySelectorAll('a[href]'),function(a){out.links.push({href:a.getAttribute('href'),
  download:a.hasAttribute('download')});});
 var strip=document.querySelector('.strip');if(strip){strip.scrollIntoView({block:'center'});}
 [].forEach.call(document.querySelectorAll('.strip .clip, .strip .trl'),function(c){
  var range=document.createRange();range.selectNodeContents(c);
  var r=c.getBoundingClientRect(),st=getComputedStyle(c),tb=range.getBoundingClientRect();
  var cb={left:r.left+parseFloat(st.paddingLeft),right:r.right-parseFloat(st.paddingRight),top:r.top,bottom:r.bottom};
  var vis=[Math.max(cb.left,tb.left),Math.max(cb.top,tb.top),Math.min(cb.right,tb.right),Math.min(cb.bottom,tb.bottom)];
  var hits=[0.1,0.5,0.9].map(function(f){var x=vis[0]+f*(vis[2]-vis[0]),y=(vis[1]+vis[3])/2;
   var el=document.elementFromPoint(x,y);return !!el&&(el===c||c.contains(el));});
  out.labels.push({kind:c.classList.contains('clip')?'clip':'transition',
   name:c.getAttribute('data-clip')||c.getAttribute('data-transition'),text:c.textContent,title:c.getAttribute('title')||'',
   clip:box(cb),text_box:box(tb),visible:vis,overflows:c.scrollWidth>c.clientWidth,hits:hits});});
 [].forEach.call(document.querySelectorAll('.strip .tr'),function(t){
  out.transitions.push({name:t.getAttribute('data-transition'),title:t.getAttribute('title')||'',box:box(t.getBoundingClientRect())});});
 %(texts)s.forEach(function(sel){var el=document.querySelector(sel);out.texts[sel]=el?(el.getAttribute('href')||el.textContent):null;});
 var pre=document.createElement('pre');pre.id='harness';pre.textContent=JSON.stringify(out);document.body.appendChild(pre);
}
var waits=[];
[].forEach.call(document.querySelectorAll('video'),function(v){if(v.readyState<1&&!v.error){waits.push(new Promise(function(ok){
 v.addEventListener('loadedmetadata',ok);v.addEventListener('error',ok);}));}});
[].forEach.call(document.images,function(i){if(!i.complete){waits.push(new Promise(function(ok){
 i.addEventListener('load',ok);i.addEventListener('error',ok);}));}});
Promise.all(waits).then(function(){setTimeout(measure,50);});
})();
"""


def inspect_page(
    browser: str,
    page: Path,
    *,
    clicks: tuple[str, ...] = (),
    texts: tuple[str, ...] = (),
    window: str = "1280,900",
) -> dict:
    """Open ``page`` in headless Chromium with the harness; returns what the harness measured.

    ``clicks``: CSS selectors clicked (in order) before measuring; ``texts``: selectors whose
    href (or text) is returned under ``texts``.
    """
    import json
    import re

    script = HARNESS % {"clicks": json.dumps(list(clicks)), "texts": json.dumps(list(texts))}
    probe = page.with_name(f".harness-{page.name}")
    text = page.read_text(encoding="utf-8")
    probe.write_text(text.replace("</body>", f"<script>{script}</script></body>"), encoding="utf-8")
    try:
        dom = headless(
            browser, probe.as_uri(), "--virtual-time-budget=30000", f"--window-size={window}", "--dump-dom"
        )
    finally:
        probe.unlink()
    m = re.search(r'<pre id="harness">(.*?)</pre>', dom, re.S)
    if m is None:
        raise AssertionError("the page never finished loading its media (no harness output)")
    import html

    return dict(json.loads(html.unescape(m.group(1))))


def boxes_overlap(a: list[float], b: list[float], tolerance: float = 0.5) -> bool:
    """Whether two [left, top, right, bottom] boxes share more than ``tolerance`` px each way."""
    return min(a[2], b[2]) - max(a[0], b[0]) > tolerance and min(a[3], b[3]) - max(a[1], b[1]) > tolerance
