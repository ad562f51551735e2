"""Prometheus metric families built from what the queue and the limiter report.

The API's ``/metrics`` (every daemon's numbers, read from Redis at scrape time) and each daemon's
own ``/metrics`` (see :mod:`engine.telemetry.daemon`) describe the queue and the limits with the
same series, so one dashboard reads either:

- ``simcrm_queue_depth{shard}`` and the parts of it: ``simcrm_queue_waiting``/``_pending``
  ``{shard,stream}``, ``simcrm_queue_delayed{shard}``, ``simcrm_queue_dead_letters{shard}``;
  lateness: ``simcrm_queue_mover_lag_seconds{shard}`` (how far past due the earliest delayed job
  is) and ``simcrm_queue_oldest_age_seconds{shard,stream}`` (how long the oldest entry of a ready
  stream has been there);
- per HubSpot account (label ``portal``): ``simcrm_limiter_window_used`` and ``_limit``,
  ``simcrm_limiter_window_margin_seconds`` (the margin learnt), ``simcrm_limiter_window_senders``
  (simulations sharing the window), ``simcrm_limiter_daily_used``,
  ``simcrm_limiter_bucket_tokens`` and ``_capacity{kind}``,
  ``simcrm_limiter_cooldown_seconds``, ``simcrm_limiter_breaker_state`` (0 closed, 1 half-open,
  2 open), ``simcrm_limiter_breaker_trips``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client.core import GaugeMetricFamily, Metric

from limits import BreakerState, LimiterState
from streams import ShardStats

BREAKER_CODES = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


def queue_families(shards: Sequence[ShardStats]) -> Iterator[Metric]:
    depth = GaugeMetricFamily(
        "simcrm_queue_depth",
        "Jobs not yet done per shard: waiting, pending and delayed",
        labels=["shard"],
    )
    waiting = GaugeMetricFamily(
        "simcrm_queue_waiting", "Jobs ready and not yet delivered", labels=["shard", "stream"]
    )
    pending = GaugeMetricFamily(
        "simcrm_queue_pending", "Jobs delivered and not yet settled", labels=["shard", "stream"]
    )
    oldest = GaugeMetricFamily(
        "simcrm_queue_oldest_age_seconds",
        "How long the oldest entry of a ready stream has been there",
        labels=["shard", "stream"],
    )
    delayed = GaugeMetricFamily("simcrm_queue_delayed", "Jobs due later", labels=["shard"])
    dead = GaugeMetricFamily("simcrm_queue_dead_letters", "Dead letters kept", labels=["shard"])
    lag = GaugeMetricFamily(
        "simcrm_queue_mover_lag_seconds",
        "How far past due the earliest delayed job is",
        labels=["shard"],
    )
    for shard in shards:
        label = str(shard.shard)
        depth.add_metric([label], shard.depth)
        for stream, stats in shard.streams.items():
            waiting.add_metric([label, stream], stats.waiting)
            pending.add_metric([label, stream], stats.pending)
            oldest.add_metric([label, stream], stats.oldest_age_ms / 1000)
        delayed.add_metric([label], shard.delayed)
        dead.add_metric([label], shard.dead)
        lag.add_metric([label], shard.overdue_ms / 1000)
    yield from (depth, waiting, pending, oldest, delayed, dead, lag)


def limiter_families(states: Sequence[LimiterState]) -> Iterator[Metric]:
    def gauge(name: str, text: str, extra: tuple[str, ...] = ()) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, text, labels=["portal", *extra])

    used = gauge("simcrm_limiter_window_used", "Requests admitted in the rolling burst window")
    limit = gauge("simcrm_limiter_window_limit", "The burst window's limit")
    margin = gauge(
        "simcrm_limiter_window_margin_seconds", "The burst window's margin learnt from HubSpot"
    )
    senders = gauge(
        "simcrm_limiter_window_senders", "Simulations sharing the burst window (asked recently)"
    )
    daily = gauge("simcrm_limiter_daily_used", "Requests admitted since the daily reset")
    tokens = gauge("simcrm_limiter_bucket_tokens", "Tokens left in a kind's bucket", ("kind",))
    capacity = gauge("simcrm_limiter_bucket_capacity", "A kind's bucket capacity", ("kind",))
    cooldown = gauge("simcrm_limiter_cooldown_seconds", "Time left in a 429 cooldown")
    breaker = gauge("simcrm_limiter_breaker_state", "Breaker: 0 closed, 1 half-open, 2 open")
    trips = gauge("simcrm_limiter_breaker_trips", "Times the breaker opened")
    for state in states:
        portal = state.portal
        used.add_metric([portal], state.window_used)
        limit.add_metric([portal], state.window_limit)
        margin.add_metric([portal], state.window_margin_ms / 1000)
        senders.add_metric([portal], state.window_senders)
        daily.add_metric([portal], state.daily_used)
        for kind, bucket in state.buckets.items():
            tokens.add_metric([portal, kind], bucket.tokens)
            capacity.add_metric([portal, kind], bucket.capacity)
        left = max(0, (state.cooldown_until_ms or state.at_ms) - state.at_ms)
        cooldown.add_metric([portal], left / 1000)
        breaker.add_metric([portal], BREAKER_CODES[state.breaker])
        trips.add_metric([portal], state.breaker_trips)
    yield from (used, limit, margin, senders, daily, tokens, capacity, cooldown, breaker, trips)
