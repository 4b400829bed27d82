"""Measure each row of cw's speed table on generated data, and CW (Node) on the same data when ``CW_JS`` is set.

Rows (whole processes, spawn to exit, best of ``--repeat`` and the median):

1. ``cw --version`` (start-up and imports);
2. ``cw task add`` and ``cw result`` on a run with 40 tasks (the run is restored before each call);
3. ``cw metrics show`` of one run with 1,000 tasks and 1,000 workers (about 13.7 MB);
4. ``cw metrics summary --scope home --limit 5000`` over 5,000 runs of about 220 KB (14 tasks, 6 workers,
   candidates, feedback, memberships, mixed models) with CW's example pricing, cold: no snapshots and an
   empty derived-results cache;
5. the same summary again (warm: the cache the first one filled);
6. the default ``--limit 50`` summary, cold and warm;
7. the peak memory of the cold 5,000-run summary (largest process, and all its processes together).

CW's example pricing is written into the workspace (CW's ``bundled-example-v1``: five Anthropic models and
a default price), so cw and CW read the same policy file. With ``CW_JS=/path/to/cw.js`` each row CW has is
also run with ``node`` and the ratio CW / cw printed. On a machine shared with other work, the best of
several runs is the least disturbed figure; the load average is printed with each row.

Usage::

    python benchmarks/table_bench.py [--runs 5000] [--repeat 5] [--work DIR] [--json FILE] [--cw-root DIR] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from summary_bench import _cpu_model, measure  # noqa: E402

NOW = "2026-11-22T12:00:00.000Z"
REPOS = 10

CW_EXAMPLE_PRICING = {
    "schemaVersion": 1,
    "id": "bundled-example-v1",
    "currency": "USD",
    "models": [
        {"model": "claude-opus-4-8", "inputPerMillion": 15, "outputPerMillion": 75},
        {"model": "claude-opus-4-1", "inputPerMillion": 15, "outputPerMillion": 75},
        {"model": "claude-sonnet-4-6", "inputPerMillion": 3, "outputPerMillion": 15},
        {"model": "claude-sonnet-4-5", "inputPerMillion": 3, "outputPerMillion": 15},
        {"model": "claude-haiku-4-5", "inputPerMillion": 1, "outputPerMillion": 5},
    ],
    "defaultPrice": {"inputPerMillion": 3, "outputPerMillion": 15},
}


ROWS = ("version", "intake", "show", "summary", "summary50")


def best(n: int, cmd: list[str], before: Callable[[], None] | None = None, **kw: Any) -> dict[str, Any]:
    runs = []
    for _ in range(n):
        if before is not None:
            before()
        runs.append(measure(cmd, **kw))
    return {
        "wall": min(r["wall"] for r in runs),
        "wall_median": statistics.median(r["wall"] for r in runs),
        "cpu": min(r["cpu"] for r in runs),
        "maxrss_mb": max(r["maxrss_mb"] for r in runs),
        "tree_mb": max(r["tree_mb"] for r in runs),
        "load": os.getloadavg()[0],
    }


def prepare(work: Path, runs: int, big: int) -> dict[str, Any]:
    """The runs, the home registry, the big run, a 40-task run and the pricing file (reused when they match)."""
    import gen_runs

    marker = work / "table.json"
    want = {"runs": runs, "big": big, "generator": gen_runs.__file__}
    if marker.exists() and json.loads(marker.read_text()).get("params") == want:
        return json.loads(marker.read_text())
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ws = gen_runs.build_workspace(work / "repos", repos=REPOS, runs_per_repo=max(1, runs // REPOS))
    home = work / "home"
    gen_runs.register(home, ws.repos)
    gen_runs.write_big_run(work / "big", tasks=big, workers=big)
    (work / "pricing.json").write_text(json.dumps(CW_EXAMPLE_PRICING, indent=2) + "\n")
    (work / "empty").mkdir()
    sizes = [(d / "state.json").stat().st_size for d in ws.run_dirs]
    info = {
        "params": want,
        "home": str(home),
        "empty": str(work / "empty"),
        "cwd": str(ws.repos[0]),
        "runs": len(ws.run_dirs),
        "runDirs": [str(d) for d in ws.run_dirs],
        "stateBytesMean": sum(sizes) / len(sizes),
        "bigStateBytes": (work / "big" / ".cw" / "runs" / "big-run" / "state.json").stat().st_size,
    }
    marker.write_text(json.dumps(info))
    return info


def intake_run(work: Path, cw: list[str], env: dict[str, str]) -> Path:
    """A run with 40 dispatched tasks made by cw's own verbs; returns the repo."""
    repo = work / "intake"
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir()

    def run(*args: str) -> None:
        subprocess.run([*cw, *args], env=env, cwd=repo, check=True, stdout=subprocess.DEVNULL)

    run("run", "new", "--id", "r40", "--app", "intake")
    for i in range(1, 41):
        run("task", "add", "r40", f"t{i}", "--backend", "codex")
    run("dispatch", "r40", *[f"t{i}" for i in range(1, 41)])
    (repo / "out.md").write_text("done\n")
    return repo


def line(label: str, r: dict[str, Any], cwjs: dict[str, Any] | None = None, extra: str = "") -> None:
    text = f"{label:58s} {r['wall']:7.3f} s (median {r['wall_median']:.3f}, cpu {r['cpu']:.3f}, load {r['load']:.1f})"
    if cwjs is not None:
        text += f"   CW {cwjs['wall']:.3f} s, ratio CW/cw {cwjs['wall'] / r['wall']:.1f}"
    print(text + extra, flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5000, help="runs in the home scope (default 5000)")
    ap.add_argument("--big", type=int, default=1000, help="tasks and workers of the show run")
    ap.add_argument("--repeat", type=int, default=5, help="runs per measurement (best and median shown)")
    ap.add_argument("--cw-repeat", type=int, default=1, help="runs per CW measurement of the summaries")
    ap.add_argument("--work", type=Path, help="keep the generated workspace here (reused when it matches)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--cw-root", type=Path, default=ROOT, help="the cw checkout to measure (default: this one)")
    ap.add_argument("--quick", action="store_true", help="only start-up, intake and show (no summaries)")
    ap.add_argument(
        "--only",
        default=",".join(ROWS),
        help=f"the rows to measure, comma-separated, of {','.join(ROWS)} (default: all)",
    )
    args = ap.parse_args(argv)
    rows = set(args.only.split(","))
    if not rows <= set(ROWS):
        ap.error(f"--only: unknown rows {sorted(rows - set(ROWS))}; choose from {','.join(ROWS)}")
    if args.quick:
        rows -= {"summary", "summary50"}
    work = (args.work or Path(tempfile.mkdtemp(prefix="cw-table-"))).resolve()
    info = prepare(work, args.runs, args.big)
    cw_js = os.environ.get("CW_JS")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CW_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(args.cw_root.resolve())
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")  # as on an installed cw, modules load from bytecode
    env["XDG_CACHE_HOME"] = str(work / "xdg-cache")
    env["CW_HOME"] = info["home"]
    cw = [sys.executable, "-m", "cw"]
    node = ["node", cw_js] if cw_js else None
    pricing = str(work / "pricing.json")
    out: dict[str, Any] = {
        "machine": {"nproc": os.cpu_count(), "python": platform.python_version(), "cpu": _cpu_model()},
        "workspace": {k: info[k] for k in ("runs", "stateBytesMean", "bigStateBytes")},
    }
    print(f"{os.cpu_count()} cores, Python {platform.python_version()}, {_cpu_model()}; CW: {cw_js or 'not set'}")
    print(
        f"{info['runs']} runs, {info['stateBytesMean'] / 1024:.0f} KB of state on average; "
        f"show run {info['bigStateBytes'] / 1e6:.1f} MB; workspace {work}"
    )
    subprocess.run([*cw, "--version"], env=env, check=True, stdout=subprocess.DEVNULL)  # writes the bytecode
    empty = Path(info["empty"])

    if "version" in rows:
        r = best(args.repeat, [*cw, "--version"], env=env, cwd=empty)
        c = best(args.repeat, [*node, "--version"], env=env, cwd=empty) if node else None
        line("cw --version", r, c)
        out["version"] = {"cw": r, "CW": c}

    if "intake" in rows:
        repo = intake_run(work, cw, env)
        state = repo / ".cw" / "runs" / "r40" / "state.json"
        saved = state.read_bytes()

        def restore() -> None:
            state.write_bytes(saved)
            shutil.rmtree(state.parent / "workers" / "worker-t1-0001", ignore_errors=True)

        for label, cmd in (
            ("cw task add (40-task run)", [*cw, "task", "add", "r40", "t41", "--json"]),
            ("cw result (40-task run)", [*cw, "result", "r40", "t1", "out.md", "--usage-input-tokens", "1200"]),
        ):
            r = best(args.repeat, cmd, before=restore, env=env, cwd=repo)
            line(label, r)
            out[label.split(" (")[0]] = r

    if "show" in rows:
        big = Path(work / "big")
        show = ["metrics", "show", "big-run", "--json", "--pricing", pricing, "--now", NOW]
        r = best(args.repeat, [*cw, *show], env=env, cwd=big)
        c = best(args.repeat, [*node, *show], env=env, cwd=big) if node else None
        line(f"metrics show ({args.big} tasks + {args.big} workers)", r, c)
        out["show"] = {"cw": r, "CW": c}

    if rows & {"summary", "summary50"}:
        for d in info["runDirs"]:  # cold: no snapshot anywhere
            shutil.rmtree(Path(d) / "metrics", ignore_errors=True)
        cache = Path(env["XDG_CACHE_HOME"])
        summary = ["metrics", "summary", "--scope", "home", "--pricing", pricing, "--json", "--now", NOW]
        cwd = Path(info["cwd"])
        n = str(info["runs"])
        time.sleep(2.1)  # the files are older than the cache's same-tick guard

        def cold() -> None:
            shutil.rmtree(cache, ignore_errors=True)

    if "summary" in rows:
        r = best(args.repeat, [*cw, *summary, "--limit", n], before=cold, env=env, cwd=cwd)
        c = best(args.cw_repeat, [*node, *summary, "--limit", n], env=env, cwd=cwd) if node else None
        line(f"metrics summary --limit {n}, cold", r, c)
        out["summaryCold"] = {"cw": r, "CW": c}
        mem = f"   peak memory: largest process {r['maxrss_mb']:.0f} MiB, all processes {r['tree_mb']:.0f} MiB"
        if c is not None:
            mem += f"; CW {c['maxrss_mb']:.0f} MiB"
        print(mem)

        r = best(args.repeat, [*cw, *summary, "--limit", n], env=env, cwd=cwd)
        line(f"metrics summary --limit {n}, repeat", r, c)
        out["summaryWarm"] = {"cw": r, "CW": c}

    if "summary50" in rows:
        r = best(args.repeat, [*cw, *summary], before=cold, env=env, cwd=cwd)
        c50 = best(args.cw_repeat, [*node, *summary], env=env, cwd=cwd) if node else None
        line("metrics summary (default --limit 50), cold", r, c50)
        out["summary50Cold"] = {"cw": r, "CW": c50}
        r = best(args.repeat, [*cw, *summary], env=env, cwd=cwd)
        line("metrics summary (default --limit 50), repeat", r, c50)
        out["summary50Warm"] = {"cw": r, "CW": c50}

    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
