"""An import-linter contract type: no module imports itself back, directly or through others.

``lint-imports`` loads it through ``contract_types`` in ``pyproject.toml`` (it puts the working
directory on ``sys.path``, so run it from the repository's root, as ``just lint`` and ``.ci/run``
do). The graph it checks is the one import-linter builds for every contract, so imports under
``if TYPE_CHECKING:`` are left out there (``exclude_type_checking_imports``), and function-local
imports count like any other: they still make a cycle, only a later one.

import-linter's own ``acyclic_siblings`` type compares packages with their siblings, so it also
rejects two packages that import each other through unrelated files, and it cannot see a module
that imports its own package's ``__init__`` back. This type looks at files and only files: each
strongly connected group of two or more modules is one broken cycle, reported with the shortest
loop through its first module and the line of every import on that loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import pairwise

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, output


def import_cycles(graph: ImportGraph) -> list[list[str]]:
    """The groups of modules that reach each other through imports (Tarjan's algorithm, without
    recursion), each sorted, largest first; modules on no cycle are left out."""
    imports = {
        module: sorted(graph.find_modules_directly_imported_by(module)) for module in graph.modules
    }
    return [group for group in strongly_connected(imports) if len(group) > 1]


def strongly_connected(edges: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Strongly connected components of a directed graph given as node → successors: each
    sorted, largest first, then by name. Nodes on no cycle are components of their own."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(edges.get(successor, ()))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component: list[str] = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return sorted(components, key=lambda group: (-len(group), group))


def shortest_loop(graph: ImportGraph, group: list[str]) -> list[str]:
    """The shortest import loop from the group's first module back to itself."""
    start = group[0]
    best: tuple[str, ...] | None = None
    for first in sorted(graph.find_modules_directly_imported_by(start)):
        if first not in group:
            continue
        chain = graph.find_shortest_chain(importer=first, imported=start)
        if chain is not None and (best is None or len(chain) < len(best)):
            best = chain
    return [start, *(best or ())]


def describe_step(graph: ImportGraph, importer: str, imported: str) -> str:
    """``importer -> imported (l.12, l.40)``: where the one module imports the other."""
    details = graph.get_import_details(importer=importer, imported=imported)
    lines = ", ".join(f"l.{detail['line_number']}" for detail in details)
    return f"{importer} -> {imported}" + (f" ({lines})" if lines else "")


class AcyclicModulesContract(Contract):
    """Kept when no module of the root packages can reach itself through imports."""

    type_name = "acyclic_modules"

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        output.verbose_print(verbose, f"Looking for cycles among {len(graph.modules)} modules...")
        groups = import_cycles(graph)
        steps = [
            [describe_step(graph, a, b) for a, b in pairwise(shortest_loop(graph, group))]
            for group in groups
        ]
        return ContractCheck(kept=not groups, metadata={"groups": groups, "steps": steps})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for group, steps in zip(check.metadata["groups"], check.metadata["steps"], strict=True):
            output.print_error(f"{len(group)} modules import each other: {', '.join(group)}")
            output.new_line()
            for step in steps:
                output.indent_cursor()
                output.print_error(f"- {step}", bold=False)
            output.new_line()
