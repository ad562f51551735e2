"""The operator guides in docs/ name only what exists: every `simcrm …` command (and each of its
options) parses with --help, so does every `python -m engine` option, every Redis key pattern
they show is one the code builds, and every `METHOD /api/…` route they (or the README) name is
declared. The README's "Commands" table lists every `simcrm` command and action."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from api.app import ROUTE_TABLES
from api.keys import UserKeys
from cli import build_parser
from core.keys import DEFAULT_KEY_PREFIX
from engine import daemon
from engine.runtime.keys import SimKeys
from engine.telemetry.keys import TelemetryKeys
from limits.keys import PortalKeys
from streams.job import Priority
from streams.keys import QueueKeys

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDES = sorted(DOCS.glob("*.md"))
FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)
SPAN = re.compile(r"`([^`\n]+)`")
COMMAND = re.compile(r"(?<![\w-])simcrm((?:\s+[a-z][a-z-]*)*)([^\n`#]*)")
ENGINE = re.compile(r"python -m engine([^\n`#]*)")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*)")
KEY = re.compile(r"(?<![\w/])simcrm:[^\s'\"`,|)]+")
ROUTE = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE) (/api/[^\s`?]*)")
# Routes the application adds beside its declared tables (api/app.py).
UNDECLARED_ROUTES = {("GET", "/api/openapi.json")}
README = DOCS.parent / "README.md"
SAMPLE_ARGUMENTS = {
    "shard": 0,
    "scope": "42",
    "job_id": "42:contact:7",
    "priority": Priority.PRIMARY,
}


def code_of(text: str) -> Iterator[str]:
    """Every fenced block's lines and every inline code span of a Markdown text."""
    for block in FENCE.findall(text):
        yield from block.splitlines()
    yield from SPAN.findall(FENCE.sub("", text))


def commands() -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    """(guide, subcommand words, options) of every `simcrm …` the guides show."""
    found = []
    for guide in GUIDES:
        for code in code_of(guide.read_text()):
            for match in COMMAND.finditer(code):
                words = tuple(match.group(1).split())
                if words:
                    found.append((guide.name, words, tuple(OPTION.findall(match.group(2)))))
    return found


def help_of(parse: Callable[[list[str]], object], argv: list[str]) -> str:
    """What ``--help`` prints for ``argv``; fails the test when it does not parse."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        parse(argv)
    assert exited.value.code == 0, argv
    return out.getvalue()


def test_the_guides_exist_and_the_readme_links_them() -> None:
    """operations.md, queue.md and rate-limits.md are in docs/, and the README links each."""
    assert {"operations.md", "queue.md", "rate-limits.md"} <= {guide.name for guide in GUIDES}
    readme = (DOCS.parent / "README.md").read_text()
    for name in ("operations.md", "queue.md", "rate-limits.md"):
        assert f"docs/{name}" in readme, name


def test_every_simcrm_command_the_guides_name_exists() -> None:
    """Each `simcrm <command> [<subcommand>]` parses with --help, and its help lists every
    option the guide gives it."""
    found = commands()
    assert len(found) >= 10
    parser = build_parser()
    for guide, words, options in found:
        text = help_of(parser.parse_args, [*words, "--help"])
        for option in options:
            assert option in text, f"{guide}: simcrm {' '.join(words)} has no {option}"


def test_every_daemon_option_the_guides_name_exists() -> None:
    """Each option given to `python -m engine` in the guides is in its --help."""
    text = help_of(daemon.main, ["--help"])
    options = {
        option
        for guide in GUIDES
        for code in code_of(guide.read_text())
        for match in ENGINE.finditer(code)
        for option in OPTION.findall(match.group(1))
    }
    for option in options:
        assert option in text, option


def built_keys() -> set[str]:
    """Every key name the code builds, from each package's keys module, with sample ids."""
    objects = [
        QueueKeys(shards=1, prefix=DEFAULT_KEY_PREFIX),
        SimKeys(42, DEFAULT_KEY_PREFIX),
        PortalKeys("62515000"),
        TelemetryKeys(DEFAULT_KEY_PREFIX),
        UserKeys(7, DEFAULT_KEY_PREFIX),
    ]
    keys: set[str] = set()
    for holder in objects:
        for name, member in inspect.getmembers(type(holder)):
            if name.startswith("_"):
                continue
            if isinstance(member, property):
                value = getattr(holder, name)
            elif inspect.isfunction(member):
                wanted = list(inspect.signature(member).parameters)[1:]
                if not all(arg in SAMPLE_ARGUMENTS for arg in wanted):
                    continue
                value = getattr(holder, name)(*(SAMPLE_ARGUMENTS[arg] for arg in wanted))
            else:
                continue
            values = value if isinstance(value, tuple | list) else [value]
            keys.update(v for v in values if isinstance(v, str) and v.startswith("simcrm:"))
    return keys


def pattern_of(named: str) -> re.Pattern[str]:
    """A documented key as a pattern: ``<placeholders>`` and numbers stand for any id, ``*``
    for anything."""
    parts = re.split(r"(<[^>]*>|\d+|\*)", named)
    regex = "".join(
        ".*"
        if part == "*"
        else "[^:{}]+"
        if part.startswith("<") or part.isdigit()
        else re.escape(part)
        for part in parts
        if part
    )
    return re.compile(regex)


def test_every_redis_key_the_guides_name_is_built_by_the_code() -> None:
    """Each `simcrm:…` key or SCAN pattern in the guides matches a key the code builds."""
    keys = built_keys()
    named = {
        key.rstrip(".")
        for guide in GUIDES
        for code in code_of(guide.read_text())
        for key in KEY.findall(code)
    }
    assert len(named) >= 20
    unknown = sorted(
        name for name in named if not any(pattern_of(name).fullmatch(key) for key in keys)
    )
    assert not unknown, unknown


def test_every_api_route_the_guides_and_readme_name_is_declared() -> None:
    """Each `METHOD /api/…` in the guides and the README is a route the API serves, by method and
    path (query strings aside)."""
    declared = UNDECLARED_ROUTES | {
        (operation.method, operation.path)
        for table in ROUTE_TABLES
        for operation in table.operations
    }
    named = {
        (match.group(1), match.group(2))
        for text in [README, *GUIDES]
        for code in code_of(text.read_text())
        for match in ROUTE.finditer(code)
    }
    assert len(named) >= 20
    unknown = sorted(f"{method} {path}" for method, path in named - declared)
    assert not unknown, unknown


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The subcommands of ``parser`` by name (empty when it has none)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_the_readme_commands_table_lists_every_command() -> None:
    """Every `simcrm COMMAND` and `simcrm COMMAND ACTION` appears in the README's "Commands"
    section (actions may share one cell as `simcrm sim create\\|list\\|…`)."""
    text = README.read_text()
    section = text.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    missing = []
    for name, command in subcommands(build_parser()).items():
        if f"simcrm {name}" not in section:
            missing.append(name)
        for action in subcommands(command):
            listed = re.compile(rf"simcrm {name} (?:[a-z-]+\\\|)*{re.escape(action)}(?![\w-])")
            if not listed.search(section):
                missing.append(f"{name} {action}")
    assert not missing, missing
