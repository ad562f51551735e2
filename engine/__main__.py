"""``python -m engine --shards N``: the worker daemon (the same as ``simcrm worker``)."""

from __future__ import annotations

import sys

from engine.daemon import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
