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
