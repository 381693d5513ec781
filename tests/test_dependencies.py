"""Every third-party module the installed packages import is a declared dependency: CI
installs the dev extras too, which would hide a missing one from `pip install -e .`."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"sagaway", "shop"}


def _imported_modules() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = {node.module.split(".")[0]}
            else:
                continue
            # A file run as a script (the trace exporter process) imports its siblings by
            # their bare names: those are files of ours, not packages.
            found.update(name for name in names if not (path.parent / f"{name}.py").exists())
    return found - FIRST_PARTY - set(sys.stdlib_module_names) - {"__future__"}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {Requirement(text).name.lower().replace("_", "-") for text in project["dependencies"]}


def test_every_imported_package_is_a_declared_dependency() -> None:
    distributions = packages_distributions()
    declared = _declared()
    missing = {}
    for module in sorted(_imported_modules()):
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & declared:
            missing[module] = sorted(names)
    assert missing == {}, f"imported by src/ but not in [project].dependencies: {missing}"
