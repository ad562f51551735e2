"""Every Redis key the API itself keeps (the rest belong to streams/, limits/ and the runtime).

With the default prefix, user 7 holds::

    simcrm:{u7}:replay-calls    sorted set   one member per replay call, scored by its time (ms)

One user's keys share the hash tag ``{u<id>}``, so a script may touch them on a Redis Cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "simcrm"


@dataclass(frozen=True, slots=True)
class UserKeys:
    user_id: int
    prefix: str = DEFAULT_PREFIX

    @property
    def tag(self) -> str:
        return f"{self.prefix}:{{u{self.user_id}}}"

    @property
    def replay_calls(self) -> str:
        return f"{self.tag}:replay-calls"
