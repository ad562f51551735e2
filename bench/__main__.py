"""``python -m bench NAME [options]``: run the benchmark in ``bench/NAME.py``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Callable, Sequence
from typing import cast

import bench


def available() -> list[str]:
    """The benchmark modules: those in this package that define ``main``."""
    names = []
    for module in pkgutil.iter_modules(bench.__path__):
        if module.name.startswith("_"):
            continue
        if hasattr(importlib.import_module(f"bench.{module.name}"), "main"):
            names.append(module.name)
    return sorted(names)


def main(argv: Sequence[str]) -> int:
    names = available()
    if not argv or argv[0] in {"-h", "--help"} or argv[0] not in names:
        print("usage: python -m bench NAME [options]   (NAME --help for its options)")
        print(f"benchmarks: {', '.join(names) or '(none)'}")
        return 0 if argv and argv[0] in {"-h", "--help"} else 2
    module = importlib.import_module(f"bench.{argv[0]}")
    run = cast(Callable[[Sequence[str]], int], module.main)
    return run(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
