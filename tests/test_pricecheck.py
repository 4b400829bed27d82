"""cw pricing check: models the policy cannot price, and entries older than --max-age."""

from __future__ import annotations

import json

import jsonschema
import pytest

from cw.shell.resources import schema

NOW = "2026-12-01T12:00:00Z"
POLICY = {
    "schemaVersion": 1,
    "id": "mine",
    "pricesTakenOn": "2026-10-01",
    "models": [
        {"model": "known", "inputPerMillion": 1, "outputPerMillion": 2},
        {"model": "dated", "inputPerMillion": 1, "outputPerMillion": 2, "effectiveFrom": "2026-06-01"},
        {"model": "fresh", "inputPerMillion": 1, "outputPerMillion": 2, "pricesTakenOn": "2026-11-25"},
    ],
}


def _unit(cw, run, task, model, at):
    cw.ok("task", "add", run, task)
    cw.ok("dispatch", run)
    args = ["result", run, task, "out.md", "--usage-input-tokens", "10", "--usage-attested-at", at]
    if model:
        args += ["--usage-model", model]
    cw.ok(*args)


@pytest.fixture
def workspace(cw, repo):
    (repo / "out.md").write_text("done\n")
    (repo / "p.json").write_text(json.dumps(POLICY))
    cw.ok("run", "new", "--id", "r1")
    cw.ok("run", "new", "--id", "r2")
    _unit(cw, "r1", "t1", "known", "2026-07-01T00:00:00Z")
    _unit(cw, "r1", "t2", "mystery", "2026-07-02T00:00:00Z")
    _unit(cw, "r2", "t1", "mystery", "2026-07-05T00:00:00Z")
    _unit(cw, "r2", "t2", "dated", "2026-05-31T23:59:59Z")  # a second before its only entry
    _unit(cw, "r2", "t3", None, "2026-07-06T00:00:00Z")
    return repo


def test_lists_what_the_policy_cannot_price(cw, workspace):
    res = cw("pricing", "check", "--pricing", "p.json", "--now", NOW, "--json")
    assert res.exit_code == 1
    p = json.loads(res.stdout)
    jsonschema.validate(p, schema("pricing-check.schema.json"))
    rows = {m["model"]: m for m in p["models"]}
    assert set(rows) == {None, "dated", "mystery"}
    assert rows["mystery"]["units"] == 2 and rows["mystery"]["unpriced"] == 2
    assert (rows["mystery"]["firstSeen"], rows["mystery"]["lastSeen"]) == (
        "2026-07-02T00:00:00Z",
        "2026-07-05T00:00:00Z",
    )
    assert rows["mystery"]["runs"] == [f"{workspace}:r1", f"{workspace}:r2"]
    assert rows["mystery"]["reason"] == "no entry for this model; unpriced"
    assert "before the model's first entry (effectiveFrom 2026-06-01)" in rows["dated"]["reason"]
    assert p["stale"] is None and p["policy"]["ageDays"] == 61  # 2026-10-01 -> 2026-12-01
    text = cw("pricing", "check", "--pricing", "p.json", "--now", NOW).stdout
    assert "mystery  units=2 estimated=0 unpriced=2" in text


def test_a_default_price_makes_them_estimated(cw, workspace):
    (workspace / "p.json").write_text(
        json.dumps({**POLICY, "defaultPrice": {"inputPerMillion": 3, "outputPerMillion": 15}})
    )
    p = json.loads(cw("pricing", "check", "--pricing", "p.json", "--now", NOW, "--json").stdout)
    rows = {m["model"]: m for m in p["models"]}
    assert rows["mystery"]["estimated"] == 2 and rows["mystery"]["unpriced"] == 0
    assert rows["mystery"]["reason"].endswith("priced by defaultPrice (estimated)")


@pytest.mark.parametrize("max_age,stale", [("60", ["known", "dated"]), ("61", []), ("5", ["known", "dated", "fresh"])])
def test_max_age_lists_entries_read_too_long_ago(cw, repo, max_age, stale):
    (repo / "p.json").write_text(json.dumps(POLICY))
    res = cw("pricing", "check", "--pricing", "p.json", "--max-age", max_age, "--now", NOW, "--json")
    p = json.loads(res.stdout)
    assert [e["model"] for e in p["stale"]["entries"]] == stale
    assert res.exit_code == (1 if stale else 0)
    if stale:
        ages = {e["model"]: e["ageDays"] for e in p["stale"]["entries"]}
        assert ages["known"] == 61 and ages.get("fresh", 6) == 6


def test_an_undated_policy_has_entries_of_unknown_age(cw, repo):
    (repo / "p.json").write_text(json.dumps({k: v for k, v in POLICY.items() if k != "pricesTakenOn"}))
    p = json.loads(cw("pricing", "check", "--pricing", "p.json", "--max-age", "400", "--now", NOW, "--json").stdout)
    assert [(e["model"], e["ageDays"]) for e in p["stale"]["entries"]] == [("known", None), ("dated", None)]


@pytest.mark.parametrize(
    "args,said",
    [
        (("--max-age", "-1"), "--max-age"),
        (("--max-age", "ten"), "--max-age"),
        (("--max-age", "\u00b2"), "--max-age"),
        (("--max-age", "\u0663"), "--max-age"),
        (("--now", "noon"), "--now"),
    ],
)
def test_bad_arguments_exit_2(cw, repo, args, said):
    res = cw("pricing", "check", *args)
    assert res.exit_code == 2 and said in res.stderr and "internal error" not in res.stderr


def test_bad_pricesTakenOn_is_refused_naming_the_field(cw, repo):
    (repo / "p.json").write_text(json.dumps({**POLICY, "pricesTakenOn": "last week"}))
    res = cw("pricing", "check", "--pricing", "p.json")
    assert res.exit_code == 1 and "pricesTakenOn" in res.stderr


def test_it_checks_the_policy_the_config_sets_as_every_other_verb_prices_with(cw, workspace):
    # it used to check the bundled policy whatever config.toml named, so it passed models pnl left unpriced
    (workspace / ".cw" / "config.toml").write_text('pricing = "../p.json"\n')
    res = cw("pricing", "check", "--now", NOW, "--json")
    p = json.loads(res.stdout)
    assert p["policy"]["id"] == "mine" and res.exit_code == 1
    assert {m["model"] for m in p["models"]} == {None, "dated", "mystery"}
    assert (
        json.loads(cw("pricing", "check", "--pricing", "default", "--now", NOW, "--json").stdout)["policy"]["id"]
        != "mine"
    )


def test_pricing_none_is_refused_as_nothing_to_check(cw, repo):
    # it used to stop on an internal error (exit 70)
    res = cw.fails(2, "pricing", "check", "--pricing", "none")
    assert res.stderr.startswith("cw: --pricing none: cw pricing check checks a policy;")


@pytest.mark.parametrize(
    ("now", "said"), [("2026-10-02T12:00:00Z", ", 1 day old"), ("2026-10-03T12:00:00Z", ", 2 days old")]
)
def test_the_age_of_the_policy_is_said_in_days(cw, repo, now, said):
    (repo / "p.json").write_text(json.dumps(POLICY))
    first = cw("pricing", "check", "--pricing", "p.json", "--now", now).stdout.splitlines()[0]
    assert first.endswith(f"prices taken on 2026-10-01{said}")
