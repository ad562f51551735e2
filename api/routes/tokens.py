"""``/api/me/hubspot-token``: store, show (last four characters only) and delete your token."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from api.appkeys import HUBSPOT, SETTINGS, STORE
from api.errors import BadGateway, NotFound, Unavailable, Unprocessable
from api.routing import Call, Reply, Routes
from engine.crm import AuthFailed, CrmError, check_token
from schema.credentials import CredentialInfo
from schema.crypto import TokenCipher

routes = Routes("hubspot-token")


class TokenIn(BaseModel):
    token: str = Field(min_length=8, max_length=512, description="a HubSpot private-app token")

    @field_validator("token")
    @classmethod
    def _no_spaces(cls, value: str) -> str:
        value = value.strip()
        if not value or not all("!" <= ch <= "~" for ch in value):
            raise ValueError("must be a token of visible ASCII characters, without spaces")
        return value

    def __repr__(self) -> str:
        return "TokenIn(token='***')"


class TokenOut(BaseModel):
    last4: str = Field(description="the token's last four characters; the token is never shown")
    portal_id: int | None = Field(serialization_alias="portalId")
    updated_at: datetime = Field(serialization_alias="updatedAt")


def _out(info: CredentialInfo) -> TokenOut:
    return TokenOut(last4=info.last4, portal_id=info.portal_id, updated_at=info.updated_at)


def _cipher(call: Call) -> TokenCipher:
    keys = call.request.app[SETTINGS].security.token_keys()
    if not keys:
        raise Unavailable("the server has no TOKEN_ENC_SECRET, so it cannot store tokens")
    return TokenCipher(keys)


@routes.route(
    "PUT",
    "/api/me/hubspot-token",
    summary="Store your HubSpot token (checked with HubSpot first, then encrypted)",
    body=TokenIn,
    responses={200: TokenOut},
    errors=(502, 503),
)
async def put_token(call: Call) -> Reply:
    """The token is checked with one cheap HubSpot call; a rejected token is not stored."""
    token = call.body_as(TokenIn).token
    cipher = _cipher(call)
    try:
        account = await check_token(call.request.app[HUBSPOT], token)
    except AuthFailed as exc:
        message = f"HubSpot rejected it: {exc}"
        raise Unprocessable(f"token: {message}", [_token_field(message)]) from None
    except CrmError as exc:
        raise BadGateway(f"could not check the token with HubSpot: {exc}") from None
    portal_id = int(account.portal_id) if account.portal_id.isdigit() else None
    info = await call.request.app[STORE].credentials.put(
        call.caller.id, token, cipher, portal_id=portal_id
    )
    return Reply(200, _out(info))


def _token_field(message: str) -> dict[str, str]:
    return {"field": "token", "in": "body", "message": message}


@routes.route(
    "GET",
    "/api/me/hubspot-token",
    summary="Show which token is stored (last four characters only)",
    responses={200: TokenOut},
    errors=(404,),
)
async def get_token(call: Call) -> Reply:
    info = await call.request.app[STORE].credentials.info(call.caller.id)
    if info is None:
        raise NotFound("you have not stored a HubSpot token")
    return Reply(200, _out(info))


@routes.route(
    "DELETE",
    "/api/me/hubspot-token",
    summary="Delete your stored token",
    responses={204: None},
    errors=(404,),
)
async def delete_token(call: Call) -> Reply:
    if not await call.request.app[STORE].credentials.delete(call.caller.id):
        raise NotFound("you have not stored a HubSpot token")
    return Reply(204)
