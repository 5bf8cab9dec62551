"""The folder listing is the design: each group imports only the groups below it, and no module
imports itself back through another (no import circles), found by reading every module's imports.

    errors, exitcodes, paths, defaults,
    invocation                              the base: imported by everything, importing nothing of ours
    exposure/                               pure: a spec -> the bytes of its files
    localsite/                              the local Photon Ranch; knows exposure's names, not the sender
    sending/                                a run: numbers, journal, pipeline, HTTP client; starts a
                                            local site when the run's target is `local`
    load/                                   distributed load with Locust: simulated site cameras
                                            through the Uploader; only cli/ imports it
    cli/                                    the command line: parses, calls, formats
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "send_test_images"
ROOT = Path(__file__).resolve().parents[2] / "src" / PACKAGE

BASE = {"", "errors", "exitcodes", "paths", "defaults", "invocation"}
ALLOWED = {
    "base": {"base"},
    "exposure": {"base", "exposure"},
    "localsite": {"base", "exposure", "localsite"},
    "sending": {"base", "exposure", "localsite", "sending"},
    "load": {"base", "exposure", "sending", "localsite", "load"},
    "cli": {"base", "exposure", "sending", "localsite", "load", "cli"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def group(module: str) -> str:
    first = module.removeprefix(PACKAGE).lstrip(".").split(".")[0]
    return "base" if first in BASE else first


def imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Our modules that `path` imports; `top_level_only` skips imports inside functions (lazy ones)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` imports are for the type checker only
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(PACKAGE):
            assert node.level == 0, f"{path}: relative import; the package uses absolute imports"
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if (ROOT.parent / candidate.replace(".", "/")).exists()
                          or (ROOT.parent / (candidate.replace(".", "/") + ".py")).exists() else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(PACKAGE))
    return found


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_group_imports_only_the_groups_below_it(module: str) -> None:
    mine = group(module)
    wrong = {dep for dep in imports(MODULES[module], top_level_only=False)
             if group(dep) not in ALLOWED[mine]}
    assert not wrong, f"{module} ({mine}) imports {sorted(wrong)}: {mine} may use only {sorted(ALLOWED[mine])}"


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 finished

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append([*trail[trail.index(dep):], dep])
            elif dep not in state:
                visit(dep, [*trail, dep])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return cycles


def test_no_module_imports_itself_back_through_others() -> None:
    graph = {name: {d for d in imports(path, top_level_only=True) if d in MODULES and d != name}
             for name, path in MODULES.items()}
    cycles = find_cycles(graph)
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_checks_see_a_circle_and_a_wrong_way_import(tmp_path: Path) -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    module = tmp_path / "m.py"
    module.write_text(f"from {PACKAGE}.exposure import naming\nfrom {PACKAGE}.cli import commands\n")
    found = imports(module, top_level_only=True)
    assert {f"{PACKAGE}.exposure.naming", f"{PACKAGE}.cli.commands"} <= found
    assert group(f"{PACKAGE}.cli.commands") not in ALLOWED["exposure"]
