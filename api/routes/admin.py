"""Operator endpoints: purge dead letters, reset an account's limiter, rotate or revoke API keys,
disable and enable users.

Everything that changes shared state is for bosses; a user may rotate or revoke only their own
key (``/api/me/api-key``). Purging destroys, so it is a dry run unless ``dryRun=false``: the dry
run answers what would go, by category. A key rotated or revoked, or a user disabled, stops
authenticating on the very next request, in every API process (:mod:`api.keyring`). A new key is
in the answer that made it, once; it is stored only as a hash.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import ConfigDict, Field, field_validator

from api.access import visible_simulation
from api.appkeys import KEY_EPOCH, LIMITER, QUEUE, STORE
from api.errors import Conflict, NotFound, Unavailable
from api.live import RedisDown, live
from api.routing import Call, Reply, Routes
from api.schemas import Camel
from engine.runtime.outcomes import DeadLetterCategory
from schema.users import Role, User

routes = Routes("admin")

_ACCOUNT = re.compile(r"^[0-9]{1,20}$")


class PurgeQuery(Camel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    dry_run: bool = Field(default=True, description="only report what would go (the default)")
    categories: str | None = Field(
        default=None,
        description="comma-separated dead-letter categories (all if absent)",
        max_length=200,
    )

    @field_validator("categories")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        if value is None:
            return None
        names = [name.strip() for name in value.split(",") if name.strip()]
        allowed = {category.value for category in DeadLetterCategory}
        unknown = [name for name in names if name not in allowed]
        if unknown:
            raise ValueError(f"unknown categories {unknown}; choose from {sorted(allowed)}")
        return ",".join(names) or None

    def chosen(self) -> list[str] | None:
        return None if self.categories is None else self.categories.split(",")


class PurgeOut(Camel):
    simulation_id: int
    dry_run: bool
    selected: dict[str, int] = Field(description="matching dead letters by category")
    selected_total: int
    purged: int = Field(description="dead letters deleted (0 in a dry run)")


@routes.route(
    "DELETE",
    "/api/simulations/{id}/dlq",
    summary="Purge a simulation's dead letters (a dry run unless dryRun=false)",
    auth="boss",
    query=PurgeQuery,
    responses={200: PurgeOut},
    errors=(404, 503),
)
async def purge_dead_letters(call: Call) -> Reply:
    """Dry-run first: the answer lists what a real purge deletes. Purged dead letters cannot be
    replayed; the simulation's ``dead`` count keeps them (they did die)."""
    row = await visible_simulation(call)
    query = call.query_as(PurgeQuery)
    dead_letters = call.request.app[QUEUE].dead_letters
    wanted = query.chosen()
    try:
        counts = (await live(dead_letters.scope(str(row.id)))).counts
        selected = {c: n for c, n in counts.items() if wanted is None or c in wanted}
        purged = 0
        if not query.dry_run and selected:
            purged = await live(dead_letters.purge(str(row.id), categories=wanted))
    except RedisDown:
        raise Unavailable("Redis is down: dead letters cannot be purged now") from None
    body = PurgeOut(
        simulation_id=row.id,
        dry_run=query.dry_run,
        selected=selected,
        selected_total=sum(selected.values()),
        purged=purged,
    )
    return Reply(200, body)


class LimitsResetOut(Camel):
    account: str
    reset: bool = Field(description="the account's windows, buckets, cooldown and breaker are gone")


@routes.route(
    "POST",
    "/api/limits/{account}/reset",
    summary="Forget an account's limiter state: windows, buckets, cooldown, breaker",
    auth="boss",
    responses={200: LimitsResetOut},
    errors=(404, 503),
)
async def reset_limits(call: Call) -> Reply:
    """For a breaker or cooldown known to be stale; the daily count starts over too."""
    account = call.request.match_info["account"]
    if not _ACCOUNT.match(account):
        raise NotFound(f"no account {account!r}: an account is HubSpot's numeric portal id")
    try:
        await live(call.request.app[LIMITER].reset(account))
    except RedisDown:
        raise Unavailable("Redis is down: the limiter cannot be reset now") from None
    return Reply(200, LimitsResetOut(account=account, reset=True))


class UserOut(Camel):
    id: int
    email: str
    role: Role
    disabled: bool
    has_key: bool = Field(description="false once the key is revoked, until the next rotation")
    created_at: datetime


class UsersOut(Camel):
    users: list[UserOut]


class NewKeyOut(Camel):
    user_id: int
    api_key: str = Field(description="the new key, shown this once; the old one no longer works")


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        role=user.role,
        disabled=user.disabled,
        has_key=user.has_key,
        created_at=user.created_at,
    )


async def _target(call: Call) -> User:
    user_id = call.path_int("id")
    user = await call.request.app[STORE].users.get(user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


async def _changed(call: Call) -> None:
    """Every API process checks remembered keys again on its next request."""
    await call.request.app[KEY_EPOCH].bump()


async def _rotate(call: Call, user: User) -> Reply:
    api_key = await call.request.app[STORE].users.rotate_key(user.id)
    if api_key is None:
        raise NotFound(f"user {user.id} does not exist")
    await _changed(call)
    return Reply(200, NewKeyOut(user_id=user.id, api_key=api_key))


async def _revoke(call: Call, user: User) -> Reply:
    if not await call.request.app[STORE].users.revoke_key(user.id):
        raise NotFound(f"user {user.id} does not exist")
    await _changed(call)
    return Reply(204)


@routes.route(
    "POST",
    "/api/me/api-key",
    summary="Rotate your own API key: the answer holds the new one, the old one stops working",
    responses={200: NewKeyOut},
)
async def rotate_own_key(call: Call) -> Reply:
    return await _rotate(call, call.caller)


@routes.route(
    "DELETE",
    "/api/me/api-key",
    summary="Revoke your own API key (no key works until a boss rotates it)",
    responses={204: None},
)
async def revoke_own_key(call: Call) -> Reply:
    return await _revoke(call, call.caller)


@routes.route(
    "GET",
    "/api/users",
    summary="Every user, with whether they are disabled and hold a key",
    auth="boss",
    responses={200: UsersOut},
)
async def list_users(call: Call) -> Reply:
    everyone = await call.request.app[STORE].users.list()
    return Reply(200, UsersOut(users=[_user_out(user) for user in everyone]))


@routes.route(
    "POST",
    "/api/users/{id}/api-key",
    summary="Rotate a user's API key: the answer holds the new one, the old one stops working",
    auth="boss",
    responses={200: NewKeyOut},
    errors=(404,),
)
async def rotate_key(call: Call) -> Reply:
    return await _rotate(call, await _target(call))


@routes.route(
    "DELETE",
    "/api/users/{id}/api-key",
    summary="Revoke a user's API key at once (a rotation gives them a new one)",
    auth="boss",
    responses={204: None},
    errors=(404,),
)
async def revoke_key(call: Call) -> Reply:
    return await _revoke(call, await _target(call))


async def _set_disabled(call: Call, disabled: bool) -> Reply:
    user = await _target(call)
    if disabled and user.id == call.caller.id:
        raise Conflict("you cannot disable yourself; ask another boss")
    changed = await call.request.app[STORE].users.set_disabled(user.id, disabled)
    if changed is None:
        raise NotFound(f"user {user.id} does not exist")
    await _changed(call)
    return Reply(200, _user_out(changed))


@routes.route(
    "POST",
    "/api/users/{id}/disable",
    summary="Disable a user: their key stops working at once; their simulations stay",
    auth="boss",
    responses={200: UserOut},
    errors=(404, 409),
)
async def disable_user(call: Call) -> Reply:
    return await _set_disabled(call, True)


@routes.route(
    "POST",
    "/api/users/{id}/enable",
    summary="Enable a disabled user again (their key, if not revoked, works again)",
    auth="boss",
    responses={200: UserOut},
    errors=(404,),
)
async def enable_user(call: Call) -> Reply:
    return await _set_disabled(call, False)
