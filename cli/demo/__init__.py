"""``simcrm demo``: a whole simulation end to end on the embedded defaults.

``command`` holds the subcommand's options, ``runner`` wires the parts (Redis, store, sandbox,
API, daemon) and runs the simulation, ``view`` draws the progress and the summary.
"""

from cli.demo.command import register

__all__ = ["register"]
