"""Rate-limit state for HubSpot accounts, kept atomically in Redis by Lua scripts."""
