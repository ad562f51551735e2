# Everyday commands. Each recipe creates and uses .venv itself, so a fresh clone needs only
# Python 3.11+ and `just` (which `pip install rust-just` provides).

set shell := ["bash", "-euo", "pipefail", "-c"]

bin := ".venv/bin"

# list the recipes
default:
    @just --list

# install SimCRM into .venv, create the database and check that Redis and the database work
setup: _venv
    {{bin}}/simcrm migrate
    {{bin}}/simcrm --help
    {{bin}}/simcrm doctor

# run the test suite (extra arguments go to pytest, e.g. `just test -k store`)
test *args: _venv
    {{bin}}/pytest {{args}}

# run a benchmark: `just bench NAME [options]` (no NAME lists them; see bench/README.md)
bench *args: _venv
    {{bin}}/python -m bench {{args}}

# ruff (lint and format check) and mypy (strict)
lint: _venv
    {{bin}}/ruff check .
    {{bin}}/ruff format --check .
    {{bin}}/mypy

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
