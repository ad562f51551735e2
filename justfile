# Everyday commands. Each recipe creates and uses .venv itself, so a fresh clone needs only
# Python 3.11+ and `just` (which `pip install rust-just` provides).

set shell := ["bash", "-euo", "pipefail", "-c"]

bin := ".venv/bin"

# list the recipes
default:
    @just --list

# a whole simulation end to end on the built-in HubSpot sandbox (options: `simcrm demo --help`)
demo *args: _venv
    {{bin}}/simcrm demo {{args}}

# a worker daemon (SIMCRM_* / REDIS_URL / DATABASE_URL from the environment)
worker *args: _venv
    {{bin}}/simcrm migrate
    {{bin}}/python -m engine {{args}}

# run the test suite in parallel: a worker process per core, at most four, each taking the next
# test when it is free (extra arguments go to pytest: `just test -k store`; `-n 0` for one process)
test *args: _venv
    {{bin}}/pytest -n auto --maxprocesses 4 --dist worksteal {{args}}

# run the benchmarks: all of them, or `just bench NAME [options]` (see bench/README.md); they
# use .venv-bench, which also holds the peer queues (arq, SAQ) measured beside ours
bench *args:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -x .venv-bench/bin/python ]; then python3 -m venv .venv-bench; fi
    if [ ! -f .venv-bench/.installed ] || [ pyproject.toml -nt .venv-bench/.installed ]; then
        .venv-bench/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
        touch .venv-bench/.installed
    fi
    .venv-bench/bin/python -m bench {{args}}

# ruff (lint and format check), mypy (strict), and the import contracts in pyproject.toml
# (which package may import which; no module imports itself back)
lint: _venv
    {{bin}}/ruff check .
    {{bin}}/ruff format --check .
    {{bin}}/mypy
    {{bin}}/lint-imports

# reformat the code
fmt: _venv
    {{bin}}/ruff format .
    {{bin}}/ruff check --fix .

# create .venv and install SimCRM with its dev tools (again when pyproject.toml changes)
_venv:
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -x .venv/bin/python ]; then
        python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
            || { echo "SimCRM needs Python 3.11 or newer as python3" >&2; exit 1; }
        python3 -m venv .venv
    fi
    if [ ! -f .venv/.installed ] || [ pyproject.toml -nt .venv/.installed ]; then
        echo "installing SimCRM and its dev tools into .venv …"
        .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
        touch .venv/.installed
    fi

# run the local HubSpot imitation (`just sandbox --tier 190 --error-rate 0.05`; see --help)
sandbox *args: _venv
    {{bin}}/simcrm sandbox {{args}}

# run the HTTP API and the dashboard (`just serve --port 8080`; see --help)
serve *args: _venv
    {{bin}}/simcrm serve {{args}}
