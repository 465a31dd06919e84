"""The house's structure, checked like its behaviour: no import cycles between modules, and no
reaching into argparse's internals (the layering contracts are `make lint`'s, import-linter)."""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("collectors", "aggregator", "wall")


def import_cycles(graph: grimp.ImportGraph) -> list[tuple[str, ...]]:
    """Each cycle once, as the modules along it from its smallest name: an import of B by A
    closes a cycle when B leads back to A. Imports made only for type checking count too:
    they are the same knot for whoever reads the code."""
    cycles: set[tuple[str, ...]] = set()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            if imported == importer:
                continue
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                loop = (importer, *back[:-1])
                start = loop.index(min(loop))
                cycles.add(loop[start:] + loop[:start])
    return sorted(cycles)


def test_no_module_imports_itself_back_through_others() -> None:
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = [" -> ".join((*cycle, cycle[0])) for cycle in import_cycles(graph)]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_cycle_finder_names_each_cycle_once() -> None:
    graph = grimp.ImportGraph()
    for importer, imported in [
        ("p.cli", "p.digest.cli"),
        ("p.digest.cli", "p.cli"),
        ("p.select", "p.parts"),
        ("p.parts", "p.program"),
        ("p.program", "p.select"),
        ("p.select", "p.post"),
        ("p.program", "p.post"),
    ]:
        graph.add_import(importer=importer, imported=imported)
    assert import_cycles(graph) == [
        ("p.cli", "p.digest.cli"),
        ("p.parts", "p.program", "p.select"),
    ]


@cache
def argparse_private_names() -> tuple[frozenset[str], frozenset[str]]:
    """argparse's private module names (`_HelpAction`…) and its objects' private attributes
    (`_defaults`, `_get_formatter`…), as this Python's argparse has them."""
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    attributes = {*dir(parser), *vars(parser), *dir(subparsers), *vars(subparsers)}
    return _private(dir(argparse)), _private(attributes)


def _private(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n for n in names if n.startswith("_") and not n.startswith("__"))


def argparse_internals(tree: ast.AST) -> Iterator[tuple[int, str]]:
    module_names, attributes = argparse_private_names()
    private = module_names | attributes
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "argparse":
            for alias in node.names:
                if alias.name in module_names:
                    yield node.lineno, f"from argparse import {alias.name}"
        elif isinstance(node, ast.Attribute) and node.attr in private:
            yield node.lineno, f".{node.attr}"


def test_no_module_reaches_into_argparse_internals() -> None:
    found = [
        f"{path.relative_to(REPO)}:{line}: {what}"
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        for line, what in argparse_internals(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not found, "argparse internals (use aggregator.commands.Commands):\n" + "\n".join(found)


def test_the_internals_check_sees_each_way_in() -> None:
    reaching = (
        "import argparse\n"
        "from argparse import _StoreAction\n"
        'parser._defaults["handler"] = run\n'
        "formatter = parser._get_formatter()\n"
        "is_help = isinstance(action, argparse._HelpAction)\n"
        "parser.set_defaults(handler=run)\n"
    )
    assert [line for line, _ in argparse_internals(ast.parse(reaching))] == [2, 3, 4, 5]
