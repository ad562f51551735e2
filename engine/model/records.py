"""Record contents: HubSpot properties of record ``i``'s contact, company and deal.

Every value is a pure function of ``(seed, index)`` (and the object's simulated time, passed in):
picks from the simulation's :class:`Pools` by the ``identity`` stream, so the same record always
has the same person. All values are strings, as HubSpot sends and accepts them; times are epoch
milliseconds.

Every object carries ``simcrm_sim_id``, ``simcrm_index``, ``simcrm_key`` (unique per object, see
:func:`engine.model.objects.object_key`) and ``simcrm_simulated_at``; contacts, companies and
deals also ``createdate`` (deals an expected ``closedate`` as well). A contact's email is
``first.last.{sim_id}-{index in base 36}@domain``: the index makes it unique within the simulation,
the simulation id across simulations sharing a portal. The domain is the company's for a
``business`` audience and a free mail provider's for ``consumer``.
"""

from __future__ import annotations

import math
from statistics import NormalDist

from engine.model.objects import object_key
from engine.model.pools import Pools
from engine.model.rng import Stream
from engine.model.scenario import Scenario

DAY_MS = 86_400_000
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_NORMAL = NormalDist()

# Draw numbers of the identity stream, one per attribute, so attributes are independent.
_FIRST, _LAST, _COMPANY, _TITLE, _CITY, _PHONE, _PHONE_DIGITS, _FREE = range(8)
_EMPLOYEES, _AMOUNT, _PRODUCT, _CYCLE = range(8, 12)


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

    def _pick(self, index: int, draw: int, size: int) -> int:
        return self._stream.bits(index, draw) % size

    def first_name(self, index: int) -> str:
        return self.pools.first_names[self._pick(index, _FIRST, len(self.pools.first_names))]

    def last_name(self, index: int) -> str:
        return self.pools.last_names[self._pick(index, _LAST, len(self.pools.last_names))]

    def company_name(self, index: int) -> str:
        """The name of the company record ``index`` works for (business audiences)."""
        return self.pools.companies[self._pick(index, _COMPANY, len(self.pools.companies))]

    def product(self, index: int) -> str:
        products = self._scenario.texts.products
        return products[self._pick(index, _PRODUCT, len(products))]

    def _common(self, kind: str, index: int, at_ms: int, ordinal: int | None) -> dict[str, str]:
        at = str(at_ms)
        return {
            "createdate": at,
            "simcrm_sim_id": self._sim,
            "simcrm_index": str(index),
            "simcrm_key": object_key(self.sim_id, kind, index, ordinal),
            "simcrm_simulated_at": at,
        }

    def _phone(self, index: int) -> str:
        pools = self.pools
        template = pools.phone_templates[self._pick(index, _PHONE, len(pools.phone_templates))]
        digits = f"{self._stream.bits(index, _PHONE_DIGITS) % 10_000:04d}"
        return template % tuple(digits)

    def contact(self, index: int, at_ms: int) -> dict[str, str]:
        """Record ``index``'s contact, created at ``at_ms`` (its scheduled time)."""
        pools = self.pools
        bits = self._stream.bits
        first = bits(index, _FIRST) % len(pools.first_names)
        last = bits(index, _LAST) % len(pools.last_names)
        local = f"{pools.first_slugs[first]}.{pools.last_slugs[last]}.{self._sim}-{base36(index)}"
        properties = {
            "email": "",
            "firstname": pools.first_names[first],
            "lastname": pools.last_names[last],
            "phone": self._phone(index),
            "city": pools.cities[bits(index, _CITY) % len(pools.cities)],
            "lifecyclestage": self._scenario.lifecycle.stages[0],
        }
        if self._scenario.audience == "business":
            company = bits(index, _COMPANY) % len(pools.companies)
            properties["email"] = f"{local}@{pools.company_domains[company]}"
            properties["company"] = pools.companies[company]
            properties["jobtitle"] = pools.job_titles[bits(index, _TITLE) % len(pools.job_titles)]
        else:
            domain = pools.free_domains[bits(index, _FREE) % len(pools.free_domains)]
            properties["email"] = f"{local}@{domain}"
        properties.update(self._common("contact", index, at_ms, None))
        return properties

    def company(self, index: int, at_ms: int, ordinal: int = 0) -> dict[str, str]:
        """Record ``index``'s company (the one its contact works for), created at ``at_ms``."""
        pools = self.pools
        company = self._pick(index, _COMPANY, len(pools.companies))
        # Sizes spread log-uniformly from 2 to about 5,000 employees.
        employees = int(2 * math.exp(self._stream.unit(index, _EMPLOYEES) * 7.8))
        properties = {
            "name": pools.companies[company],
            "domain": pools.company_domains[company],
            "city": pools.cities[self._pick(index, _CITY, len(pools.cities))],
            "phone": self._phone(index),
            "numberofemployees": str(employees),
        }
        properties.update(self._common("company", index, at_ms, ordinal))
        return properties

    def deal(self, index: int, at_ms: int, ordinal: int = 0) -> dict[str, str]:
        """Record ``index``'s deal, created at ``at_ms`` at the pipeline's first stage.

        ``amount`` is lognormal around the scenario's median; ``closedate`` is the expected close,
        half to one and a half sales cycles after creation (a closing stage update moves it to
        the actual close).
        """
        deals = self._scenario.deals
        stream = self._stream
        z = _NORMAL.inv_cdf(min(max(stream.unit(index, _AMOUNT), 1e-12), 1 - 1e-12))
        amount = deals.amount_median * math.exp(deals.amount_sigma * z)
        cycle = deals.cycle_days * (0.5 + stream.unit(index, _CYCLE)) * DAY_MS
        if self._scenario.audience == "business":
            buyer = self.company_name(index)
        else:
            buyer = f"{self.first_name(index)} {self.last_name(index)}"
        properties = {
            "dealname": f"{buyer} – {self.product(index)}",
            "pipeline": deals.pipeline,
            "dealstage": deals.stages[0],
            "amount": f"{amount:.2f}",
            "closedate": str(at_ms + int(cycle)),
        }
        properties.update(self._common("deal", index, at_ms, ordinal))
        return properties
