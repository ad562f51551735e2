"""Benchmarks, run as ``python -m bench NAME [options]`` (``just bench`` runs them all).

Each module here with a ``main(argv) -> int`` function is a benchmark named after the module.
Results are printed as text, or as one JSON object per measured system with ``--json``.
"""
