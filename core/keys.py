"""What every package's Redis keys have in common: the prefix their names start with.

Every key SimCRM writes begins with a prefix, ``simcrm`` unless ``SIMCRM_KEY_PREFIX`` names
another, so several deployments (or tests) can share one Redis. Each package builds its own keys
in its ``keys.py`` from the prefix its caller passes; this is the one place the default is
written.
"""

from __future__ import annotations

from typing import Final

DEFAULT_KEY_PREFIX: Final = "simcrm"
