"""The longest functions and methods in src/ and flows/, in lines (decorators excluded).

python tools/function_lengths.py [--top 5]
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("src", "flows")


def function_lengths(root: Path = ROOT) -> list[tuple[int, str]]:
    """(lines, "path:name") for every function and method, longest first."""
    found = []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = node.end_lineno - node.lineno + 1
                    found.append((lines, f"{path.relative_to(root)}:{node.name}"))
    return sorted(found, key=lambda item: (-item[0], item[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=5)
    for lines, name in function_lengths()[: parser.parse_args().top]:
        print(f"{lines:4d}  {name}")


if __name__ == "__main__":
    main()
