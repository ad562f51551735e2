"""Bearer API keys: ``Authorization: Bearer <api key>`` → the user, or 401.

Only the key's SHA-256 is looked up (an index hit); the stored hash is compared in constant time.
A key found is remembered by its digest for a few seconds (:data:`USER_CACHE_S`), so a client
polling several times a second does not cost a database read per request; unknown keys are never
remembered. The key itself is never kept, logged or put in an error message.

A header that cannot hold a key (bytes outside printable ASCII — aiohttp hands undecodable bytes
over as surrogates) is refused as an invalid key with one short log line, before any look-up.
"""

from __future__ import annotations

import structlog
from aiohttp import web

from api.cache import TtlCache
from api.errors import Unauthorized
from schema.crypto import hash_api_key
from schema.store import Store
from schema.users import User

USER_CACHE_S = 5.0

log = structlog.get_logger()

UserCache = TtlCache[str, User]


def user_cache() -> UserCache:
    return TtlCache(USER_CACHE_S)


async def authenticate(request: web.Request, store: Store, cache: UserCache) -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if not header:
        raise Unauthorized("send your API key as 'Authorization: Bearer <api key>'")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <api key>'")
    secret = key.strip()
    if not (secret.isascii() and secret.isprintable()):
        log.info("api_key_malformed", remote=request.remote)
        raise Unauthorized("the API key is not valid")
    user = await cache.load(hash_api_key(secret), lambda: store.users.by_api_key(secret))
    if user is None:
        raise Unauthorized("the API key is not valid")
    return user
