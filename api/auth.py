"""Bearer API keys: ``Authorization: Bearer <api key>`` → the user, or 401.

Only the key's SHA-256 is looked up (an index hit); the stored hash is compared in constant time.
The key never reaches a log or an error message.
"""

from __future__ import annotations

from aiohttp import web

from api.errors import Unauthorized
from schema.store import Store
from schema.users import User


async def authenticate(request: web.Request, store: Store) -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if not header:
        raise Unauthorized("send your API key as 'Authorization: Bearer <api key>'")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <api key>'")
    user = await store.users.by_api_key(key.strip())
    if user is None:
        raise Unauthorized("the API key is not valid")
    return user
