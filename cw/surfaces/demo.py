"""``make demo``: build a demo workspace through the real verbs, then show what cw derives from it.

Two repos in a temporary folder, three scheduled jobs and one person doing
work over four weeks with several models, failures, candidates and feedback,
dated revenue with a reversal and a refused double booking, a chain of runs
whose revenue is attributed two ways, a job that goes over its monthly budget
and has its next dispatch refused, a budget-target loop of three rounds, and a weekly P&L to end with. Every step is an ordinary ``cw`` command; the commands
are printed so they can be replayed by hand.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

from cw.surfaces.cli import cli


class Demo:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.env: dict[str, str] = {}
        self.steps = 0

    @contextlib.contextmanager
    def as_actor(self, **env: str) -> Iterator[None]:
        saved = dict(self.env)
        self.env.update(env)
        try:
            yield
        finally:
            self.env = saved

    def _invoke(self, args: list[str], repo: Path) -> tuple[int, str, str]:
        old_env = dict(os.environ)
        old_cwd = os.getcwd()
        out, err = io.StringIO(), io.StringIO()
        os.environ.update(self.env)
        for var in ("CW_CRON_NAME", "CW_ACTOR"):
            if var not in self.env:
                os.environ.pop(var, None)
        os.chdir(repo)
        code = 0
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    cli.main(args=args, prog_name="cw", standalone_mode=False)
                except click.ClickException as exc:
                    exc.show()
                    code = exc.exit_code
                except SystemExit as exc:
                    code = int(exc.code or 0)
        finally:
            os.chdir(old_cwd)
            os.environ.clear()
            os.environ.update(old_env)
        return code, out.getvalue(), err.getvalue()

    def run(self, repo: Path, *args: str) -> str:
        """A step that must succeed; its output is kept quiet."""
        code, out, err = self._invoke(list(args), repo)
        self.steps += 1
        if code != 0:
            raise SystemExit(f"demo step failed: cw {' '.join(args)}\n{err}")
        return out

    def show(self, repo: Path, *args: str) -> None:
        """A step whose output the demo prints."""
        code, out, err = self._invoke(list(args), repo)
        who = f"{self.env['CW_CRON_NAME']} (cron) " if "CW_CRON_NAME" in self.env else ""
        print(f"\n$ {who}cw {' '.join(args)}")
        sys.stdout.write(out)
        sys.stderr.flush()
        if err:
            print(err.rstrip())
        if code:
            print(f"(exit {code})")


def _result_file(repo: Path, name: str, text: str) -> str:
    p = repo / "results" / name
    p.parent.mkdir(exist_ok=True)
    p.write_text(text)
    return str(p.relative_to(repo))


def build(root: Path) -> tuple[Demo, Path, Path]:
    d = Demo(root)
    support, growth = root / "acme-support", root / "acme-growth"
    support.mkdir()
    growth.mkdir()
    d.env["CW_HOME"] = str(root / "cw-home")

    # 1. The nightly triage job: three runs, two models, one failed worker, one failed verification.
    with d.as_actor(CW_CRON_NAME="nightly-triage"):
        for n, model in enumerate(("claude-sonnet-4-5", "claude-haiku-4-5", "claude-sonnet-4-5"), start=1):
            rid = f"triage-2026-11-{19 + n}"
            d.run(support, "run", "new", "--id", rid, "--app", "ticket-triage", "--token-budget", "400000")
            for t in ("classify", "draft-reply", "escalate", "summarize"):
                d.run(support, "task", "add", rid, t, "--backend", "claude-code")
            d.run(support, "dispatch", rid)
            for i, t in enumerate(("classify", "draft-reply", "summarize")):
                f = _result_file(support, f"{rid}-{t}.md", f"# {t}\nDone for run {rid}.\n")
                d.run(
                    support,
                    "result",
                    rid,
                    t,
                    f,
                    "--usage-input-tokens",
                    str(12000 + 3000 * i + 500 * n),
                    "--usage-output-tokens",
                    str(1800 + 400 * i),
                    "--usage-cache-read-tokens",
                    str(4000 * i),
                    "--usage-model",
                    model,
                    "--usage-attested-at",
                    f"2026-11-{19 + n}T03:0{i}:00.000Z",
                )
            d.run(support, "worker", "fail", rid, "worker-escalate-0001", "pager API timed out", "--code", "timeout")
            if n == 2:
                d.run(support, "verify", rid, "draft-reply", "--status", "rejected")
            d.run(support, "feedback", "task", rid, "feedback-0001")
        d.run(
            support,
            "revenue",
            "add",
            "triage-2026-11-20",
            "40.00",
            "USD",
            "--ref",
            "SUP-7001",
            "--note",
            "support plan, 1 week",
            "--at",
            "2026-11-20T09:00:00Z",
        )
        d.run(
            support,
            "revenue",
            "add",
            "triage-2026-11-21",
            "40.00",
            "USD",
            "--ref",
            "SUP-7002",
            "--at",
            "2026-11-21T09:00:00Z",
        )

    # 2. A person's research run: a multi-agent review, one result without usage (unreported, never zero).
    with d.as_actor(CW_ACTOR="alice"):
        rid = "research-pricing-page"
        d.run(support, "run", "new", "--id", rid, "--app", "research", "--title", "Pricing page review")
        for t in ("survey", "critique"):
            d.run(support, "task", "add", rid, t, "--backend", "codex")
        d.run(support, "dispatch", rid)
        d.run(
            support,
            "result",
            rid,
            "survey",
            _result_file(support, "survey.md", "# survey\n"),
            "--usage-input-tokens",
            "52000",
            "--usage-output-tokens",
            "6100",
            "--usage-model",
            "gpt-5",
            "--usage-attested-at",
            "2026-11-21T15:00:00.000Z",
        )
        d.run(support, "result", rid, "critique", _result_file(support, "critique.md", "# critique\n"))
        d.run(support, "member", "add", rid, "--agent", "reviewer-a", "--id", "m-a", "--status", "verified")
        d.run(support, "member", "add", rid, "--agent", "reviewer-b", "--id", "m-b", "--status", "failed")
        d.run(support, "candidate", "register", rid, "--worker", "worker-survey-0001", "--id", "draft-1")
        d.run(support, "candidate", "register", rid, "--worker", "worker-critique-0001", "--id", "draft-2")
        d.run(support, "candidate", "select", rid, "draft-1", "--by", "alice")
        d.run(support, "candidate", "reject", rid, "draft-2", "--reason", "too long")

    # 3. The weekly growth job: a chain of runs that ends in a sale (lead -> outreach -> deal).
    with d.as_actor(CW_CRON_NAME="weekly-growth"):
        chain = [
            ("lead-scan-w47", "lead-scan", "gemini-2.5-flash", None),
            ("outreach-w47", "outreach", "gpt-5-mini", "lead-scan-w47"),
            ("deal-acme-w47", "deal-desk", "claude-sonnet-4-5", "outreach-w47"),
        ]
        for i, (rid, app, model, parent) in enumerate(chain):
            extra = ["--parent", parent] if parent else []
            d.run(growth, "run", "new", "--id", rid, "--app", app, *extra)
            d.run(growth, "task", "add", rid, "work", "--backend", "agent-sdk")
            d.run(growth, "task", "add", rid, "review", "--backend", "agent-sdk")
            d.run(growth, "dispatch", rid)
            for j, t in enumerate(("work", "review")):
                d.run(
                    growth,
                    "result",
                    rid,
                    t,
                    _result_file(growth, f"{rid}-{t}.md", f"# {t}\n"),
                    "--usage-input-tokens",
                    str(30000 + 10000 * i),
                    "--usage-output-tokens",
                    str(4000 + 1000 * j),
                    "--usage-model",
                    model,
                    "--usage-attested-at",
                    f"2026-11-1{7 + i}T10:0{j}:00.000Z",
                )
            d.run(growth, "candidate", "register", rid, "--task", "work", "--id", "c1")
            d.run(growth, "candidate", "select", rid, "c1")
        d.run(
            growth,
            "revenue",
            "add",
            "deal-acme-w47",
            "1200.00",
            "EUR",
            "--ref",
            "INV-2026-118",
            "--note",
            "annual plan",
            "--at",
            "2026-11-19T16:00:00Z",
        )
        d.run(
            growth,
            "revenue",
            "reverse",
            "deal-acme-w47",
            "rev-0001",
            "--amount",
            "200.00",
            "--reason",
            "launch discount credited",
            "--at",
            "2026-11-24T10:00:00Z",
        )

    # 4. A weekly report job over four weeks: dated usage every Monday, a subscription paid every Friday.
    with d.as_actor(CW_CRON_NAME="weekly-report"):
        for week, monday in enumerate(("02", "09", "16", "23")):
            rid = f"report-2026-11-{monday}"
            d.run(support, "run", "new", "--id", rid, "--app", "weekly-report")
            d.run(support, "task", "add", rid, "compile", "--backend", "claude-code")
            d.run(support, "dispatch", rid)
            d.run(
                support,
                "result",
                rid,
                "compile",
                _result_file(support, f"{rid}.md", "# weekly report\n"),
                "--usage-input-tokens",
                str(60000 + 20000 * week),
                "--usage-output-tokens",
                "8000",
                "--usage-model",
                "claude-sonnet-4-5",
                "--usage-attested-at",
                f"2026-11-{monday}T06:00:00.000Z",
            )
            friday = int(monday) + 4
            d.run(
                support,
                "revenue",
                "add",
                rid,
                "25.00",
                "USD",
                "--ref",
                f"SUB-11-{friday:02d}",
                "--at",
                f"2026-11-{friday:02d}T12:00:00Z",
            )
    # 5. A sampling loop: rounds of two samplers until recorded tokens reach the target (three rounds).
    with d.as_actor(CW_ACTOR="alice"):
        rid = "sampling-faq-answers"
        d.run(support, "run", "new", "--id", rid, "--app", "research", "--token-budget", "60000")
        for t in ("sample:a", "sample:b"):
            d.run(support, "task", "add", rid, t, "--phase", "sample", "--backend", "claude-code")
        d.run(
            support,
            "loop",
            "add",
            rid,
            "sample",
            "--task",
            "sample:a",
            "--task",
            "sample:b",
            "--max-rounds",
            "5",
            "--target",
            "30000",
        )
        for rnd in (1, 2, 3):
            d.run(support, "dispatch", rid)
            for k, t in enumerate(("sample:a", "sample:b")):
                task = t if rnd == 1 else f"{t}@r{rnd}"
                d.run(
                    support,
                    "result",
                    rid,
                    task,
                    _result_file(support, f"{rid}-{task.replace(':', '-')}.md", f"# {task}\n"),
                    "--usage-input-tokens",
                    "4000",
                    "--usage-output-tokens",
                    "1200",
                    "--usage-model",
                    "claude-haiku-4-5",
                    "--usage-attested-at",
                    f"2026-11-2{rnd}T14:0{k}:00.000Z",
                )
            d.run(support, "loop", "next", rid, "sample")
    d.run(growth, "registry", "add", str(support))
    return d, support, growth


def over_budget(d: Demo, support: Path) -> None:
    """The nightly job gets a monthly budget, spends past it today, and its next dispatch is refused."""
    with d.as_actor(CW_CRON_NAME="nightly-triage"):
        d.show(support, "budget", "set", "--actor", "cron:nightly-triage", "--period", "month", "--cost", "0.05", "USD")
        rid = "triage-today"
        d.run(support, "run", "new", "--id", rid, "--app", "ticket-triage")
        d.run(support, "task", "add", rid, "classify", "--backend", "claude-code")
        d.run(support, "dispatch", rid)
        d.show(
            support,
            "result",
            rid,
            "classify",
            _result_file(support, f"{rid}.md", "# classify\n"),
            "--usage-input-tokens",
            "20000",
            "--usage-output-tokens",
            "2000",
            "--usage-model",
            "claude-sonnet-4-5",
        )
        d.run(support, "task", "add", rid, "draft-reply", "--backend", "claude-code")
        print("\nThe job is over its monthly budget; its next dispatch is refused:")
        d.show(support, "dispatch", rid)
        d.show(support, "budget", rid)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="cw-demo-"))
    print(f"Building a demo workspace in {root} with the real cw verbs ...")
    d, support, growth = build(root)
    runs = sum(1 for repo in (support, growth) for _ in (repo / ".cw" / "runs").glob("*/state.json"))
    print(
        f"Built it with {d.steps} cw commands: 2 repos ({support.name}, {growth.name}), {runs} runs by "
        "cron:nightly-triage, cron:weekly-growth, cron:weekly-report and alice over four weeks; results with "
        "dated usage from 5 models, a failed worker, a rejected verification, candidates, feedback, memberships, "
        "weekly revenue and a reversal, and a sampling loop of three rounds."
    )
    print(f"Replay any command below with CW_HOME={root / 'cw-home'} from the repo folder.")
    now = "2026-11-22T12:00:00.000Z"
    print("\nA retried job tries to book the same invoice again; cw refuses it:")
    with d.as_actor(CW_CRON_NAME="weekly-growth"):
        d.show(growth, "revenue", "add", "deal-acme-w47", "1200.00", "EUR", "--ref", "INV-2026-118")
    d.show(growth, "metrics", "summary", "--scope", "home", "--pricing", "default", "--now", now)
    d.show(support, "metrics", "show", "research-pricing-page", "--pricing", "default", "--now", now)
    d.show(growth, "ledger", "verify", "--scope", "home", "--now", now)
    d.show(growth, "pnl", "--scope", "home", "--now", now)
    d.show(growth, "pnl", "--scope", "home", "--by", "run", "--attribution", "linear", "--now", now)
    print("\nA sampling loop ran rounds until its recorded tokens reached the target (never past the budget):")
    d.show(support, "loop", "list", "sampling-faq-answers")
    over_budget(d, support)
    print("\nFour weeks of November, week by week (each block compares with the week before):")
    d.show(
        growth,
        "pnl",
        "--scope",
        "home",
        "--since",
        "2026-11-02",
        "--until",
        "2026-11-30",
        "--period",
        "week",
        "--now",
        "2026-11-30T00:00:00Z",
    )
    print(
        f"\nThe workspace stays in {root}; look around, or serve it: "
        f"cd {growth} && CW_HOME={root / 'cw-home'} cw workbench --scope home"
    )


if __name__ == "__main__":
    main()
