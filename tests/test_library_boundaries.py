"""The installed library changes no process-wide state: no module under src/arrhythmia starts a
subprocess or sets an environment variable. Servers, browsers and git live in tools/, .ci/
and flows/; environment defaults are set where a process starts (flows/__init__.py, the
tests' conftest)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "arrhythmia"

SUBPROCESS_MODULES = {"subprocess", "pty"}
# os functions that run another program or fork this one
OS_PROCESS_CALLS = ("system", "popen", "fork", "forkpty", "exec", "spawn", "posix_spawn")
OS_ENV_CALLS = {"putenv", "unsetenv"}
ENVIRON_WRITES = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"}


def violations(source: str) -> list[str]:
    """`line: what` for each subprocess start or environment change in `source`."""
    tree = ast.parse(source)
    os_names = {"os"}
    environ_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            os_names |= {a.asname or a.name for a in node.names if a.name == "os"}
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            environ_names |= {a.asname or a.name for a in node.names if a.name == "environ"}

    def is_os(node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id in os_names

    def is_environ(node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in environ_names
        return isinstance(node, ast.Attribute) and node.attr == "environ" and is_os(node.value)

    found: list[str] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in SUBPROCESS_MODULES:
                    found.append(f"{line}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] in SUBPROCESS_MODULES:
                found.append(f"{line}: from {node.module} import")
            elif node.module == "os":
                for alias in node.names:
                    if alias.name.startswith(OS_PROCESS_CALLS) or alias.name in OS_ENV_CALLS:
                        found.append(f"{line}: from os import {alias.name}")
        elif isinstance(node, ast.Attribute):
            if is_os(node.value) and (
                node.attr.startswith(OS_PROCESS_CALLS) or node.attr in OS_ENV_CALLS
            ):
                found.append(f"{line}: os.{node.attr}")
            elif node.attr in ENVIRON_WRITES and is_environ(node.value):
                found.append(f"{line}: os.environ.{node.attr}")
            elif node.attr.startswith("create_subprocess"):
                found.append(f"{line}: {node.attr}")
        elif isinstance(node, ast.Name) and node.id == "Popen":
            found.append(f"{line}: Popen")
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            if is_environ(node.value):
                found.append(f"{line}: os.environ[...] assigned or deleted")
    return found


@pytest.mark.parametrize(
    "path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE))
)
def test_no_library_module_starts_a_process_or_sets_the_environment(path):
    assert violations(path.read_text()) == []


def test_the_library_never_imports_the_helpers_beside_it():
    """tools/, tests/ and benchmarks/ are not installed: the library cannot lean on them."""
    outside = {"tools", "tests", "benchmarks"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in outside]
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        "import subprocess",
        "import subprocess as sp",
        "from subprocess import run",
        "from subprocess import Popen as P",
        "import os\nos.system('ls')",
        "import os\nos.popen('ls')",
        "import os\nos.execvp('ls', ['ls'])",
        "import os\nos.spawnlp(os.P_WAIT, 'ls')",
        "import os\nos.posix_spawn('/bin/ls', [], {})",
        "import os\npid = os.fork()",
        "import asyncio\nasyncio.create_subprocess_exec('ls')",
        "import os\nos.environ['X'] = '1'",
        "import os\nos.environ['X'] += '1'",
        "import os\ndel os.environ['X']",
        "import os\nos.environ.update(X='1')",
        "import os\nos.environ.setdefault('X', '1')",
        "import os\nos.environ.pop('X', None)",
        "import os\nos.putenv('X', '1')",
        "import os\nos.unsetenv('X')",
        "import os as o\no.environ['X'] = '1'",
        "from os import environ\nenviron['X'] = '1'",
        "from os import environ as env\nenv.setdefault('X', '1')",
        "from os import putenv",
        "def f():\n    import os\n    os.environ.setdefault('X', '1')",
    ],
)
def test_the_check_catches_each_way_back(source):
    assert violations(source), source


@pytest.mark.parametrize(
    "source",
    [
        "import os\nvalue = os.environ.get('X')",
        "import os\nvalue = os.environ['X']",
        "import os\nenv = dict(os.environ)",
        "import os\ndef f(environ=os.environ): return environ.get('X')",
        "import os\nos.path.join('a', 'b')",
    ],
)
def test_reading_the_environment_is_allowed(source):
    assert violations(source) == []
