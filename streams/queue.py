"""The queue as one object: producer, workers, dead letters and gauges over one Redis client.

::

    async with Queue(client, QueueConfig(shards=4), policies={"contact": RetryPolicy(3)}) as queue:
        await queue.enqueue_many([job_a, (job_b, due_ms)])
        async with queue.worker({"contact": Batched(send_contacts)}) as worker:
            await worker.run_until_signal()

Entering the queue loads every Lua script (a broken script stops start-up) and creates the
consumer groups. The client may be a ``redis.asyncio.Redis`` or ``RedisCluster``; the queue does
not close it. Nothing is kept at module level: two queues with different prefixes coexist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any

from core.clock import Clock, SystemClock
from core.lua import Scripts, lua_folder
from core.outages import Dependency
from streams.config import QueueConfig
from streams.consumer import ensure_groups
from streams.context import QueueContext
from streams.deadletters import DeadLetters
from streams.handlers import Handler
from streams.job import Job
from streams.keys import QueueKeys
from streams.members import Membership
from streams.mover import DelayedMover, PromoteResult
from streams.producer import Producer, Scheduled
from streams.retry import RetryPolicy
from streams.settle import DEFAULT_POLICY
from streams.shardcount import claim_shard_count
from streams.stats import ShardStats, queue_stats
from streams.worker import Worker


class Queue:
    """One queue: a prefix, a shard count, retry policies and a clock over one client."""

    def __init__(
        self,
        client: Any,
        config: QueueConfig | None = None,
        *,
        policies: Mapping[str, RetryPolicy] | None = None,
        default_policy: RetryPolicy = DEFAULT_POLICY,
        clock: Clock | None = None,
        redis_health: Dependency | None = None,
    ) -> None:
        self.client = client
        self.config = config or QueueConfig()
        self.keys = QueueKeys(self.config.shards, self.config.prefix)
        self.clock: Clock = clock or SystemClock()
        self.policies: Mapping[str, RetryPolicy] = dict(policies or {})
        self.default_policy = default_policy
        self.scripts = Scripts(client, lua_folder("streams"))
        self.redis_health = redis_health or Dependency("redis", self.clock)
        self.context = QueueContext(
            client, self.keys, self.scripts, self.config, self.clock, self.redis_health
        )
        self.mover = DelayedMover(self.context)
        self.producer = Producer(self.context, on_delayed=self._nudge_movers)
        self.dead_letters = DeadLetters(self.context)
        self._workers: list[Worker] = []

    def _nudge_movers(self) -> None:
        for worker in self._workers:
            worker.mover.nudge()

    async def __aenter__(self) -> Queue:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Load the scripts and create the consumer group of every shard (idempotent)."""
        await self.scripts.load()
        await ensure_groups(self.client, self.keys, range(self.keys.shards))

    async def join(self, kind: str) -> Membership:
        """Register this process as one using the queue (``kind``: ``daemon``, ``api`` …), then
        check its shard count against the one stored in Redis, storing it if none is (see
        :mod:`streams.shardcount`). Renew the membership every third of its ``ttl_ms`` and
        leave on shutdown.

        Raises:
            ShardCountMismatch: the stored count differs (the message names both and the fix).
            ReshardInProgress: a reshard has not finished.
        """
        membership = Membership(self.client, self.keys, kind)
        await membership.renew()
        try:
            await claim_shard_count(self.client, self.keys)
        except BaseException:
            await membership.leave()
            raise
        return membership

    async def close(self) -> None:
        """Stop every worker this queue started (gracefully); the client stays open."""
        for worker in self._workers:
            await worker.stop()
        self._workers.clear()

    def policy(self, job_type: str) -> RetryPolicy:
        """The retry policy of ``job_type`` (the default policy for types without their own)."""
        return self.policies.get(job_type, self.default_policy)

    def is_last_attempt(self, job: Job) -> bool:
        """Whether a failure of ``job`` would dead-letter it rather than retry it (see
        :meth:`RetryPolicy.is_last_attempt`)."""
        return self.policy(job.type).is_last_attempt(job)

    # -- producing -------------------------------------------------------------------------

    async def enqueue(self, job: Job, *, due_ms: int | None = None) -> bool:
        """Enqueue one job (see :meth:`Producer.enqueue`)."""
        return await self.producer.enqueue(job, due_ms=due_ms)

    async def enqueue_many(self, jobs: Iterable[Scheduled]) -> int:
        """Enqueue many jobs in one round trip (see :meth:`Producer.enqueue_many`)."""
        return await self.producer.enqueue_many(jobs)

    async def hasten(self, scope: str, jobs: Sequence[tuple[Job, int]]) -> int:
        """Bring delayed jobs of ``scope`` forward (see :meth:`Producer.hasten`)."""
        return await self.producer.hasten(scope, jobs)

    # -- consuming -------------------------------------------------------------------------

    def worker(
        self,
        handlers: Mapping[str, Handler],
        *,
        shards: Sequence[int] | None = None,
        name: str | None = None,
        run_mover: bool = True,
        run_reaper: bool = True,
    ) -> Worker:
        """A worker for ``shards`` (all by default); start it with ``async with`` or ``start()``."""
        worker = Worker(
            self.context,
            handlers,
            policies=self.policies,
            default_policy=self.default_policy,
            shards=shards,
            name=name,
            run_mover=run_mover,
            run_reaper=run_reaper,
        )
        self._workers.append(worker)
        return worker

    async def promote_due(self, shards: Sequence[int] | None = None) -> PromoteResult:
        """Move every due delayed job now (what the mover does in the background)."""
        return await self.mover.promote(range(self.keys.shards) if shards is None else shards)

    # -- watching --------------------------------------------------------------------------

    async def stats(self) -> list[ShardStats]:
        """Gauges of every shard (see :mod:`streams.stats`)."""
        return await queue_stats(self.client, self.keys, self.clock)

    async def live_ids(self, scope: str, job_ids: Sequence[str]) -> set[str]:
        """Which of ``job_ids`` (jobs of ``scope``) are live: waiting, delayed or running."""
        if not job_ids:
            return set()
        shard = self.keys.shard_of(scope)
        pipe = self.client.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hexists(self.keys.ids(shard, job_id), job_id)
        answers = await pipe.execute()
        return {job_id for job_id, live in zip(job_ids, answers, strict=True) if live}

    async def live_count(self, scope: str) -> int:
        """How many of ``scope``'s jobs are live: waiting, delayed or running (0: none left).

        Kept exactly by the enqueue, settle and replay scripts, so it is 0 only once every job
        of the scope has been done or dead-lettered, however often workers died meanwhile.
        """
        raw = await self.client.hget(self.keys.live(self.keys.shard_of(scope)), scope)
        return int(raw) if raw is not None else 0
