"""What a benchmark run cost Redis: CPU, commands, network bytes and peak memory, summed (memory:
the maximum) over every master of a standalone Redis or a Redis Cluster.

Each master is asked with a plain client of its own (``INFO everything``, one call per sample),
so the figures are the servers' own counts: ``used_cpu_sys`` + ``used_cpu_user``, the
``commandstats`` calls (the commands a script runs with ``redis.call`` count too, as Redis
counts them), ``total_net_input_bytes`` / ``total_net_output_bytes`` and memory. A run's figure
is the difference between a sample taken when it starts and one taken when it ends; the INFO
calls the benchmark made in between are taken off the ``info`` count.

``CONFIG RESETSTAT`` does not reset ``used_memory_peak``, so a run's peak is that figure only
when the run raised it; otherwise (a run after a bigger one on the same server) it is the
highest ``used_memory`` among the samples :meth:`RedisNodes.sample_memory` took.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from engine.redis_endpoint import connect_redis

TOP_COMMANDS = 8


@dataclass(frozen=True, slots=True)
class NodeSample:
    """One master's counters at one moment."""

    cpu_s: float
    commands: Counter[str]
    net_in: int
    net_out: int
    peak_memory: int  # used_memory_peak: the server's peak since it started
    used_memory_max: int  # the highest used_memory sampled since the sample before
    own_info_calls: int  # the INFO calls of ours counted since the sample before


@dataclass(slots=True)
class _Node:
    client: Redis
    info_calls: int = 0  # INFO calls of ours since the last full sample
    used_memory_max: int = 0  # the highest used_memory sampled since the last full sample

    async def info(self) -> dict[str, Any]:
        self.info_calls += 1
        answer: dict[str, Any] = await self.client.info("everything")
        return answer


@dataclass(slots=True)
class RedisNodes:
    """A client for keys (``client``: a cluster client on a cluster) and one plain client per
    master, for what only each server can tell."""

    client: Redis | RedisCluster
    cluster: bool
    _nodes: list[_Node] = field(default_factory=list)

    @classmethod
    async def open(cls, url: str) -> RedisNodes:
        client = await connect_redis(url)
        if not isinstance(client, RedisCluster):
            return cls(client, False, [_Node(Redis.from_url(url))])
        await client.initialize()
        nodes = [
            _Node(node_client(url, node.host, int(node.port))) for node in client.get_primaries()
        ]
        return cls(client, True, nodes)

    @property
    def masters(self) -> int:
        return len(self._nodes)

    async def version(self) -> str:
        return str((await self._nodes[0].client.info("server"))["redis_version"])

    async def flush(self) -> None:
        """Empty the data: the URL's database of a standalone Redis, every master of a cluster
        (which has only database 0)."""
        for node in self._nodes:
            await (node.client.flushall() if self.cluster else node.client.flushdb())

    async def reset_stats(self) -> None:
        """``CONFIG RESETSTAT`` on every master (command counts, network bytes)."""
        for node in self._nodes:
            await node.client.config_resetstat()

    async def sample(self) -> list[NodeSample]:
        """Every master's counters now, with the INFO calls of ours since the last sample."""
        samples = []
        for node in self._nodes:
            ours, node.info_calls = node.info_calls, 0
            info = await node.info()
            commands = Counter(
                {
                    name.removeprefix("cmdstat_"): int(stats["calls"])
                    for name, stats in info.items()
                    if name.startswith("cmdstat_")
                }
            )
            used = int(info["used_memory"])
            samples.append(
                NodeSample(
                    cpu_s=float(info["used_cpu_sys"]) + float(info["used_cpu_user"]),
                    commands=commands,
                    net_in=int(info["total_net_input_bytes"]),
                    net_out=int(info["total_net_output_bytes"]),
                    peak_memory=int(info["used_memory_peak"]),
                    used_memory_max=max(used, node.used_memory_max),
                    own_info_calls=ours,
                )
            )
            node.used_memory_max = used
        return samples

    async def sample_memory(self) -> None:
        """Note every master's ``used_memory`` now (for a peak below an earlier run's)."""
        for node in self._nodes:
            used = int((await node.client.info("memory"))["used_memory"])
            node.info_calls += 1
            node.used_memory_max = max(node.used_memory_max, used)

    async def aclose(self) -> None:
        for node in self._nodes:
            await node.client.aclose()
        await self.client.aclose()


def node_client(url: str, host: str, port: int) -> Redis:
    """A plain client of one cluster node, with the URL's credentials and options."""
    parts = urlsplit(url)
    auth, at, _ = parts.netloc.rpartition("@")
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return Redis.from_url(urlunsplit(parts._replace(netloc=f"{auth}{at}{address}")))


def figures(start: list[NodeSample], end: list[NodeSample], written: int) -> dict[str, Any]:
    """The run's Redis figures, per object written (CPU per 1,000), summed over the masters."""
    per = max(written, 1)
    cpu = sum(e.cpu_s - s.cpu_s for s, e in zip(start, end, strict=True))
    commands: Counter[str] = Counter()
    for s, e in zip(start, end, strict=True):
        commands.update(e.commands)
        commands.subtract(s.commands)
        commands["info"] -= e.own_info_calls
    calls = {name: count for name, count in commands.items() if count > 0}
    top = sorted(calls.items(), key=lambda item: (-item[1], item[0]))[:TOP_COMMANDS]
    peak = max(
        e.peak_memory if e.peak_memory > s.peak_memory else e.used_memory_max
        for s, e in zip(start, end, strict=True)
    )
    return {
        "redis_masters": len(end),
        "redis_cpu_s_per_1000_objects": round(cpu / per * 1000, 3),
        "redis_commands_per_object": round(sum(calls.values()) / per, 2),
        "redis_top_commands": {
            name: {"calls": count, "per_object": round(count / per, 3)} for name, count in top
        },
        "redis_net_in_bytes_per_object": round(
            sum(e.net_in - s.net_in for s, e in zip(start, end, strict=True)) / per, 1
        ),
        "redis_net_out_bytes_per_object": round(
            sum(e.net_out - s.net_out for s, e in zip(start, end, strict=True)) / per, 1
        ),
        "redis_peak_memory_mb": round(peak / 2**20, 1),
    }
