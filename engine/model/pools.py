"""Value pools drawn once per simulation from a seeded, locale-aware Faker.

Faker is far too slow to call per record at the rates the engine needs (≥ 50,000 records/s), so a
simulation draws its pools once — names, companies, job titles, cities, phone numbers, domains —
from ``Faker(locale)`` seeded with the simulation's seed, and records pick from them by index
hash. The pools depend on the Faker version: the same seed gives the same values with the same
installed Faker.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from faker import Faker

NAME_POOL = 600
COMPANY_POOL = 1200
SMALL_POOL = 200
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def slug(text: str, joiner: str = "") -> str:
    """ASCII lowercase letters and digits of ``text``, words joined by ``joiner``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return _NOT_ALNUM.sub(joiner, ascii_text.lower()).strip(joiner)


def phone_template(number: str) -> str:
    """``number`` (extension dropped) with its last four digits as ``%s`` placeholders."""
    chars = list(number.split("x")[0].replace("%", "%%"))
    replaced = 0
    for position in range(len(chars) - 1, -1, -1):
        if chars[position].isdigit() and replaced < 4:
            chars[position] = "%s"
            replaced += 1
    return "".join(chars)


def _unique(values: list[str], limit: int) -> tuple[str, ...]:
    seen = dict.fromkeys(v for v in values if v)
    return tuple(list(seen)[:limit])


@dataclass(frozen=True, slots=True)
class Pools:
    """Parallel tuples: ``first_slugs[k]`` is the email form of ``first_names[k]``, and so on."""

    locale: str
    first_names: tuple[str, ...]
    first_slugs: tuple[str, ...]
    last_names: tuple[str, ...]
    last_slugs: tuple[str, ...]
    companies: tuple[str, ...]
    company_domains: tuple[str, ...]
    job_titles: tuple[str, ...]
    cities: tuple[str, ...]
    phone_templates: tuple[str, ...]
    free_domains: tuple[str, ...]

    @classmethod
    def draw(cls, locale: str, seed: int) -> Pools:
        """Draw every pool from ``Faker(locale)`` seeded with ``seed``."""
        fake = Faker(locale)
        fake.seed_instance(seed)
        first = _unique([fake.first_name() for _ in range(NAME_POOL * 2)], NAME_POOL)
        last = _unique([fake.last_name() for _ in range(NAME_POOL * 2)], NAME_POOL)
        companies = _unique([fake.company() for _ in range(COMPANY_POOL * 2)], COMPANY_POOL)
        tlds = [fake.tld() for _ in range(len(companies))]
        domains = tuple(
            f"{slug(name, '-') or f'company{k}'}.{tld}"
            for k, (name, tld) in enumerate(zip(companies, tlds, strict=True))
        )
        free = _unique([fake.free_email_domain() for _ in range(SMALL_POOL)], 20)
        return cls(
            locale=locale,
            first_names=first,
            first_slugs=tuple(slug(n) or f"contact{k}" for k, n in enumerate(first)),
            last_names=last,
            last_slugs=tuple(slug(n) or f"person{k}" for k, n in enumerate(last)),
            companies=companies,
            company_domains=domains,
            job_titles=_unique([fake.job() for _ in range(SMALL_POOL * 2)], SMALL_POOL),
            cities=_unique([fake.city() for _ in range(SMALL_POOL * 2)], SMALL_POOL),
            phone_templates=tuple(phone_template(fake.phone_number()) for _ in range(SMALL_POOL)),
            free_domains=free or ("example.com",),
        )
