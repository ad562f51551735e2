"""Whether objects are sent with their simulated ``createdate`` (SPEC §6).

Contacts, companies, deals and tickets carry ``createdate`` = their simulated time, so a backfill
reads as history. HubSpot's acceptance of a written ``createdate`` is not confirmed, so it can be
turned off (HUBSPOT_WRITE_CREATEDATE=0), and an account that refuses it with a validation error
naming ``createdate`` has it turned off by itself — logged once, and the refused inputs are sent
again without it at once (inputs that succeeded are not sent twice).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

import structlog

from engine.crm import BatchResult, ErrorCategory, ItemResult, ValidationFailed

FIELD = "createdate"
Input = TypeVar("Input")

log = structlog.get_logger()


class CreatedatePolicy:
    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._refused: set[str] = set()

    def strips(self, portal_id: str) -> bool:
        return not self.enabled or portal_id in self._refused

    @staticmethod
    def apply(properties: Mapping[str, str], strip: bool) -> Mapping[str, str]:
        if strip and FIELD in properties:
            return {name: value for name, value in properties.items() if name != FIELD}
        return properties

    async def send(
        self,
        portal_id: str,
        build: Callable[[Sequence[int], bool], Sequence[Input]],
        post: Callable[[Sequence[Input]], Awaitable[BatchResult]],
        count: int,
    ) -> list[ItemResult]:
        """Post inputs ``0..count-1``, built by ``build(positions, strip)``; results in order."""
        everything = list(range(count))
        strip = self.strips(portal_id)
        try:
            items = list((await post(build(everything, strip))).items)
        except ValidationFailed as exc:
            if strip or FIELD not in str(exc):
                raise
            self._refuse(portal_id)
            return list((await post(build(everything, True))).items)
        refused = [item.index for item in items if not strip and _names_createdate(item)]
        if refused:
            self._refuse(portal_id)
            again = (await post(build(refused, True))).items
            for position, item in zip(refused, again, strict=True):
                items[position] = dataclasses.replace(item, index=position)
        return items

    def _refuse(self, portal_id: str) -> None:
        if portal_id not in self._refused:
            self._refused.add(portal_id)
            log.warning("createdate_refused", portal_id=portal_id)


def _names_createdate(item: ItemResult) -> bool:
    return item.category is ErrorCategory.VALIDATION and FIELD in (item.message or "")
