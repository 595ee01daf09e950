"""The architecture, checked from the source: imports point one way, and every DVC stage
declares the code it really runs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "arrhythmia"


def _module_file(module: str) -> Path | None:
    """The file of a project module (`arrhythmia.*` under src/, `flows.*` at the root)."""
    base = SRC if module.split(".")[0] == "arrhythmia" else ROOT
    path = base.joinpath(*module.split("."))
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return None


def _imported_modules(path: Path) -> set[str]:
    """Project modules a file imports anywhere (top level or inside functions)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] in ("arrhythmia", "flows"):
                parts = name.split(".")
                # the module itself and every package above it (their __init__ runs)
                found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return {m for m in found if _module_file(m) is not None}


def _is_docstring_only(path: Path) -> bool:
    body = ast.parse(path.read_text()).body
    return all(isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant) for n in body)


def files_run_by(module: str) -> set[Path]:
    """Every project file that running `python -m module` imports, transitively."""
    seen: set[str] = set()
    todo = [module, *(".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1))]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(_imported_modules(_module_file(name)) - seen)
    files = {_module_file(m) for m in seen}
    return {f for f in files if not (f.name == "__init__.py" and _is_docstring_only(f))}


def _stage_module(cmd: str) -> str:
    words = cmd.split()
    assert words[:2] == ["python", "-m"], f"stage command {cmd!r} should run a flow module"
    return words[2]


def _code_deps(stage: dict) -> list[Path]:
    return [
        ROOT / d
        for d in stage.get("deps", [])
        if isinstance(d, str) and d.startswith(("src/", "flows/"))
    ]


STAGES = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_each_stage_depends_on_exactly_the_code_it_imports(name):
    stage = STAGES[name]
    deps = _code_deps(stage)
    for dep in deps:
        assert dep.exists(), f"{name}: dependency {dep.relative_to(ROOT)} does not exist"
    imported = files_run_by(_stage_module(stage["cmd"]))

    def covered(path: Path) -> bool:
        return any(path == d or d in path.parents for d in deps)

    missing = sorted(str(f.relative_to(ROOT)) for f in imported if not covered(f))
    assert not missing, f"{name}: imports code that dvc.yaml does not list: {missing}"
    stale = [
        str(d.relative_to(ROOT))
        for d in deps
        if (d.suffix == ".py" and d not in imported)
        or (d.is_dir() and not any(d in f.parents for f in imported))
    ]
    assert not stale, f"{name}: dvc.yaml lists code the stage never imports: {stale}"


def test_the_library_never_imports_the_orchestration_layer():
    offenders = [
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if any(m.split(".")[0] == "flows" for m in _imported_modules(path))
    ]
    assert offenders == []


def _layer(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def test_subpackages_of_the_library_import_each_other_without_cycles():
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        src = _layer(path)
        for module in _imported_modules(path):
            target = _module_file(module)
            if (
                target is not None
                and PACKAGE in target.parents
                and target != PACKAGE / "__init__.py"
            ):
                if _layer(target) != src:
                    graph.setdefault(src, set()).add(_layer(target))

    def cycle_from(node: str, trail: list[str]) -> list[str] | None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in trail:
                return trail[trail.index(nxt) :] + [nxt]
            found = cycle_from(nxt, trail + [nxt])
            if found:
                return found
        return None

    for start in sorted(graph):
        cycle = cycle_from(start, [start])
        assert cycle is None, f"import cycle between layers: {' -> '.join(cycle)}"


def test_flows_and_tools_are_not_installed_with_the_package(tmp_path):
    """Outside the project (no PYTHONPATH), the environment has `arrhythmia` but neither
    `flows` nor `tools` (the servers, browsers and README writing of tests and CI)."""
    import os

    code = (
        "import importlib.util as u; "
        "print(u.find_spec('arrhythmia') is not None, u.find_spec('flows') is None, "
        "u.find_spec('tools') is None)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert done.stdout.split() == ["True", "True", "True"], done.stderr
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'include = ["arrhythmia*"]' in pyproject
    assert "flows*" not in pyproject and "tools*" not in pyproject


HEAVY = ("prefect", "mlflow", "great_expectations", "dvc")


def test_the_inference_path_runs_without_the_pipeline_libraries(
    tmp_path, excerpt_dir, params, detector_file
):
    """`pip install .` alone must be enough to read a record, classify it and write the
    annotations: block the pipeline libraries and run `arrhythmia predict` on a bundle."""
    from dataclasses import asdict

    from tests.helpers import tiny_classifier

    bundle = tmp_path / "model.pt"
    tiny_classifier(preprocess=asdict(params.preprocess)).save(bundle)
    out = tmp_path / "out"
    code = f"""
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {HEAVY!r}:
            raise ImportError("blocked: " + name)
sys.meta_path.insert(0, Block())
from arrhythmia.cli import main
code = main(["predict", {str(excerpt_dir / "100")!r}, "--model", {str(bundle)!r},
             "--detector", {str(detector_file)!r}, "--out", {str(out)!r}])
print("loaded:", sorted(m for m in {HEAVY!r} if m in sys.modules))
sys.exit(code)
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "loaded: []" in done.stdout
    assert (out / "100.cnn").is_file() and (out / "100.json").is_file()


def test_core_dependencies_leave_the_pipeline_and_serving_to_extras():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    for name in ("prefect", "mlflow", "dvc", "great-expectations"):
        assert name not in core
    extras = project["optional-dependencies"]
    assert {"pipeline", "serve", "dev"} <= set(extras)
    assert any(d.startswith("mlflow") for d in extras["serve"])
    for name in ("prefect", "mlflow", "dvc", "great-expectations"):
        assert any(d.startswith(name) for d in extras["pipeline"])


def test_nothing_unpickles_arbitrary_objects():
    needle = "weights_only=" + "False"
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("src", "flows", "tools", "benchmarks", "tests")
        for path in (ROOT / folder).rglob("*.py")
        if needle in path.read_text()
    ]
    assert offenders == []


def test_train_depends_on_the_records_it_reads_and_its_example_is_ds1():
    from arrhythmia.data.records import DS1
    from flows.train import EXAMPLE_RECORD

    deps = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]["train"]["deps"]
    assert EXAMPLE_RECORD in DS1
    # DS1 (the VT/VF trees and the example), the strips, VFDB and CUDB
    for folder in ("raw_dir", "cinc2017_raw_dir", "vfdb_raw_dir", "cudb_raw_dir"):
        assert f"${{paths.{folder}}}" in deps
