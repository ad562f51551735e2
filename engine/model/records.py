"""Record contents: HubSpot properties of record ``i``'s contact, company and deal.

Every value is a pure function of ``(seed, index)`` (and the object's simulated time, passed in):
picks from the simulation's :class:`Pools` by the ``identity`` stream, so the same record always
has the same person. All values are strings, as HubSpot sends and accepts them; times are epoch
milliseconds.

Every object carries ``simcrm_simulation_id``, ``simcrm_record_index``, ``simcrm_key`` (unique per
object, see :func:`engine.model.objects.object_key`) and ``simcrm_simulated_at``; contacts,
companies and deals also ``createdate`` (deals an expected ``closedate`` as well). A contact's email
is ``first.last.{sim_id}-{index in base 36}@domain``: the index makes it unique within the
simulation, the simulation id across simulations sharing a portal. The domain is the company's for a
``business`` audience and a free mail provider's for ``consumer``.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from engine.crm.objects import (
    SIMCRM_KEY,
    SIMCRM_RECORD_INDEX,
    SIMCRM_SIMULATED_AT,
    SIMCRM_SIMULATION_ID,
)
from engine.model.pools import Pools
from engine.model.rng import Stream
from engine.model.scenario import Scenario

DAY_MS = 86_400_000
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_NORMAL = NormalDist()

# Each record's identity is cut from three 64-bit words of the identity stream (and a fourth for
# the deal amount): 21- and 16-bit fields, each reduced modulo a pool size far below its range.
_M21, _M16 = (1 << 21) - 1, (1 << 16) - 1


def base36(value: int) -> str:
    if value == 0:
        return "0"
    out = []
    while value:
        value, digit = divmod(value, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


class RecordFactory:
    """Properties of the records of one simulation, from its pools."""

    __slots__ = ("_scenario", "_sim", "_stream", "pools", "sim_id")

    def __init__(self, *, sim_id: int, seed: int, scenario: Scenario, pools: Pools) -> None:
        self.sim_id = sim_id
        self.pools = pools
        self._scenario = scenario
        self._stream = Stream(seed, "identity")
        self._sim = str(sim_id)

    def _word(self, index: int, word: int) -> int:
        return self._stream.bits(index, word)

    def fill(self, index: int) -> dict[str, str]:
        """The values activity phrases may name: ``first_name``, ``company``, ``product``.

        ``company`` is the last name for consumer audiences (a household, not a firm).
        """
        pools = self.pools
        word0, word2 = self._word(index, 0), self._word(index, 2)
        products = self._scenario.texts.products
        if self._scenario.audience == "business":
            company = pools.companies[(word0 >> 42) % len(pools.companies)]
        else:
            company = pools.last_names[((word0 >> 21) & _M21) % len(pools.last_names)]
        return {
            "first_name": pools.first_names[(word0 & _M21) % len(pools.first_names)],
            "company": company,
            "product": products[((word2 >> 36) & _M16) % len(products)],
        }

    def _phone(self, word1: int, word2: int) -> str:
        templates = self.pools.phone_templates
        template = templates[((word1 >> 32) & _M16) % len(templates)]
        return template % tuple(f"{(word2 & 0xFFFFF) % 10_000:04d}")

    def contact(self, index: int, at_ms: int) -> dict[str, str]:
        """Record ``index``'s contact, created at ``at_ms`` (its scheduled time)."""
        pools = self.pools
        bits = self._stream.bits
        word0, word1, word2 = bits(index, 0), bits(index, 1), bits(index, 2)
        first = (word0 & _M21) % len(pools.first_names)
        last = ((word0 >> 21) & _M21) % len(pools.last_names)
        local = f"{pools.first_slugs[first]}.{pools.last_slugs[last]}.{self._sim}-{base36(index)}"
        at = str(at_ms)
        properties = {
            "email": "",
            "firstname": pools.first_names[first],
            "lastname": pools.last_names[last],
            "phone": self._phone(word1, word2),
            "city": pools.cities[((word1 >> 16) & _M16) % len(pools.cities)],
            "lifecyclestage": self._scenario.lifecycle.stages[0],
            "createdate": at,
            SIMCRM_SIMULATION_ID: self._sim,
            SIMCRM_RECORD_INDEX: str(index),
            SIMCRM_KEY: f"{self._sim}:contact:{index}",
            SIMCRM_SIMULATED_AT: at,
        }
        if self._scenario.audience == "business":
            company = (word0 >> 42) % len(pools.companies)
            properties["email"] = f"{local}@{pools.company_domains[company]}"
            properties["company"] = pools.companies[company]
            properties["jobtitle"] = pools.job_titles[(word1 & _M16) % len(pools.job_titles)]
        else:
            domain = pools.free_domains[(word1 >> 48) % len(pools.free_domains)]
            properties["email"] = f"{local}@{domain}"
        return properties

    def company(self, index: int, at_ms: int, ordinal: int = 0) -> dict[str, str]:
        """Record ``index``'s company (the one its contact works for), created at ``at_ms``."""
        pools = self.pools
        bits = self._stream.bits
        word0, word1, word2 = bits(index, 0), bits(index, 1), bits(index, 2)
        company = (word0 >> 42) % len(pools.companies)
        # Sizes spread log-uniformly from 2 to about 5,000 employees.
        employees = int(2 * math.exp(((word2 >> 16) & 0xFFFFF) / 0x100000 * 7.8))
        at = str(at_ms)
        return {
            "name": pools.companies[company],
            "domain": pools.company_domains[company],
            "city": pools.cities[((word1 >> 16) & _M16) % len(pools.cities)],
            "phone": self._phone(word1, word2),
            "numberofemployees": str(employees),
            "createdate": at,
            SIMCRM_SIMULATION_ID: self._sim,
            SIMCRM_RECORD_INDEX: str(index),
            SIMCRM_KEY: f"{self._sim}:company:{index}:{ordinal}",
            SIMCRM_SIMULATED_AT: at,
        }

    def deal(self, index: int, at_ms: int, ordinal: int = 0) -> dict[str, str]:
        """Record ``index``'s deal, created at ``at_ms`` at the pipeline's first stage.

        ``amount`` is lognormal around the scenario's median; ``closedate`` is the expected close,
        half to one and a half sales cycles after creation (a closing stage update moves it to
        the actual close).
        """
        deals = self._scenario.deals
        bits = self._stream.bits
        word0, word2 = bits(index, 0), bits(index, 2)
        amount_unit = (bits(index, 3) >> 11) * (1.0 / (1 << 53))
        z = _NORMAL.inv_cdf(min(max(amount_unit, 1e-12), 1 - 1e-12))
        amount = deals.amount_median * math.exp(deals.amount_sigma * z)
        cycle = deals.cycle_days * (0.5 + (word2 >> 52) / 4096) * DAY_MS
        pools = self.pools
        if self._scenario.audience == "business":
            buyer = pools.companies[(word0 >> 42) % len(pools.companies)]
        else:
            first = pools.first_names[(word0 & _M21) % len(pools.first_names)]
            buyer = f"{first} {pools.last_names[((word0 >> 21) & _M21) % len(pools.last_names)]}"
        products = self._scenario.texts.products
        product = products[((word2 >> 36) & _M16) % len(products)]
        at = str(at_ms)
        return {
            "dealname": f"{buyer} – {product}",
            "pipeline": deals.pipeline,
            "dealstage": deals.stages[0],
            "amount": f"{amount:.2f}",
            "closedate": str(at_ms + int(cycle)),
            "createdate": at,
            SIMCRM_SIMULATION_ID: self._sim,
            SIMCRM_RECORD_INDEX: str(index),
            SIMCRM_KEY: f"{self._sim}:deal:{index}:{ordinal}",
            SIMCRM_SIMULATED_AT: at,
        }
