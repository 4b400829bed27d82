"""The suite reads nothing outside the repository: a fresh clone has nothing beside it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNED = sorted([*REPO.joinpath("tests").rglob("*.py"), *REPO.joinpath("benchmarks").rglob("*.py"), REPO / "Makefile"])
PATH_CALLS = {"Path", "open", "read_text", "read_bytes", "joinpath", "glob", "rglob"}


# absolute paths of the machine cw was built on (spelled in two parts so this file does not match itself)
OUTSIDE = ("/" + "work/",)


def _depth(path: Path) -> int:
    """How many ``parents`` steps from this file reach the repo root."""
    return len(path.relative_to(REPO).parts) - 1


def _climbs(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and ".." in Path(node.value).parts


def _escapes(path: Path) -> list[str]:
    """Paths built to leave the clone: ``parents[N]`` past the root, ``..`` joined onto a path, ``/work/...``.

    A ``..`` string handed to cw as input (the containment tests' attacks) is data, not a path the test reads.
    """
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return [f"line {n}: {line.strip()}" for n, line in enumerate(text.splitlines(), 1) if "../" in line]
    found = []
    if path.suffix == ".py":
        for node in ast.walk(ast.parse(text)):
            # Path(__file__).resolve().parents[N]: N must stay inside the repository
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "parents"
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, int)
                and node.slice.value > _depth(path)
            ):
                found.append(f"line {node.lineno}: parents[{node.slice.value}] leaves the repository")
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and _climbs(node.right):
                found.append(f"line {node.lineno}: joins {node.right.value!r} onto a path")  # type: ignore[attr-defined]
            if isinstance(node, ast.Call) and any(_climbs(a) for a in node.args):
                fn = node.func
                name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
                if name in PATH_CALLS:
                    found.append(f"line {node.lineno}: {name}() of a path with ..")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(OUTSIDE):
                found.append(f"line {node.lineno}: absolute path {node.value!r}")
    return found


@pytest.mark.parametrize("path", SCANNED, ids=lambda p: str(p.relative_to(REPO)))
def test_no_path_leaves_the_repository(path):
    assert _escapes(path) == [], f"{path.relative_to(REPO)} reads outside the clone"


def test_the_check_sees_a_path_that_leaves(tmp_path):
    probe = REPO / "tests" / "_probe_escape.py"
    probe.write_text(
        "from pathlib import Path\n"
        'X = Path(__file__).resolve().parents[2] / "elsewhere"\n'
        'Y = Path(__file__).parent / "../../elsewhere/x"\n'
        'Z = open("../elsewhere/a.json")\n'
        'OK = Path(__file__).resolve().parents[1] / "tests"\n'
        'ATTACK = ["run", "show", "../x"]\n'
    )
    try:
        assert len(_escapes(probe)) == 3
    finally:
        probe.unlink()


def test_every_fixture_a_test_names_is_in_the_repository():
    names = set()
    for path in REPO.joinpath("tests").glob("*.py"):
        names |= set(re.findall(r'FIXTURES\s*/\s*"([^"{}]+)"', path.read_text(encoding="utf-8")))
    assert names, "the scan found no fixture names: the pattern is stale"
    missing = sorted(n for n in names if not (REPO / "tests" / "fixtures" / "cw" / n).exists())
    assert missing == []
