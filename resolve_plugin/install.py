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
