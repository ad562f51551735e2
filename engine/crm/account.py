"""Whose account a token opens: the account-info details, and the token check that reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from engine.crm.transport import HubSpotTransport, secret_token


@dataclass(frozen=True, slots=True)
class AccountDetails:
    """What ``GET /account-info/v3/details`` says about the token's account."""

    portal_id: str
    time_zone: str | None = None
    ui_domain: str | None = None
    account_type: str | None = None
    data_hosting_location: str | None = None

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> AccountDetails:
        return cls(
            portal_id=str(body["portalId"]),
            time_zone=body.get("timeZone"),
            ui_domain=body.get("uiDomain"),
            account_type=body.get("accountType"),
            data_hosting_location=body.get("dataHostingLocation"),
        )


async def check_token(transport: HubSpotTransport, token: SecretStr | str) -> AccountDetails:
    """Check a token cheaply and tell whose account it is.

    Reads ``GET /account-info/v3/details`` (the portal id, time zone …), then lists one contact
    to prove the token may use the CRM (account info answers almost any token). Not admitted
    through the limiter, since the account is not known before this call; once it is, the two
    requests are counted against its window, so a burst right after a check cannot exceed the
    limit by them.

    Raises:
        AuthFailed: the token is invalid, expired, or lacks the CRM scopes.
        CrmError: any other failure, classified.
    """
    secret = secret_token(token)
    answer = await transport.request(secret, None, "GET", "/account-info/v3/details")
    details = AccountDetails.from_body(answer.body)
    await transport.note_time_zone(details.portal_id, details.time_zone)
    await transport.request(secret, None, "GET", "/crm/v3/objects/contacts", params={"limit": "1"})
    await transport.count_sent(details.portal_id, 2)
    return details
