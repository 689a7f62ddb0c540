"""Installing the script where Resolve looks for it, and removing only what was installed."""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest
from click.testing import CliRunner

from shotline.cli.main import cli
from shotline.core.errors import OutputExistsError
from shotline.resolve_plugin.install import (
    INSTALLED_AS,
    SCRIPT_SOURCE,
    check_python,
    install,
    scripts_dir,
    uninstall,
)

WIN_ENV = {"APPDATA": r"C:\Users\ann\AppData\Roaming", "PROGRAMDATA": r"C:\ProgramData"}


@pytest.mark.parametrize(
    ("system", "scope", "expected"),
    [
        ("Darwin", "user", PurePosixPath("/Users/ann/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts")),
        ("Darwin", "system", PurePosixPath("/Library/Application Support/Blackmagic Design/DaVinci Resolve/Fusion/Scripts")),
        ("Windows", "user", PureWindowsPath(r"C:\Users\ann\AppData\Roaming\Blackmagic Design\DaVinci Resolve\Support\Fusion\Scripts")),
        ("Windows", "system", PureWindowsPath(r"C:\ProgramData\Blackmagic Design\DaVinci Resolve\Fusion\Scripts")),
        ("Linux", "user", PurePosixPath("/home/ann/.local/share/DaVinciResolve/Fusion/Scripts")),
    ],
)  # fmt: skip
def test_scripts_folders_per_os(system, scope, expected):
    home = "/Users/ann" if system == "Darwin" else "/home/ann"
    assert scripts_dir(scope, system=system, env=WIN_ENV, home=home) == expected


def test_linux_system_folder():
    assert str(scripts_dir("system", system="Linux", env={}, home="/x")).endswith("/resolve/Fusion/Scripts")


def test_install_then_uninstall(tmp_path):
    root = tmp_path / "Scripts"
    result = install(root)
    target = root / INSTALLED_AS
    assert result.written == [target]
    assert target.read_bytes() == SCRIPT_SOURCE.read_bytes()
    assert json.loads((root / "shotline-install.json").read_text())["files"]
    # the user's own script in the same folder is never touched
    theirs = root / "Utility" / "their tool.py"
    theirs.write_text("print('mine')\n")
    assert install(root).written == [target]  # reinstall over our own file is fine

    result = uninstall(root)
    assert result.removed == [target] and not target.exists()
    assert theirs.read_text() == "print('mine')\n"
    assert not (root / "shotline-install.json").exists()
    assert uninstall(root).kept and uninstall(root).removed == []


def test_install_refuses_a_file_it_did_not_write(tmp_path):
    root = tmp_path / "Scripts"
    target = root / INSTALLED_AS
    target.parent.mkdir(parents=True)
    target.write_text("# someone else's script\n")
    with pytest.raises(OutputExistsError, match="not installed by shotline"):
        install(root)
    assert target.read_text() == "# someone else's script\n"
    install(root, force=True)
    assert target.read_bytes() == SCRIPT_SOURCE.read_bytes()


def test_uninstall_keeps_an_edited_script(tmp_path):
    root = tmp_path / "Scripts"
    install(root)
    target = root / INSTALLED_AS
    target.write_text(target.read_text() + "\n# my tweak\n")
    result = uninstall(root)
    assert result.removed == [] and target.exists()
    assert "changed since shotline installed it" in result.kept[0]


def test_cli_install_user_folder_from_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    runner = CliRunner()
    root = Path(scripts_dir("user"))
    assert root.is_relative_to(tmp_path)  # the user folder follows HOME
    r = runner.invoke(cli, ["resolve", "install", "--dry-run"])
    assert r.exit_code == 0 and "would copy" in r.output
    assert not (root / INSTALLED_AS).exists()
    r = runner.invoke(cli, ["resolve", "install", "--json"])
    assert r.exit_code == 0, r.output
    written = json.loads(r.output)["written"]
    assert written == [str(root / INSTALLED_AS)]
    r = runner.invoke(cli, ["resolve", "uninstall"])
    assert r.exit_code == 0 and "removed" in r.output
    assert not (root / INSTALLED_AS).exists()


def test_cli_install_to_dest_refuses_foreign_file(tmp_path):
    root = tmp_path / "Scripts"
    (root / "Utility").mkdir(parents=True)
    (root / INSTALLED_AS).write_text("x")
    r = CliRunner().invoke(cli, ["resolve", "install", "--dest", str(root)])
    assert r.exit_code == 2 and "use --force" in r.output


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize("system", ["Darwin", "Windows", "Linux"])
def test_python_check_says_what_is_missing(system, tmp_path):
    env = {"PROGRAMFILES": str(tmp_path / "Program Files")}
    check = check_python(system, env=env, root=tmp_path)
    assert check.ok is False and check.found is None
    assert "64-bit Python 3.6 or newer installed for all users" in check.message
    assert (
        "silently lists no .py scripts" in check.message and "21.1 and later ship their own" in check.message
    )


@pytest.mark.parametrize(
    ("system", "files", "found"),
    [
        ("Darwin", ["usr/local/bin/python3"], "usr/local/bin/python3"),
        ("Windows", ["Program Files/Python35/python.exe", "Program Files/Python311/python.exe"], "Program Files/Python311"),
        ("Linux", ["usr/lib/x86_64-linux-gnu/libpython3.10.so.1.0"], "usr/lib/x86_64-linux-gnu/libpython3.10.so.1.0"),
        ("Linux", ["opt/resolve/bin/ResolvePython"], "opt/resolve/bin/ResolvePython"),
        ("Windows", ["Program Files/Blackmagic Design/DaVinci Resolve/ResolvePython/ResolvePython.exe"], "Program Files/Blackmagic Design/DaVinci Resolve/ResolvePython/ResolvePython.exe"),
    ],
)  # fmt: skip
def test_python_check_finds_what_resolve_finds(system, files, found, tmp_path):
    for f in files:
        _touch(tmp_path / f)
    env = {"PROGRAMFILES": str(tmp_path / "Program Files")}
    check = check_python(system, env=env, root=tmp_path)
    assert check.ok is True and check.found == str(tmp_path / found), check.message


def test_python_check_rejects_too_old_and_reads_python3home(tmp_path):
    _touch(tmp_path / "usr/lib/libpython3.5m.so.1.0")
    assert check_python("Linux", env={}, root=tmp_path).ok is False
    home = tmp_path / "py"
    _touch(home / "bin" / "python3")
    check = check_python("Darwin", env={"PYTHON3HOME": str(home)}, root=tmp_path)
    assert check.ok and check.found == str(home / "bin" / "python3")


def test_cli_install_reports_the_python_check(tmp_path):
    r = CliRunner().invoke(cli, ["resolve", "install", "--dest", str(tmp_path / "S"), "--json"])
    assert r.exit_code == 0, r.output
    python = json.loads(r.output)["python"]
    assert set(python) == {"ok", "found", "message"} and isinstance(python["ok"], bool)
