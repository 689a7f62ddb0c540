"""Run the real plugin script against the stand-in, the way Resolve runs it.

    python -S host.py WORLD.json STATE_OUT.json MODE SCRIPT [ARGS...]

MODE ``bare`` offers no ``DaVinciResolveScript`` at all. MODE ``menu`` runs the script as Workspace > Scripts does: ``resolve``, ``fusion``,
``app`` and ``bmd`` are globals. MODE ``external`` runs it as a terminal would: it
must ``import DaVinciResolveScript`` and call ``scriptapp("Resolve")``, which
answers None for the free edition (external scripting is Studio-only) or when the
world says Resolve is not running. ``-S`` keeps site-packages out, so the script
proves it needs nothing beyond the standard library.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from standin import Bmd, FusionApp, World


def main() -> int:
    world_path, state_path, mode, script, *args = sys.argv[1:]
    with open(world_path, encoding="utf-8") as fh:
        config = json.load(fh)
    world = World(config)
    sys.argv = [script, *args]
    if config.get("no_argv"):
        del sys.argv  # an embedded interpreter may never set it
    code = 0
    if mode == "menu" and not world.studio and world.version >= (21, 1, 0):
        # free 21.1: Python scripting moved to Studio; .py files are not listed in Workspace > Scripts
        state = world.dump()
        state.update(exit_code=None, listed=False, imported_modules=[])
        with open(state_path, "w", encoding="utf-8") as fh:
            json.dump(state, fh, indent=1)
        return 0
    if mode == "menu":
        fusion = FusionApp(world)
        init = {"resolve": world.resolve, "fusion": fusion, "app": fusion, "bmd": Bmd(world)}
    elif mode == "bare":
        init = {}  # no Resolve module anywhere: a machine without Resolve
    else:
        module = types.ModuleType("DaVinciResolveScript")

        def scriptapp(name: str) -> object:
            running = config.get("running", True)
            return world.resolve if name == "Resolve" and running and world.studio else None

        module.scriptapp = scriptapp  # type: ignore[attr-defined]
        sys.modules["DaVinciResolveScript"] = module
        init = {}
    try:
        if config.get("no_argv"):  # runpy itself needs sys.argv: run the file as an embedder would
            with open(script, encoding="utf-8") as fh:
                code_obj = compile(fh.read(), script, "exec")
            exec(code_obj, dict(init, __name__="__main__", __file__=script))
        else:
            runpy.run_path(script, init_globals=init, run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    state = world.dump()
    state["exit_code"] = code
    state["imported_modules"] = sorted(sys.modules)
    with open(state_path, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
