# The two commands of the README. Both work on a machine with only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Installed versions are pinned by constraints.txt, so every machine tests what CI tested.
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: run test lint typecheck imports pytest openapi settings-docs bench-login clean

# The demo environment adds the demo letterbox, where PIN letters can be read on screen.
run: $(VENV)/.installed
	SERVICEKONTO_ENV=demo $(BIN)/servicekonto db upgrade
	SERVICEKONTO_ENV=demo $(BIN)/servicekonto demo
	SERVICEKONTO_ENV=demo $(BIN)/servicekonto serve --host 127.0.0.1 --port 8000

test: $(VENV)/.installed-dev lint typecheck imports pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

imports: $(VENV)/.installed-dev
	$(BIN)/lint-imports

pytest: $(VENV)/.installed-dev
	$(BIN)/pytest --cov --cov-report=term $(PYTEST_ARGS)

# Where a login's time goes besides argon2 (real server, PostgreSQL when it answers).
bench-login: $(VENV)/.installed-dev
	$(BIN)/python bench/login_overhead.py

# The HTTP suite (bench/http_suite.py): wrk against the real server on PostgreSQL, each endpoint
# against a bare one. wrk comes from Debian, installed here when it is missing.
WRK := command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)
.PHONY: bench bench-smoke

# The full matrix (about 20 minutes per worker count); results in bench/results/http_suite.json.
bench: $(VENV)/.installed-dev
	$(WRK)
	$(BIN)/python bench/http_suite.py $(BENCH_ARGS)

# A few seconds of every endpoint: fails when any request failed or the server did not start.
# Asserts no figures (CI machines are shared); writes no results.
bench-smoke: $(VENV)/.installed-dev
	$(WRK)
	$(BIN)/python bench/http_suite.py --duration 1 --runs 1 --concurrency 1,8 --workers 1 --warmup 0 --output -

# Regenerate the committed descriptions after changing routes or settings (tests check both).
openapi: $(VENV)/.installed
	$(BIN)/servicekonto openapi --output openapi/servicekonto.json
	$(BIN)/python -c "from servicekonto.registry_mock.app import render_openapi; print(render_openapi(), end='')" > openapi/registry-mock.json
	$(BIN)/python -c "from servicekonto.eid_mock.app import render_openapi; print(render_openapi(), end='')" > openapi/eid-mock.json

settings-docs: $(VENV)/.installed
	$(BIN)/python tools/update_settings_docs.py

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(VENV)/bin/python pyproject.toml constraints.txt
	$(PIP_INSTALL) -e .
	touch $@

# The SAML tests check our assertions with pysaml2, which verifies and decrypts with Debian's xmlsec1.
XMLSEC1 := command -v xmlsec1 >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq xmlsec1 >/dev/null)

$(VENV)/.installed-dev: $(VENV)/bin/python pyproject.toml constraints.txt
	$(XMLSEC1)
	$(PIP_INSTALL) -e '.[dev]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
