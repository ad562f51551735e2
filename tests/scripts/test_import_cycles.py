"""The import-cycle contract that `lint-imports` runs: what it reports and what it lets pass."""

from __future__ import annotations

from grimp import ImportGraph

from scripts.import_cycles import AcyclicModulesContract, import_cycles, strongly_connected


def graph_of(*imports: tuple[str, str, int]) -> ImportGraph:
    graph = ImportGraph()
    for importer, imported, line in imports:
        graph.add_import(
            importer=importer,
            imported=imported,
            line_number=line,
            line_contents=f"import {imported}",
        )
    return graph


def contract() -> AcyclicModulesContract:
    return AcyclicModulesContract(name="no cycles", session_options={}, contract_options={})


def test_a_chain_without_a_loop_keeps_the_contract() -> None:
    """Imports that only point one way (a diamond included) are no cycle."""
    graph = graph_of(("p.a", "p.b", 1), ("p.a", "p.c", 2), ("p.b", "p.d", 1), ("p.c", "p.d", 1))
    assert import_cycles(graph) == []
    assert contract().check(graph, verbose=False).kept


def test_a_transitive_loop_breaks_it_with_the_lines_of_each_import() -> None:
    """transport → portal → batches → transport is one broken cycle; the report walks the loop
    from its first module and names the line of each import on it."""
    graph = graph_of(
        ("crm.transport", "crm.portal", 154),
        ("crm.portal", "crm.batches", 19),
        ("crm.batches", "crm.transport", 24),
        ("crm.batches", "crm.objects", 3),
    )
    check = contract().check(graph, verbose=False)
    assert not check.kept
    assert check.metadata["groups"] == [["crm.batches", "crm.portal", "crm.transport"]]
    assert check.metadata["steps"] == [
        [
            "crm.batches -> crm.transport (l.24)",
            "crm.transport -> crm.portal (l.154)",
            "crm.portal -> crm.batches (l.19)",
        ]
    ]


def test_a_module_importing_its_own_package_back_is_a_cycle() -> None:
    """A package's ``__init__`` importing a module that imports the package back is reported."""
    graph = graph_of(("crm", "crm.errors", 12), ("crm.errors", "crm", 150))
    assert import_cycles(graph) == [["crm", "crm.errors"]]


def test_separate_loops_are_separate_groups_largest_first() -> None:
    """Two unrelated loops come out as two groups, the larger first; a self-contained chain of
    thousands of modules does not exhaust the recursion limit."""
    edges: dict[str, list[str]] = {"x": ["y"], "y": ["x"], "a": ["b"], "b": ["c"], "c": ["a"]}
    edges.update({f"m{i}": [f"m{i + 1}"] for i in range(5_000)})
    loops = [group for group in strongly_connected(edges) if len(group) > 1]
    assert loops == [["a", "b", "c"], ["x", "y"]]
