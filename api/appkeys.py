"""Typed keys for what the application owns (aiohttp ``AppKey``s; no module-level singletons)."""

from __future__ import annotations

from aiohttp import web
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from engine.crm.transport import HubSpotClient
from engine.settings import Settings
from schema.store import Store

RedisClient = Redis | RedisCluster

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
REDIS: web.AppKey[RedisClient] = web.AppKey("redis")
HUBSPOT = web.AppKey("hubspot", HubSpotClient)
