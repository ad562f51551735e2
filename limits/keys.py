"""Every Redis key the limiter uses, built here and nowhere else.

All keys of one account (portal) share the hash tag ``{p<portal>}``, so every script touching
them runs on one Cluster slot::

    simcrm:limits:{p<portal>}:window    sorted set: admissions of the 10-second burst window
                                        (member = admission id, or ``<id>:<sender>`` when the
                                        admission named its sender; score = admission ms)
    simcrm:limits:{p<portal>}:search    sorted set: admissions of the search window (1 s)
    simcrm:limits:{p<portal>}:failures  sorted set: 5xx / network failures of the breaker window
    simcrm:limits:{p<portal>}:senders   sorted set: senders (simulations) sharing the burst window
                                        (member = sender, score = ms it last asked)
    simcrm:limits:{p<portal>}:wanting   sorted set: senders refused room in the burst window
                                        (member = sender, score = ms of its last such refusal)
    simcrm:limits:{p<portal>}:state     hash, fields:
        seq                    admission id counter
        bucket:<kind>          tokens left in the kind's bucket (float)
        bucket_at:<kind>       ms of the bucket's last refill
        daily_used             requests admitted since the last daily reset
        daily_reset_at         ms of the next daily reset
        daily_max              daily limit reported by HubSpot's headers
        window_max             burst limit reported by HubSpot's headers
        margin                 the learnt safety margin of the burst window, ms (absent: the cap)
        rtt, rtt_prev          longest round trip (admission → answer) of this window-long period
                               and of the one before, ms
        rtt_period             the period ``rtt`` belongs to (now ÷ window)
        cooldown_until         ms until which a 429 holds every request back
        cooldown_policy        ``window`` or ``daily``: which 429 set the cooldown
        search_cooldown_until  ms until which a search 429 holds searches back
        open_until             ms until which the breaker is open (absent: closed)
        probe_until, probe_at  the half-open probe in flight: its deadline and admission ms
        trips                  how many times the breaker opened

Every key expires when the account is idle (see the scripts for each TTL).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.keys import DEFAULT_KEY_PREFIX

# Always the default prefix, never SIMCRM_KEY_PREFIX: an account has one budget, whichever
# deployment spends it, so every deployment must find the same keys.
PREFIX = f"{DEFAULT_KEY_PREFIX}:limits"


def portal_tag(portal: str) -> str:
    """The hash tag shared by an account's keys."""
    return f"{{p{portal}}}"


@dataclass(frozen=True, slots=True)
class PortalKeys:
    """The keys of one account; ``portal`` is HubSpot's account id (digits, as a string)."""

    portal: str

    def __post_init__(self) -> None:
        if not self.portal or any(ch in self.portal for ch in "{}: \t\r\n"):
            raise ValueError(
                f"portal must be a non-empty id without braces, colons or spaces: {self.portal!r}"
            )

    @property
    def window(self) -> str:
        return f"{PREFIX}:{portal_tag(self.portal)}:window"

    @property
    def search(self) -> str:
        return f"{PREFIX}:{portal_tag(self.portal)}:search"

    @property
    def failures(self) -> str:
        return f"{PREFIX}:{portal_tag(self.portal)}:failures"

    @property
    def state(self) -> str:
        return f"{PREFIX}:{portal_tag(self.portal)}:state"

    @property
    def senders(self) -> str:
        return f"{PREFIX}:{portal_tag(self.portal)}:senders"

    @property
    def wanting(self) -> str:
        return f"{PREFIX}:{portal_tag(self.portal)}:wanting"

    def all(self) -> tuple[str, str, str, str, str, str]:
        return (self.window, self.search, self.failures, self.state, self.senders, self.wanting)
