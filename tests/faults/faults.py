"""The faults of the matrix: each is applied to a running deployment mid-run, checks what the API
answers while it lasts, and ends it (or leaves it to the run, for faults that only slow HubSpot)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from api.app import MAX_BODY_BYTES
from sandbox import Fault
from streams import Queue, QueueConfig
from streams.keys import QueueKeys
from tests.engine.runtime.harness import wait_until
from tests.faults.endstate import run_body
from tests.faults.stack import Stack

Inject = Callable[[Stack, int], Awaitable[None]]
OUTAGE_S = 2.5


@dataclass(frozen=True)
class Case:
    name: str
    inject: Inject
    sandbox: dict[str, Any] = field(default_factory=dict)  # sandbox settings for the whole run
    settings: dict[str, str] = field(default_factory=dict)  # more variables for API and workers
    records: int = 200
    slow: bool = False
    thinning_allowed: bool = False  # the breaker may open (HubSpot's own failures) and thin
    database: str = "sqlite"  # or "mariadb", reached through a proxy the case can cut


async def assert_database_unavailable(stack: Stack, sim_id: int) -> None:
    """Create and pause refused with a 503 naming the database; health reports it down."""
    for path, body in (
        ("/api/simulations", run_body(10)),
        (f"/api/simulations/{sim_id}/pause", None),
    ):
        status, answer = await stack.call("POST", path, body)
        assert (status, answer["error"]["code"]) == (503, "database_unavailable"), answer
    status, report = await health(stack)
    assert status == 503 and report["down"] == ["database"], report


async def health(stack: Stack) -> tuple[int, Any]:
    return await stack.call("GET", "/api/health")


# -- Redis --------------------------------------------------------------------------------------


async def redis_stopped(stack: Stack, sim_id: int) -> None:
    """Redis stopped for a few seconds: health says so, the run's status still answers (from the
    database), and the run goes on once Redis is back."""
    stack.redis.stop()
    status, report = await health(stack)
    assert status == 503 and "redis" in report["down"], report
    assert (await stack.call("GET", f"/api/simulations/{sim_id}"))[0] == 200
    await asyncio.sleep(OUTAGE_S)
    stack.redis.start()


async def redis_frozen(stack: Stack, sim_id: int) -> None:
    """Redis frozen (SIGSTOP): it accepts connections but never answers. Replies are bounded by
    REDIS_SOCKET_TIMEOUT_MS, so the API still answers; SIGCONT resumes everything."""
    os.kill(stack.redis.pid, signal.SIGSTOP)
    try:
        status, report = await health(stack)
        assert status == 503 and "redis" in report["down"], report
        assert (await stack.call("GET", f"/api/simulations/{sim_id}"))[0] == 200
        await asyncio.sleep(OUTAGE_S)
    finally:
        os.kill(stack.redis.pid, signal.SIGCONT)


async def redis_crashed(stack: Stack, sim_id: int) -> None:
    """Redis SIGKILLed and restarted at once on its append-only file."""
    stack.redis.stop(kill=True)
    stack.redis.start()


# -- the database -------------------------------------------------------------------------------


@contextlib.contextmanager
def sqlite_locked(database_url: str) -> Iterator[None]:
    """Another connection holding the SQLite file's exclusive lock until the block ends."""
    path = make_url(database_url).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


async def database_locked(stack: Stack, sim_id: int) -> None:
    """The database locked by another connection: writes are refused with a 503 naming it (within
    DATABASE_TIMEOUT_MS), health says so; the worker keeps running and flushes later."""
    with sqlite_locked(stack.database_url):
        await assert_database_unavailable(stack, sim_id)
        await asyncio.sleep(OUTAGE_S)


async def database_gone(stack: Stack, sim_id: int) -> None:
    """MariaDB unreachable mid-run (open connections dropped, new ones refused): the same 503s
    and health report; the worker waits and the run goes on when the database is back."""
    assert stack.proxy is not None
    await stack.proxy.cut()
    await assert_database_unavailable(stack, sim_id)
    await asyncio.sleep(OUTAGE_S)
    await stack.proxy.start()


# -- processes ----------------------------------------------------------------------------------


async def worker_stopped(stack: Stack, sim_id: int, signum: int) -> None:
    worker = next(w for w in stack.workers if w.running)
    code = await worker.signal(signum)
    assert code == (0 if signum == signal.SIGTERM else -signum), worker.text()
    await stack.start_worker()


async def worker_terminated(stack: Stack, sim_id: int) -> None:
    """A worker stopped with SIGTERM mid-run (HubSpot slow, batches in flight) exits 0; the next
    worker carries the run on."""
    await worker_stopped(stack, sim_id, signal.SIGTERM)


async def worker_killed(stack: Stack, sim_id: int) -> None:
    """A worker SIGKILLed mid-run; the next one finds what the first left half done."""
    await worker_stopped(stack, sim_id, signal.SIGKILL)


async def api_stopped(stack: Stack, sim_id: int) -> None:
    """The API stopped with SIGTERM (it exits 0), a new one started, that one SIGKILLed and a
    third started: each new API answers at once, and the run never noticed."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        assert stack.api is not None
        code = await stack.api.signal(signum)
        assert code == (0 if signum == signal.SIGTERM else -signum), stack.api.text()
        await stack.start_api()
        assert (await stack.call("GET", f"/api/simulations/{sim_id}"))[0] == 200


# -- HubSpot ------------------------------------------------------------------------------------


async def hubspot_faulty(stack: Stack, sim_id: int) -> None:
    """Nothing to do mid-run: the case's sandbox settings make HubSpot slow or failing."""


async def rate_limit_storm(stack: Stack, sim_id: int) -> None:
    """Another integration hammering the same token for a few seconds: 429s for everyone."""
    headers = {"Authorization": f"Bearer {stack.secrets.hubspot_token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        end = asyncio.get_running_loop().time() + 4.0
        while asyncio.get_running_loop().time() < end:
            async with http.get(f"{stack.sandbox.url}/crm/v3/objects/contacts?limit=1") as answer:
                await answer.read()
            await asyncio.sleep(0.02)
    assert stack.sandbox.stats().rate_limited_total > 0


# -- the queue and the API's input --------------------------------------------------------------

POISON: tuple[dict[bytes, bytes], ...] = (
    {b"j": b"\xff\xfe not json"},
    {b"j": orjson.dumps(["poison:1", "no_such_type", "poison", {}, 1, 0, "p"])},
    {b"j": orjson.dumps({"not": "a job"})},
    {b"other": b"field"},
)


async def poison_entries(stack: Stack, sim_id: int) -> None:
    """Entries no producer of ours writes, added to every ready stream: an undecodable one is
    settled and logged (``job_payload_invalid``, without its bytes), a job of a type no worker
    handles becomes a dead letter of its own scope (``unknown``); the worker reads on."""
    config = QueueConfig()
    keys = QueueKeys(shards=config.shards, prefix=config.prefix)
    streams = [stream for shard in range(config.shards) for stream in keys.streams(shard)]
    client: Redis = Redis.from_url(stack.redis.url)
    try:
        for stream in streams:
            for fields in POISON:
                await client.xadd(stream, fields)  # type: ignore[arg-type]
        queue = Queue(client, config)

        async def settled() -> bool:
            invalid = sum(
                1 for w in stack.workers for e in w.events() if e["event"] == "job_payload_invalid"
            )
            dead = await queue.dead_letters.scope("poison")
            return invalid == 3 * len(streams) and dict(dead.counts) == {"unknown": len(streams)}

        await wait_until(settled, 30)
    finally:
        await client.aclose()


async def send_raw(stack: Stack, raw: bytes) -> tuple[int, bytes]:
    """Bytes written to the API's socket; the answer's status and body."""
    host, port = stack.api_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(raw)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 15)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    stack.record(data.decode(errors="replace"))
    return int(head.split(b" ", 2)[1]), body


def request(head: bytes, body: bytes = b"", path: bytes = b"/api/simulations") -> bytes:
    method = b"POST" if body else b"GET"
    length = f"Content-Length: {len(body)}\r\n".encode() if body else b""
    return (
        method + b" " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\n" + length + head + b"\r\n" + body
    )


async def hostile_requests(stack: Stack, sim_id: int) -> None:
    """Requests no client library sends, written to the API's socket mid-run: each gets the API's
    JSON error — 400, 401, 413 or 422 —, never a 500, and never its key back."""
    key = stack.api_key.encode()
    auth = b"Authorization: Bearer " + key + b"\r\n"
    cases: list[tuple[bytes, set[int]]] = [
        (request(b"Authorization: Bearer " + key + b"\x01\x02\r\n"), {400, 401}),
        (request(b"Authorization: Bearer \xff\xfe" + key + b"\r\n"), {401}),
        (request(b"Authorization: Bearer " + key + b"A" * 9_000 + b"\r\n"), {400, 431}),
        (request(auth + b"X-Filler: " + b"x" * 9_000 + b"\r\n"), {400, 431}),
        (request(auth, b"{" * 200_000), {400, 413}),
        (request(auth, b'{"name": ' + b"[" * 5_000), {400}),
        (request(auth, b"\xff\xfe\x00 not utf-8"), {400}),
        (request(auth, b"{}" + b" " * (MAX_BODY_BYTES + 10)), {413}),
        (request(auth, orjson.dumps({"name": 5, "total_records": "100"})), {400, 422}),
        (request(auth, orjson.dumps([1, 2, 3])), {400, 422}),
    ]
    for raw, allowed in cases:
        status, body = await send_raw(stack, raw)
        assert status in allowed, (raw[:120], status, body[:300])
        assert orjson.loads(body)["error"]["code"], body[:300]
    assert (await stack.call("GET", f"/api/simulations/{sim_id}"))[0] == 200


CASES: tuple[Case, ...] = (
    Case("redis-stopped", redis_stopped),
    Case("redis-frozen", redis_frozen, slow=True),
    Case("redis-crashed-aof", redis_crashed, slow=True),
    Case("database-locked", database_locked),
    Case(
        "database-gone",
        database_gone,
        database="mariadb",
        slow=True,
    ),
    Case("worker-sigterm", worker_terminated, sandbox={"latency_ms": 300}, slow=True),
    Case("worker-sigkill", worker_killed),
    Case("api-sigterm-then-sigkill", api_stopped),
    Case("hubspot-slow", hubspot_faulty, sandbox={"latency_ms": 400}, slow=True),
    Case(
        "hubspot-5xx",
        hubspot_faulty,
        sandbox={
            "error_rate": 0.05,
            "faults": (Fault.BAD_GATEWAY, Fault.UNAVAILABLE, Fault.GATEWAY_TIMEOUT),
            "seed": 5,
        },
        slow=True,
        thinning_allowed=True,
    ),
    Case(
        "hubspot-lost-answers",
        hubspot_faulty,
        sandbox={"error_rate": 0.05, "faults": (Fault.LOST,), "seed": 3},
        slow=True,
        thinning_allowed=True,
    ),
    Case(
        "hubspot-429-storm",
        rate_limit_storm,
        sandbox={"tier": 100},
        settings={"HUBSPOT_TIER": "100"},
        slow=True,
        thinning_allowed=True,
    ),
    Case("poison-entries", poison_entries),
    Case("hostile-requests", hostile_requests),
)
