"""Install the Resolve script into Resolve's Scripts folder, and remove only what was installed.

Resolve lists the scripts it finds under ``Fusion/Scripts/<page>`` at start-up; under
``Utility`` a script shows in Workspace > Scripts on every page. The folders per OS
(for all users or one user) are Blackmagic's documented ones.

An install writes a small manifest (``shotline-install.json``) beside the page folders
with the SHA-256 of each file it wrote. ``uninstall`` deletes a file only when it is
still the one recorded there, so a file the user edited or replaced is left alone and
reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath

from shotline.core.errors import OutputExistsError, UsageError
from shotline.core.vocab import sha256_file

SCRIPT_SOURCE = Path(__file__).with_name("shotline_resolve.py")
INSTALLED_AS = PurePosixPath("Utility", "Shotline Import Job.py")
MANIFEST = "shotline-install.json"
_MAC_TAIL = ("Blackmagic Design", "DaVinci Resolve", "Fusion", "Scripts")


def scripts_dir(
    scope: str = "user",
    system: str | None = None,
    env: Mapping[str, str] | None = None,
    home: str | None = None,
) -> PurePath:
    """Resolve's ``Fusion/Scripts`` folder for ``scope`` ('user' or 'system') on ``system``.

    ``system`` is ``platform.system()`` by default ('Darwin', 'Windows', 'Linux'); ``env``
    and ``home`` default to this process's, and are parameters so every OS can be tested.
    """
    if scope not in ("user", "system"):
        raise UsageError(f"scope must be 'user' or 'system', not {scope!r}")
    system = system or platform.system()
    env = os.environ if env is None else env
    home = home if home is not None else env.get("HOME") or str(Path.home())
    if system == "Darwin":
        if scope == "system":
            return PurePosixPath("/Library/Application Support", *_MAC_TAIL)
        return PurePosixPath(home, "Library/Application Support", *_MAC_TAIL)
    if system == "Windows":
        if scope == "system":
            base = env.get("PROGRAMDATA") or r"C:\ProgramData"
            return PureWindowsPath(base, "Blackmagic Design", "DaVinci Resolve", "Fusion", "Scripts")
        appdata = env.get("APPDATA")
        if not appdata:
            raise UsageError("APPDATA is not set: cannot find the user's Resolve Scripts folder")
        # %APPDATA% already ends in Roaming (older READMEs print ...\Roaming\... twice)
        return PureWindowsPath(
            appdata, "Blackmagic Design", "DaVinci Resolve", "Support", "Fusion", "Scripts"
        )
    if system == "Linux":
        if scope == "system":
            # standard installs live in /opt/resolve; some ISO installs in /home/resolve
            if not Path("/opt/resolve").exists() and Path("/home/resolve").exists():
                return PurePosixPath("/home/resolve/Fusion/Scripts")
            return PurePosixPath("/opt/resolve/Fusion/Scripts")
        return PurePosixPath(home, ".local/share/DaVinciResolve/Fusion/Scripts")
    raise UsageError(f"DaVinci Resolve does not run on {system!r}; pass --dest to choose a folder")


@dataclass
class InstallResult:
    """What install or uninstall did: files written or removed, and files left alone (with why)."""

    scripts_dir: Path
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    dry_run: bool = False


def _read_manifest(root: Path) -> dict[str, str]:
    path = root / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        return {str(k): str(v) for k, v in files.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{path}: unreadable install manifest ({exc}); remove it by hand") from exc


def _write_manifest(root: Path, files: Mapping[str, str]) -> None:
    path = root / MANIFEST
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"installed_by": "shotline", "files": dict(files)}, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)


def install(root: Path, *, force: bool = False, dry_run: bool = False) -> InstallResult:
    """Copy the script to ``root/Utility``. Refuses to replace a file it did not install unless ``force``."""
    root = Path(root)
    target = root / INSTALLED_AS
    result = InstallResult(root, dry_run=dry_run)
    manifest = _read_manifest(root)
    rel = INSTALLED_AS.as_posix()
    if target.exists() and not force:
        ours = manifest.get(rel) == sha256_file(target)
        if not ours:
            raise OutputExistsError(
                f"{target}: exists and was not installed by shotline (or was edited); use --force to replace it"
            )
    result.written.append(target)
    if dry_run:
        return result
    target.parent.mkdir(parents=True, exist_ok=True)
    data = SCRIPT_SOURCE.read_bytes()
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    manifest[rel] = hashlib.sha256(data).hexdigest()
    _write_manifest(root, manifest)
    return result


def uninstall(root: Path, *, dry_run: bool = False) -> InstallResult:
    """Remove the files the manifest lists when they are unchanged; report the others."""
    root = Path(root)
    result = InstallResult(root, dry_run=dry_run)
    manifest = _read_manifest(root)
    if not manifest:
        result.kept.append(f"{root}: nothing installed by shotline here")
        return result
    remaining: dict[str, str] = {}
    for rel, digest in sorted(manifest.items()):
        path = root / rel
        if not path.exists():
            continue
        if sha256_file(path) != digest:
            result.kept.append(f"{path}: changed since shotline installed it; left in place")
            remaining[rel] = digest
            continue
        result.removed.append(path)
        if not dry_run:
            path.unlink()
    if not dry_run:
        if remaining:
            _write_manifest(root, remaining)
        else:
            (root / MANIFEST).unlink()
    return result


# -- the Python Resolve runs .py scripts with ------------------------------------------------------

# Resolve 21.1 and later ship their own interpreter (README 21.1 "built-in interpreter")
_BUNDLED = {
    "Darwin": "/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Applications/ResolvePython",
    "Windows": "Blackmagic Design/DaVinci Resolve/ResolvePython/ResolvePython.exe",  # under Program Files
    "Linux": "/opt/resolve/bin/ResolvePython",
}
NEEDS_PYTHON = (
    "Resolve up to 21.0 needs a 64-bit Python 3.6 or newer installed for all users, or it silently "
    "lists no .py scripts in Workspace > Scripts (Resolve 21.1 and later ship their own Python)"
)


@dataclass(frozen=True)
class PythonCheck:
    """Whether Resolve on this machine will find a Python for the script, and where."""

    ok: bool
    found: str | None
    message: str


def _version_from(name: str) -> tuple[int, int] | None:
    """(3, 11) from 'python311.dll', 'Python311', 'libpython3.11.so.1.0', 'python3.11'."""
    import re

    m = re.search(r"python(\d)\.?(\d{1,2})", name, re.IGNORECASE)
    return (int(m.group(1)), int(m.group(2))) if m else None


def _new_enough(version: tuple[int, int] | None) -> bool:
    return version is not None and version[0] == 3 and version[1] >= 6


def check_python(
    system: str | None = None, env: Mapping[str, str] | None = None, root: Path | None = None
) -> PythonCheck:
    """Look where Resolve looks for Python on ``system`` (paths under ``root``, '/' by default).

    macOS (up to 21.0): ``$PYTHON3HOME`` (set with ``launchctl setenv``) or ``/usr/local/bin/python3``.
    Windows: a 64-bit Python 3.6+ in Program Files (an all-users install). Linux: a
    ``libpython3.x`` shared library in the system library folders. Resolve 21.1+ needs
    none of these: its own ``ResolvePython`` is checked first.
    """
    system = system or platform.system()
    env = os.environ if env is None else env
    root = Path(root) if root is not None else Path("/")

    def at(posix: str) -> Path:
        return root / posix.lstrip("/")

    program_files = Path(env.get("PROGRAMFILES") or r"C:\Program Files")
    if system == "Windows":
        bundled = program_files.joinpath(*_BUNDLED["Windows"].split("/"))
    else:
        bundled = at(_BUNDLED.get(system, "/-"))
    if bundled.is_file():
        return PythonCheck(
            True, str(bundled), f"Resolve 21.1+ runs the script with its own Python ({bundled})"
        )
    if system == "Darwin":
        home = env.get("PYTHON3HOME")
        candidates = ([Path(home) / "bin" / "python3"] if home else []) + [at("/usr/local/bin/python3")]
        for c in candidates:
            if c.exists():
                return PythonCheck(True, str(c), f"Resolve up to 21.0 will use {c}")
        where = "PYTHON3HOME is not set and /usr/local/bin/python3 does not exist"
        fix = "install Python 3 from python.org (it links /usr/local/bin/python3), or launchctl setenv PYTHON3HOME"
    elif system == "Windows":
        found: list[tuple[tuple[int, int], Path]] = []
        for d in program_files.glob("Python3*") if program_files.is_dir() else []:
            version = _version_from(d.name)
            if version is not None and _new_enough(version) and (d / "python.exe").is_file():
                found.append((version, d))
        if found:
            (major, minor), d = sorted(found)[-1]
            return PythonCheck(True, str(d), f"Resolve up to 21.0 will use Python {major}.{minor} in {d}")
        where = f"no 64-bit Python 3.6+ in {program_files}"
        fix = "install Python 3 (64-bit) from python.org with 'Install for all users'"
    elif system == "Linux":
        libs = []
        for folder in ("/usr/lib", "/usr/lib64", "/usr/lib/x86_64-linux-gnu", "/usr/local/lib"):
            d = at(folder)
            if d.is_dir():
                libs += [p for p in d.glob("libpython3*.so*") if _new_enough(_version_from(p.name))]
        if libs:
            lib = sorted(libs)[-1]
            return PythonCheck(True, str(lib), f"Resolve up to 21.0 will load {lib}")
        where = "no libpython3.6+ shared library in /usr/lib, /usr/lib64 or /usr/local/lib"
        fix = "install your distribution's python3 package (with its shared library, e.g. libpython3-dev)"
    else:
        return PythonCheck(False, None, f"DaVinci Resolve does not run on {system!r}")
    return PythonCheck(False, None, f"{NEEDS_PYTHON}: {where}; {fix}")
