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


def run(name: str, argv: Sequence[str]) -> int:
    module = importlib.import_module(f"bench.{name}")
    return cast(Callable[[Sequence[str]], int], module.main)(argv)


def main(argv: Sequence[str]) -> int:
    """``python -m bench``: every benchmark in turn (JSON); ``python -m bench NAME …``: one."""
    names = available()
    if not argv:
        failed = 0
        for name in names:
            print(f"# {name}", flush=True)
            failed += run(name, ["--json"]) != 0
        return 1 if failed else 0
    if argv[0] in {"-h", "--help"} or argv[0] not in names:
        print("usage: python -m bench [NAME [options]]   (NAME --help for its options)")
        print(f"benchmarks: {', '.join(names) or '(none)'}; without NAME, all of them")
        return 0 if argv[0] in {"-h", "--help"} else 2
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
