"""Everything `src/` imports is installed by the runtime dependencies, not only by the dev extra.

`make run` installs without the dev extra; a module that only the tests' packages provide
would pass `make test` and break `make run`.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

REPOSITORY = Path(__file__).resolve().parents[1]
_NAME = re.compile(r"^[A-Za-z0-9._-]+")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_levels() -> set[str]:
    found: set[str] = set()
    for path in (REPOSITORY / "src" / "servicekonto").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"servicekonto", "__future__"}


def _runtime_closure() -> set[str]:
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    pending = [_NAME.match(req).group(0) for req in project["project"]["dependencies"]]  # type: ignore[union-attr]
    seen: set[str] = set()
    while pending:
        name = _canonical(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requirements:
            requirement = Requirement(text)
            # Only what installs here: no extras, no markers for other Pythons.
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return seen


def test_every_imported_package_comes_with_the_runtime_dependencies() -> None:
    distributions = metadata.packages_distributions()
    closure = _runtime_closure()
    missing = {
        module: distributions.get(module, ["?"])
        for module in _imported_top_levels()
        if not any(_canonical(dist) in closure for dist in distributions.get(module, []))
    }
    assert missing == {}, "add these to [project].dependencies"
