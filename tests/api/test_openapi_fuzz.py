"""Schemathesis against a live `simcrm serve`: generated requests for every operation of
/api/openapi.json never get a 5xx, and every answer matches its declared status and schema."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err

from engine.redis_endpoint import RedisEndpoint
from tests.api.conftest import SECRET

SIMCRM = Path(sys.executable).parent / "simcrm"
EXAMPLES_PER_OPERATION = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class Process:
    """A `simcrm` subcommand serving HTTP: started, its URL read from its first line, stopped."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [str(SIMCRM), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            match = re.search(r"http://127\.0\.0\.1:\d+", line)
            if match:
                self.url = match.group(0)
                return
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"simcrm {args[0]} did not start: {line!r}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def live_api(
    tmp_path_factory: pytest.TempPathFactory, redis_endpoint_for_tests: RedisEndpoint
) -> Iterator[dict[str, Any]]:
    """`simcrm serve` (with a `simcrm sandbox` as its HubSpot) on free ports, a boss's key."""
    folder = tmp_path_factory.mktemp("fuzz")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{folder}/fuzz.db",
        "REDIS_URL": redis_endpoint_for_tests.url,
        "TOKEN_ENC_SECRET": SECRET,
        "METRICS_PROM_ENABLED": "1",
        "LOG_LEVEL": "warning",
    }
    subprocess.run([str(SIMCRM), "migrate"], env=env, check=True, capture_output=True)
    created = subprocess.run(
        [str(SIMCRM), "users", "create", "--email", "fuzz@example.com", "--boss", "--json"],
        env=env,
        check=True,
        capture_output=True,
    )
    key = orjson.loads(created.stdout)["api_key"]
    sandbox = Process(["sandbox", "--port", "0"], env)
    env["HUBSPOT_BASE_URL"] = env["SIMCRM_SANDBOX_URL"] = sandbox.url
    server = Process(["serve", "--port", "0"], env)
    try:
        yield {"url": server.url, "key": key}
    finally:
        server.stop()
        sandbox.stop()


def test_every_operation_keeps_its_contract(live_api: dict[str, Any]) -> None:
    """For every operation, generated requests (as a boss; valid ones and ones that break the
    schema) never get a 5xx, and the status, the content type and the body match the
    operation's declared responses."""
    api_schema = schemathesis.openapi.from_url(f"{live_api['url']}/api/openapi.json")
    headers = {"Authorization": f"Bearer {live_api['key']}"}
    failures: list[str] = []
    operations = 0
    calls: list[int] = []
    for result in api_schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"the document has an invalid operation: {result.err()}")
            continue
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        @given(
            case=operation.as_strategy(GenerationMode.POSITIVE)
            | operation.as_strategy(GenerationMode.NEGATIVE)
        )
        def check(case: Any) -> None:
            response = case.call_and_validate(
                base_url=live_api["url"], headers=headers, checks=CHECKS
            )
            calls.append(response.status_code)

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)
    assert operations >= 20
    assert len(calls) >= operations * EXAMPLES_PER_OPERATION // 2
    assert sum(200 <= status < 300 for status in calls) > len(calls) // 10  # not all refusals


def within_window(body: Any) -> None:
    """Reorder a generated body's start and end, and bring the end within 20 years."""
    if not isinstance(body, dict) or not {"start_time", "end_time"} <= set(body):
        return
    start, end = sorted(
        datetime.fromisoformat(body[name].replace("Z", "+00:00"))
        for name in ("start_time", "end_time")
    )
    if start.tzinfo is None or end.tzinfo is None:
        return
    end = min(end, start + timedelta(days=365 * 19))
    if end == start:
        end = start + timedelta(hours=1)
    body["start_time"], body["end_time"] = start.isoformat(), end.isoformat()


@pytest.mark.slow
@pytest.mark.timeout(300)  # a body of ten million records takes a second or more to validate
def test_generated_simulation_bodies_are_mostly_accepted(live_api: dict[str, Any]) -> None:
    """Bodies generated from the document's create and preview schemas (valid by the schema)
    are mostly accepted: the schema says what the validation checks. The window's rule (end
    after start, at most 20 years), which JSON Schema cannot state, is applied to each body
    first, as a client reading the field's description would."""
    api_schema = schemathesis.openapi.from_url(f"{live_api['url']}/api/openapi.json")
    headers = {"Authorization": f"Bearer {live_api['key']}"}
    statuses: dict[str, list[int]] = {}
    for result in api_schema.get_all_operations():
        assert not isinstance(result, Err), result.err()
        operation = result.ok()
        if operation.method.upper() != "POST" or operation.path not in (
            "/api/simulations",
            "/api/simulations/preview",
        ):
            continue
        statuses[operation.path] = []

        @settings(
            max_examples=20,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,
        )
        @given(case=operation.as_strategy(GenerationMode.POSITIVE))
        def check(case: Any) -> None:
            within_window(case.body)
            statuses[case.operation.path].append(
                case.call(base_url=live_api["url"], headers=headers, timeout=60).status_code
            )

        check()
    assert set(statuses) == {"/api/simulations", "/api/simulations/preview"}
    for path, seen in statuses.items():
        accepted = sum(200 <= status < 300 for status in seen)
        # Not all: a few rules are not in the schema yet (the bounds of some distribution
        # parameters); before the schema was made strict, 2 bodies in 40 got through.
        assert accepted > len(seen) // 3, (path, sorted(seen))
