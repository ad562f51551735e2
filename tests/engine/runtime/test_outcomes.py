"""How CRM failures become queue outcomes, and which categories dead letters can carry."""

from __future__ import annotations

from core.clock import ManualClock
from engine.crm import ErrorCategory
from engine.runtime.outcomes import DeadLetterCategory, Outcomes, Tally
from streams import DeadLetter, Job, QueueCategory, Retry


def test_dead_letter_categories_are_the_crms_and_the_queues() -> None:
    """The categories the API accepts for replay and lists in its catalog are exactly those a
    dead letter can carry — every CRM failure category and the queue's own — in SPEC §4's
    order."""
    assert {*ErrorCategory, *QueueCategory} == set(DeadLetterCategory)
    assert [c.value for c in DeadLetterCategory] == [
        "rate_limit",
        "auth",
        "validation",
        "conflict",
        "not_found",
        "server",
        "network",
        "stalled",
        "unknown",
    ]


def test_a_crm_failure_keeps_its_category_and_dies_on_the_last_attempt() -> None:
    """A retryable failure is retried with its CRM category until the queue says the attempt is
    the last one; then, like a permanent failure, it is dead-lettered with that category."""
    last = {"c1": False, "c2": True}
    outcomes = Outcomes(lambda job: last[job.id], clock=ManualClock(0))
    tally = Tally()
    for category in ErrorCategory:
        retried = outcomes.failed(Job("c1", "contact", "1"), tally, category, "x", retryable=True)
        dead = outcomes.failed(Job("c2", "contact", "1"), tally, category, "x", retryable=True)
        given_up = outcomes.failed(Job("c1", "contact", "1"), tally, category, "x", retryable=False)
        assert retried == Retry(None, category.value, "x")
        assert dead == given_up == DeadLetter(category.value, "x")
