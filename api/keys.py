"""Every Redis key the API itself keeps (the rest belong to streams/, limits/ and the runtime).

Under the configured key prefix (``simcrm`` by default), user 7 holds::

    simcrm:{u7}:replay-calls    sorted set   one member per replay call, scored by its time (ms)

One user's keys share the hash tag ``{u<id>}``, so a script may touch them on a Redis Cluster.
Beside them, one key for every user::

    simcrm:auth:epoch           string       bumped whenever an API key is rotated or revoked or a
                                             user is disabled or enabled (see api.keyring)
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UserKeys:
    """The keys of user ``user_id`` under ``prefix``, the deployment's SIMCRM_KEY_PREFIX."""

    user_id: int
    prefix: str

    @property
    def tag(self) -> str:
        return f"{self.prefix}:{{u{self.user_id}}}"

    @property
    def replay_calls(self) -> str:
        return f"{self.tag}:replay-calls"


def auth_epoch_key(prefix: str) -> str:
    """The counter every change of who may call the API bumps (under SIMCRM_KEY_PREFIX)."""
    return f"{prefix}:auth:epoch"
