"""Benchmark ``cw metrics summary`` over thousands of runs and ``cw metrics show`` on one very large run.

What it does (``make bench`` runs it with the defaults):

1. Generates a workspace with ``gen_runs.py`` (10 repos, 500 runs each, about
   220 KB of state per run, a few unreadable runs) and one run with 1,000
   tasks and 1,000 workers in a repo of its own; a home registry per size
   lists the repos in scope (1,000 runs: the first 2 repos; 5,000: all 10).
2. Cold: no snapshot on disk. For each size it runs
   ``cw metrics summary --scope home --pricing default --limit N --json`` as a
   child process (so every run is pooled) and, once, with the default limit
   of 50. Each child's wall time is measured from spawn to exit; its peak
   memory is the child's own maximum resident set (``wait4``) and, sampled
   every few milliseconds, the resident memory of the child and every process
   it started, added up.
3. Warm: ``cw metrics show`` (the capability itself, in a helper process
   importing the cw under test) writes a valid snapshot for every readable
   run; the same summaries are measured again.
4. The floor: a child that reads and decodes (``msgspec.json.decode``, to
   plain Python objects) exactly the files the summary reads -- every
   ``state.json`` in scope, plus every snapshot when warm -- and nothing else.
   Its time is measured inside the child (no interpreter start-up).
5. ``cw metrics show big-run --json --pricing default`` as a child, and the
   same capability call timed inside a child after its imports.
6. The fixed cost: the same summary command over a repo with no runs.

Every child runs with the Python of this interpreter; ``--cw-root`` points
``PYTHONPATH`` at another checkout to measure an older cw on the same data.
Pass ``--work DIR`` to keep the generated files and reuse them next time.
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
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

NOW = "2026-11-22T12:00:00.000Z"
REPOS = 10

FLOOR_SCRIPT = r"""
import sys, time, msgspec
paths = open(sys.argv[1]).read().split("\n")
paths = [p for p in paths if p]
t = time.perf_counter()
n = 0
for p in paths:
    try:
        with open(p, "rb") as f:
            raw = f.read()
    except OSError:
        continue
    try:
        msgspec.json.decode(raw)
    except msgspec.DecodeError:
        pass
    n += 1
print(time.perf_counter() - t, n)
"""

SHOW_INPROCESS = r"""
import sys, time
from pathlib import Path
from cw.capabilities.reports import metrics_show
from cw.shell.workspace import Workspace
repo, run_id, now = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
ws = Workspace(repo, {"CW_HOME": sys.argv[4]})
metrics_show(ws, {"run_id": run_id, "pricing": "default", "now": now})  # warm-up: policy, caches
best = None
for _ in range(int(sys.argv[5])):
    t = time.perf_counter()
    metrics_show(ws, {"run_id": run_id, "pricing": "default", "now": now})
    dt = time.perf_counter() - t
    best = dt if best is None else min(best, dt)
print(best)
"""

SNAPSHOT_WRITER = r"""
import multiprocessing, sys
from pathlib import Path
from cw.capabilities.reports import metrics_show
from cw.model.errors import CwError
from cw.shell.workspace import Workspace
now, home = sys.argv[2], sys.argv[3]

def one(d):
    d = Path(d)
    ws = Workspace(d.parent.parent.parent, {"CW_HOME": home})
    try:
        metrics_show(ws, {"run_id": d.name, "pricing": "default", "now": now})
        return 1
    except CwError:
        return 0

if __name__ == "__main__":
    dirs = [p for p in open(sys.argv[1]).read().split("\n") if p]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        print(sum(pool.imap_unordered(one, dirs, chunksize=32)))
"""


# ---------------------------------------------------------------------------
# measuring one child
# ---------------------------------------------------------------------------


def _proc_kb(path: str, field: str) -> int:
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            kids = []
        out.extend(kids)
        todo.extend(kids)
    return out


class _TreeSampler(threading.Thread):
    """Samples the memory of a process and its descendants until stopped.

    ``peak_kb``: the largest sum of resident sets (pages shared by forked
    processes count once per process, so an upper bound); ``peak_pss_kb``:
    the largest sum of proportional set sizes (shared pages split between
    the processes sharing them), sampled less often since it costs more.
    """

    def __init__(self, pid: int, every: float = 0.005, pss_every: int = 8) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.pss_every = pid, every, pss_every
        self.peak_kb = self.peak_pss_kb = 0
        self.peak_procs = 1
        self._halt = threading.Event()

    def run(self) -> None:
        tick = 0
        while not self._halt.is_set():
            procs = [self.pid, *_descendants(self.pid)]
            total = sum(_proc_kb(f"/proc/{p}/status", "VmRSS:") for p in procs)
            if total > self.peak_kb:
                self.peak_kb, self.peak_procs = total, len(procs)
            if tick % self.pss_every == 0:
                pss = sum(_proc_kb(f"/proc/{p}/smaps_rollup", "Pss:") for p in procs)
                self.peak_pss_kb = max(self.peak_pss_kb, pss)
            tick += 1
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def measure(cmd: list[str], *, env: dict[str, str], cwd: Path, out: Path | None = None) -> dict[str, Any]:
    """Run one child; its wall time, its own peak RSS (wait4) and the sampled peak of its process tree."""
    sink = open(out, "wb") if out is not None else subprocess.DEVNULL  # noqa: SIM115 - closed in the finally below
    err = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=sink, stderr=err)
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        sampler.stop()
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if out is not None:
            sink.close()  # type: ignore[union-attr]
    if proc.returncode != 0:
        err.seek(0)
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {err.read().decode()[-2000:]}")
    return {
        "wall": wall,
        "maxrss_mb": usage.ru_maxrss / 1024,
        "tree_mb": sampler.peak_kb / 1024,
        "tree_pss_mb": sampler.peak_pss_kb / 1024,
        "procs": sampler.peak_procs,
        "cpu": usage.ru_utime + usage.ru_stime,
    }


def best_of(n: int, cmd: list[str], **kw: Any) -> dict[str, Any]:
    """``n`` runs: the best and the median wall time, median CPU, and the most memory any run used.

    The best time is the headline: on a machine shared with other work it is
    the one least disturbed; CPU time (user + system, children included)
    is the work done whatever the machine was doing.
    """
    runs = [measure(cmd, **kw) for _ in range(n)]
    return {
        "wall": min(r["wall"] for r in runs),
        "wall_median": statistics.median(r["wall"] for r in runs),
        "maxrss_mb": max(r["maxrss_mb"] for r in runs),
        "tree_mb": max(r["tree_mb"] for r in runs),
        "tree_pss_mb": max(r["tree_pss_mb"] for r in runs),
        "procs": max(r["procs"] for r in runs),
        "cpu": statistics.median(r["cpu"] for r in runs),
        "load": os.getloadavg()[0],
    }


# ---------------------------------------------------------------------------
# the workspace
# ---------------------------------------------------------------------------


def prepare(work: Path, sizes: list[int], big: int) -> dict[str, Any]:
    """Generate (or reuse) the repos, one home per size, and the big run."""
    import gen_runs

    per_repo = max(sizes) // REPOS
    marker = work / "bench.json"
    want = {"repos": REPOS, "perRepo": per_repo, "big": big, "generator": gen_runs.__file__}
    if marker.exists() and json.loads(marker.read_text()).get("params") == want:
        return json.loads(marker.read_text())
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    t = time.perf_counter()
    ws = gen_runs.build_workspace(work / "repos", repos=REPOS, runs_per_repo=per_repo)
    homes = {}
    for size in sizes:
        n_repos = max(1, size // per_repo)
        home = work / f"home-{size}"
        gen_runs.register(home, ws.repos[:n_repos])
        homes[str(size)] = {"home": str(home), "repos": [str(r) for r in ws.repos[:n_repos]]}
    big_repo = work / "big"
    gen_runs.write_big_run(big_repo, tasks=big, workers=big)
    sizes_b = [(d / "state.json").stat().st_size for d in ws.run_dirs]
    info = {
        "params": want,
        "homes": homes,
        "cwd": str(ws.repos[0]),
        "bigRepo": str(big_repo),
        "empty": str(work / "empty"),
        "stateBytesMean": sum(sizes_b) / len(sizes_b),
        "bigStateBytes": (big_repo / ".cw" / "runs" / "big-run" / "state.json").stat().st_size,
        "generatedIn": time.perf_counter() - t,
    }
    (work / "empty").mkdir()
    marker.write_text(json.dumps(info, indent=2))
    return info


def run_dirs(repos: list[str]) -> list[Path]:
    out = []
    for r in repos:
        root = Path(r) / ".cw" / "runs"
        out.extend(sorted(d for d in root.iterdir() if (d / "state.json").is_file()))
    return out


def drop_snapshots(dirs: list[Path]) -> None:
    for d in dirs:
        shutil.rmtree(d / "metrics", ignore_errors=True)


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, help="keep the generated workspace here (reused when it matches)")
    ap.add_argument("--sizes", default="1000,5000", help="run counts to measure (default 1000,5000)")
    ap.add_argument("--big", type=int, default=1000, help="tasks and workers of the large show run")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is shown")
    ap.add_argument("--cw-root", type=Path, default=ROOT, help="the cw checkout to measure (default: this one)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)
    sizes = sorted(int(s) for s in args.sizes.split(","))
    work = args.work or Path(tempfile.mkdtemp(prefix="cw-bench-"))
    info = prepare(work, sizes, args.big)
    py = sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith("CW_") and k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(args.cw_root.resolve())
    # As on an installed cw, modules load from bytecode; it is cached in the workspace, not in the checkout.
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    # This benchmark measures the derivation itself: the derived-results cache is off (table_bench.py measures it).
    env["CW_NO_CACHE"] = "1"
    cwd = Path(info["cwd"])
    cw = [py, "-m", "cw"]
    results: dict[str, Any] = {
        "machine": {
            "nproc": os.cpu_count(),
            "python": platform.python_version(),
            "cpu": _cpu_model(),
            "cwRoot": str(args.cw_root),
        },
        "workspace": {k: info[k] for k in ("stateBytesMean", "bigStateBytes")},
    }
    print(f"cw root {args.cw_root}; {os.cpu_count()} cores, Python {platform.python_version()}, {_cpu_model()}")
    print(
        f"workspace {work}: {info['stateBytesMean'] / 1024:.0f} KB of state per run on average; "
        f"big run {info['bigStateBytes'] / 1e6:.1f} MB"
    )

    fixed = best_of(
        args.repeat,
        [*cw, "metrics", "summary", "--scope", "repo", "--json", "--now", NOW],
        env={**env, "CW_HOME": str(work / "no-home")},
        cwd=Path(info["empty"]),
    )
    results["fixed"] = fixed
    print(
        f"fixed cost (start-up, imports, a summary of no runs): {fixed['wall']:.3f} s "
        f"(median {fixed['wall_median']:.3f}), {fixed['maxrss_mb']:.0f} MB"
    )

    all_dirs = run_dirs(info["homes"][str(sizes[-1])]["repos"])
    for phase in ("cold", "warm"):
        if phase == "cold":
            drop_snapshots(all_dirs)
        else:
            _write_snapshots(py, env, all_dirs, work)
        for size in sizes:
            home = info["homes"][str(size)]
            dirs = run_dirs(home["repos"])
            henv = {**env, "CW_HOME": home["home"]}
            base = [*cw, "metrics", "summary", "--scope", "home", "--pricing", "default", "--json", "--now", NOW]
            full = best_of(args.repeat, [*base, "--limit", str(len(dirs))], env=henv, cwd=cwd)
            dflt = best_of(args.repeat, base, env=henv, cwd=cwd)
            floor = _floor(py, env, dirs, phase == "warm", work)
            key = f"{phase}-{size}"
            results[key] = {"runs": len(dirs), "all": full, "limit50": dflt, "floor": floor}
            print(
                f"{phase:4s} {len(dirs):5d} runs, all pooled: {full['wall']:.2f} s (median "
                f"{full['wall_median']:.2f}, cpu {full['cpu']:.2f} s, load {full['load']:.1f}); largest process "
                f"{full['maxrss_mb']:.0f} MB, all {full['procs']} processes {full['tree_mb']:.0f} MB RSS / "
                f"{full['tree_pss_mb']:.0f} MB PSS; floor {floor:.2f} s, ratio {full['wall'] / floor:.2f}"
            )
            print(
                f"{'':4s} {'':5s}       --limit 50: {dflt['wall']:.2f} s (median {dflt['wall_median']:.2f}, "
                f"cpu {dflt['cpu']:.2f} s); largest process {dflt['maxrss_mb']:.0f} MB, "
                f"{dflt['tree_mb']:.0f} MB RSS / {dflt['tree_pss_mb']:.0f} MB PSS"
            )

    big_env = {**env, "CW_HOME": str(work / "no-home")}
    big_repo = Path(info["bigRepo"])
    show = best_of(
        args.repeat,
        [*cw, "metrics", "show", "big-run", "--json", "--pricing", "default", "--now", NOW],
        env=big_env,
        cwd=big_repo,
    )
    inproc = subprocess.run(
        [py, "-c", SHOW_INPROCESS, str(big_repo), "big-run", NOW, str(work / "no-home"), str(args.repeat)],
        env=big_env,
        capture_output=True,
        text=True,
        check=True,
    )
    show_floor = _floor(py, env, [big_repo / ".cw" / "runs" / "big-run"], False, work)
    results["show"] = {"cli": show, "inProcess": float(inproc.stdout.split()[0]), "floor": show_floor}
    print(
        f"show big-run ({args.big} tasks, {args.big} workers): {show['wall']:.3f} s as a command "
        f"(median {show['wall_median']:.3f}, {show['maxrss_mb']:.0f} MB), {results['show']['inProcess']:.3f} s "
        f"in process after imports; floor {show_floor:.3f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


def _write_snapshots(py: str, env: dict[str, str], dirs: list[Path], work: Path) -> None:
    lst = work / "snapshot-dirs.txt"
    lst.write_text("\n".join(map(str, dirs)))
    t = time.perf_counter()
    out = subprocess.run(
        [py, "-c", SNAPSHOT_WRITER, str(lst), NOW, str(work / "no-home")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    print(f"wrote {out.stdout.strip()} snapshots with cw metrics show in {time.perf_counter() - t:.0f} s")


def _floor(py: str, env: dict[str, str], dirs: list[Path], warm: bool, work: Path) -> float:
    files = [str(d / "state.json") for d in dirs]
    if warm:
        files += [str(d / "metrics" / "metrics-report.json") for d in dirs]
    lst = work / "floor-files.txt"
    lst.write_text("\n".join(files))
    times = []
    for _ in range(3):
        out = subprocess.run([py, "-c", FLOOR_SCRIPT, str(lst)], env=env, capture_output=True, text=True, check=True)
        times.append(float(out.stdout.split()[0]))
    return statistics.median(times)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
