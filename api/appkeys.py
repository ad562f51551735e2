"""Typed keys for what the application owns (aiohttp ``AppKey``s; no module-level singletons)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from api.auth import UserCache
from api.cache import TtlCache
from api.keyring import KeyEpoch
from api.plans import Models
from api.throttle import CallLimiter
from core.clock import Clock
from engine.crm import HubSpotTransport
from engine.settings import Settings
from engine.simulations import Portals, Simulations
from limits import Limiter
from schema.simulations import Simulation
from schema.store import Store
from streams import Queue

RedisClient = Redis | RedisCluster

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
REDIS: web.AppKey[RedisClient] = web.AppKey("redis")
HUBSPOT = web.AppKey("hubspot", HubSpotTransport)
SANDBOX = web.AppKey("sandbox", HubSpotTransport)
QUEUE = web.AppKey("queue", Queue)
LIMITER = web.AppKey("limiter", Limiter)
REPLAY_LIMITER = web.AppKey("replay_limiter", CallLimiter)
PORTALS = web.AppKey("portals", Portals)
SIMULATION_SERVICE = web.AppKey("simulation_service", Simulations)
MODELS = web.AppKey("models", Models)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
USERS: web.AppKey[UserCache] = web.AppKey("users")
KEY_EPOCH = web.AppKey("key_epoch", KeyEpoch)
SIMULATIONS: web.AppKey[TtlCache[int, Simulation]] = web.AppKey("simulations")
CLOCKS: web.AppKey[TtlCache[tuple[int, int], Any]] = web.AppKey("clocks")
