"""The schedule: pure, sorted, inside the window, with exact O(log N) index ranges, and the
arrival profile's statistics (Kolmogorov–Smirnov against each distribution's CDF)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model.grid import HourGrid
from engine.model.methods import DistributionMethod
from engine.model.shapes import Exponential, PiecewiseLinear, Triangular, TruncatedNormal, Uniform
from tests.engine.model.helpers import model

METHODS = [m.value for m in DistributionMethod if m is not DistributionMethod.STAGES]
STAGES = {"points": [[0, 0.2], [0.25, 1.0], [0.5, 0.0], [0.75, 0.0], [1, 2.0]]}
CALENDARS = [{"preset": "none"}, {"preset": "b2b"}, {"preset": "b2c", "country": "US"}]


def _params(method: str) -> dict[str, object]:
    return dict(STAGES) if method == "stages" else {}


@given(
    fraction=st.floats(0, 1),
    shape=st.sampled_from(
        [
            Uniform(),
            PiecewiseLinear((0.0, 1.0), (0.0, 1.0)),
            PiecewiseLinear((0.0, 1.0), (1.0, 0.0)),
            PiecewiseLinear((0.0, 0.3, 1.0), (1.0, 5.0, 2.0)),
            TruncatedNormal(0.5, 1 / 6),
            TruncatedNormal(0.1, 0.05),
            Triangular(0.2),
            Triangular(1.0),
            Exponential(0.25),
            Exponential(0.1, backward=True),
        ]
    ),
)
def test_every_shape_inverse_undoes_its_cdf(fraction: float, shape: object) -> None:
    """For every shape, F(G(p)) = p: the inverse used for times is the CDF's true inverse."""
    assert math.isclose(shape.cdf(shape.inverse(fraction)), fraction, abs_tol=1e-9)  # type: ignore[attr-defined]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from([*METHODS, "stages"]),
    calendar=st.sampled_from(CALENDARS),
    total=st.integers(1, 3000),
    seed=st.integers(0, 2**63 - 1),
    days=st.floats(0.05, 40),
)
def test_times_are_sorted_inside_the_window_and_segments_partition(
    method: str, calendar: dict[str, object], total: int, seed: int, days: float
) -> None:
    """For every method and calendar: start ≤ t < end, times never decrease with the index,
    and the index ranges of adjacent segments partition 0..N exactly, each range holding exactly
    the records whose time falls in its segment."""
    end_ms = 1_741_000_000_000 + int(days * 86_400_000)
    sim = model(
        distribution_method=method,
        distribution_params=_params(method),
        calendar=calendar,
        total_records=total,
        seed=seed,
        start_time="2025-03-03T11:06:40Z",
        end_time=datetime.fromtimestamp(end_ms / 1000, UTC).isoformat(),
    )
    schedule = sim.schedule
    times = list(schedule.times())
    assert times == [schedule.time_of(i) for i in range(total)]
    assert times == sorted(times)
    assert schedule.start_ms <= times[0]
    assert times[-1] < schedule.end_ms
    length = max(1, (schedule.end_ms - schedule.start_ms) // 7)
    expected_first = 0
    for segment in schedule.segments(length):
        assert segment.first == expected_first
        inside = [i for i in range(segment.first, segment.stop)]
        assert all(segment.start_ms <= times[i] < segment.end_ms for i in inside)
        expected_first = segment.stop
    assert expected_first == total


def test_poisson_index_ranges_match_a_scan() -> None:
    """Poisson's tree look-up finds the same first index as scanning every time."""
    sim = model(distribution_method="poisson", total_records=5000, seed=99)
    times = list(sim.schedule.times())
    for t in range(sim.spec.start_ms, sim.spec.end_ms, 3_600_000 * 7 + 12345):
        expected = next((i for i, x in enumerate(times) if x >= t), len(times))
        assert sim.schedule.first_at_or_after(t) == expected


def test_times_need_no_other_record() -> None:
    """Record i's time is the same whether asked alone, in a run, or in another model."""
    first = model(distribution_method="bell", total_records=100_000, seed=5)
    second = model(distribution_method="bell", total_records=100_000, seed=5)
    run = list(first.schedule.times(40_000, 40_010))
    assert run == [second.time_of(i) for i in range(40_000, 40_010)]
    assert (
        model(distribution_method="bell", total_records=100_000, seed=6).time_of(40_000) != (run[0])
    )


def _ks_distance(sim_method: str, calendar: dict[str, object], params: dict[str, object]) -> float:
    sim = model(
        distribution_method=sim_method,
        distribution_params=params,
        calendar=calendar,
        total_records=100_000,
        seed=20250301,
    )
    total = sim.spec.total_records
    cdf = sim.profile.cdf
    distance = 0.0
    for i, t in enumerate(sim.schedule.times()):
        # Times are whole milliseconds: compare with the CDF just after the millisecond.
        value = cdf(t + 1)
        distance = max(distance, abs(value - i / total), abs(value - (i + 1) / total))
    return distance


@pytest.mark.slow
@pytest.mark.parametrize("method", [*METHODS, "stages"])
def test_arrivals_follow_their_distribution(method: str) -> None:
    """The empirical CDF of 100,000 arrivals matches the distribution's CDF: stratified methods
    within 0.001 (they are close to exact quantiles), poisson within 1.63/√N = 0.0052 (the 99 %
    Kolmogorov–Smirnov bound for iid samples)."""
    bound = 1.63 / math.sqrt(100_000) if method == "poisson" else 0.001
    assert _ks_distance(method, {"preset": "none"}, _params(method)) < bound


@pytest.mark.slow
@pytest.mark.parametrize("method", ["bell", "poisson"])
def test_calendar_weighted_arrivals_follow_the_weighted_cdf(method: str) -> None:
    """With b2b weights and US holidays the arrivals still match the combined CDF."""
    bound = 1.63 / math.sqrt(100_000) if method == "poisson" else 0.001
    assert _ks_distance(method, {"preset": "b2b", "country": "US"}, {}) < bound


@pytest.mark.parametrize("method", ["uniform", "poisson", "front_loaded"])
def test_b2b_arrivals_keep_business_hours_across_dst(method: str) -> None:
    """With the b2b preset at least 90 % of arrivals fall 08:00–18:00 local on weekdays, over a
    window that crosses the US daylight-saving change (2025-03-09)."""
    sim = model(
        distribution_method=method,
        calendar={"preset": "b2b"},
        total_records=50_000,
        start_time="2025-03-01T00:00:00Z",
        end_time="2025-03-22T00:00:00Z",
    )
    zone = ZoneInfo("America/New_York")
    business = 0
    for t in sim.schedule.times():
        local = datetime.fromtimestamp(t / 1000, UTC).astimezone(zone)
        business += local.weekday() < 5 and 8 <= local.hour < 18
    assert business / 50_000 >= 0.90


def test_grid_walks_utc_through_dst() -> None:
    """The spring-forward day has 23 hourly buckets and the fall-back day 25, labelled with the
    local hours they show (02:00 is missing in March, 01:00 appears twice in November)."""
    zone = "America/New_York"
    spring = HourGrid.build(1_741_496_400_000, 1_741_579_200_000, zone)  # 2025-03-09 local day
    assert spring.size == 23
    assert 2 not in spring.local_hours
    autumn = HourGrid.build(1_762_056_000_000, 1_762_146_000_000, zone)  # 2025-11-02 local day
    assert autumn.size == 25
    assert autumn.local_hours.count(1) == 2
