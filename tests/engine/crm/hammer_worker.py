"""One hammering process for the multi-process limiter test.

``python -m tests.engine.crm.hammer_worker SANDBOX_URL REDIS_URL PORTAL SECONDS TASKS WORKER`` runs
TASKS concurrent loops that create contacts through the shared limiter for SECONDS, sleeping
whatever the limiter names, then prints one JSON line of counts.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter

import orjson
from redis.asyncio import Redis

from engine.crm import CrmError, HubSpotTransport, ObjectInput, ObjectType, PortalClient, Throttled
from limits import LimitConfig, Limiter

TOKEN = "pat-na1-hammer"


async def hammer(
    sandbox_url: str, redis_url: str, portal_id: str, seconds: float, tasks: int, worker: str
) -> Counter[str]:
    counts: Counter[str] = Counter()
    redis = Redis.from_url(redis_url)
    limiter = Limiter(redis, LimitConfig.for_tier(100))
    await limiter.load()
    deadline = time.monotonic() + seconds
    async with HubSpotTransport(sandbox_url, limiter=limiter) as transport:
        portal = PortalClient(transport, portal_id, TOKEN)

        async def loop(task: int) -> None:
            n = 0
            while (left := deadline - time.monotonic()) > 0:
                email = f"w{worker}-{task}-{n}@hammer.example"
                try:
                    await portal.create(ObjectType.CONTACT, ObjectInput({"email": email}))
                    counts["created"] += 1
                    n += 1
                except Throttled as refused:
                    counts["throttled"] += 1
                    await asyncio.sleep(min(refused.wait_ms / 1000, left))
                except CrmError as error:
                    counts[str(error.category)] += 1
                    n += 1

        await asyncio.gather(*(loop(task) for task in range(tasks)))
    await redis.aclose()
    return counts


def main(argv: list[str]) -> int:
    url, redis_url, portal_id, seconds, tasks, worker = argv
    counts = asyncio.run(hammer(url, redis_url, portal_id, float(seconds), int(tasks), worker))
    sys.stdout.write(orjson.dumps(counts).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
