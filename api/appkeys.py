"""Typed keys for what the application owns (aiohttp ``AppKey``s; no module-level singletons)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from api.auth import UserCache
from api.cache import TtlCache
from api.plans import Models
from api.portals import Portals
from api.throttle import CallLimiter
from core.clock import Clock
from engine.crm.transport import HubSpotClient
from engine.settings import Settings
from limits import Limiter
from schema.simulations import Simulation
from schema.store import Store
from streams import Queue

RedisClient = Redis | RedisCluster

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
REDIS: web.AppKey[RedisClient] = web.AppKey("redis")
HUBSPOT = web.AppKey("hubspot", HubSpotClient)
SANDBOX = web.AppKey("sandbox", HubSpotClient)
QUEUE = web.AppKey("queue", Queue)
LIMITER = web.AppKey("limiter", Limiter)
REPLAY_LIMITER = web.AppKey("replay_limiter", CallLimiter)
PORTALS = web.AppKey("portals", Portals)
MODELS = web.AppKey("models", Models)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
USERS: web.AppKey[UserCache] = web.AppKey("users")
SIMULATIONS: web.AppKey[TtlCache[int, Simulation]] = web.AppKey("simulations")
CLOCKS: web.AppKey[TtlCache[tuple[int, int], Any]] = web.AppKey("clocks")
