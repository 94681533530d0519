"""pyproject.toml declares what the code imports, and its metadata follows current packaging standards."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    """Runtime dependencies plus the optional extras that enable a runtime feature (e.g. `scale`: Ray); the
    `test` extra does not count."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    deps = list(project["dependencies"])
    for extra, more in project.get("optional-dependencies", {}).items():
        if extra != "test":
            deps += more
    return {_norm(re.split(r"[<>=!~;\[ ]", d, 1)[0]) for d in deps}


def _imported_top_level() -> set[str]:
    files = [ROOT / "app.py", *(ROOT / "rag").rglob("*.py"), *(ROOT / "ingest").rglob("*.py")]
    names = set()
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"), filename=str(f))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"rag", "ingest", "app", "__future__"}


def test_every_third_party_import_of_the_runtime_is_declared():
    dists = packages_distributions()
    declared = _declared()
    missing = []
    for mod in sorted(_imported_top_level()):
        owners = {_norm(d) for d in dists.get(mod, [])}
        assert owners, f"{mod}: importé mais installé par aucune distribution"
        if not owners & declared:
            missing.append((mod, sorted(owners)))
    assert missing == [], f"importés mais absents de [project].dependencies : {missing}"


def test_license_is_an_spdx_expression():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    # a {text = ...} table is deprecated by setuptools (PEP 639): builds stop accepting it after 2027-02-18
    assert project["license"] == "MIT"
