"""Read verbs over derived metrics, and the home registry verbs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cw.capabilities.table import CWD, Capability, Param
from cw.shell import registry
from cw.shell.workspace import Workspace

JSON_OUT = Param("json", "print the payload as JSON", type="boolean", mcp=False)


def registry_add(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    root = ws.repo(a.get("path"))
    return registry.add_repo(ws.home, root, ws.now())


def registry_remove(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    root = (ws.process_cwd / a["path"]).resolve() if a.get("path") else ws.process_cwd
    return registry.remove_repo(ws.home, Path(root))


def registry_list(ws: Workspace, a: dict[str, Any]) -> dict[str, Any]:
    repos = registry.read_repos(ws.home)
    return {"schemaVersion": 1, "surface": "registry", "file": str(registry.repos_file(ws.home)),
            "repos": [{"root": r["root"], "addedAt": r.get("addedAt"), "exists": Path(r["root"]).is_dir()}
                      for r in repos]}


def _text_registry(p: dict[str, Any]) -> str:
    lines = [f"home registry  {p['file']}  repos={len(p['repos'])}"]
    lines += [f"  {r['root']}  added={r['addedAt']}" + ("" if r["exists"] else "  (missing)") for r in p["repos"]]
    return "\n".join(lines)


CAPABILITIES: tuple[Capability, ...] = (
    Capability("registry.add", ("registry", "add"), "Register a repo for the home scope.", (
        Param("path", "the repo directory (default: the current directory)", positional=True, metavar="PATH"),
        JSON_OUT), registry_add, read_only=False,
        text=lambda p: f"{'registered' if p['added'] else 'already registered'}: {p['root']}"),
    Capability("registry.list", ("registry", "list"), "List the repos the home scope reads.", (JSON_OUT,),
               registry_list, read_only=True, text=_text_registry),
    Capability("registry.remove", ("registry", "remove"), "Forget a repo (its files are untouched).", (
        Param("path", "the repo directory", positional=True, required=True, metavar="PATH"), JSON_OUT),
        registry_remove, read_only=False, text=lambda p: f"removed: {p['root']}"),
)
