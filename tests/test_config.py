"""One default pricing policy for every verb, set by config.toml, named in every output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOW = "2026-11-01T00:00:00.000Z"
# A policy of our own, so the expected figures are worked by hand: 100000 in x 2/M + 20000 out x 10/M = 0.40.
MINE = {
    "schemaVersion": 1,
    "id": "mine",
    "currency": "USD",
    "models": [{"model": "m1", "inputPerMillion": 2, "outputPerMillion": 10}],
}


@pytest.fixture
def priced(cw, repo: Path) -> Path:
    cw.ok("run", "new", "--id", "r", "--app", "a", "--actor", "alice", "--cost-budget", "5.00", "USD")
    cw.ok("task", "add", "r", "t1")
    cw.ok("dispatch", "r")
    (repo / "o.md").write_text("done")
    cw.ok(
        "result",
        "r",
        "t1",
        "o.md",
        "--usage-input-tokens",
        "100000",
        "--usage-output-tokens",
        "20000",
        "--usage-model",
        "m1",
        "--usage-attested-at",
        "2026-10-09T10:00:00.000Z",
    )
    (repo / "mine.json").write_text(json.dumps(MINE))
    return repo


def _all(cw, *flags: str) -> dict[str, dict]:
    return {
        "show": cw.json("metrics", "show", "r", "--now", NOW, *flags),
        "summary": cw.json("metrics", "summary", "--now", NOW, *flags),
        "pnl": cw.json("pnl", "--now", NOW, *flags),
        "budget": cw.json("budget", "r", "--now", NOW, *flags),
    }


def test_every_verb_uses_the_same_default_and_names_it(cw, priced):
    out = _all(cw)
    headers = {name: p["pricingPolicy"] for name, p in out.items()}
    assert all(h["name"] == "default" and h["from"] == "built-in" for h in headers.values()), headers
    bundled = headers["show"]["id"]
    assert bundled and all(h["id"] == bundled for h in headers.values())
    # m1 is in no bundled entry: every surface says the same state, not a price from one and none from another
    assert out["show"]["cost"]["state"] == out["summary"]["cost"]["state"] == out["pnl"]["totals"]["spendState"]
    assert "pricing: default" in cw.ok("metrics", "show", "r", "--now", NOW).stdout


def test_repo_config_sets_the_policy_for_all_verbs(cw, priced, isolated_home):
    (priced / ".cw" / "config.toml").write_text('pricing = "../mine.json"\n')  # relative to .cw/
    out = _all(cw)
    for name, p in out.items():
        assert p["pricingPolicy"]["id"] == "mine", name
        assert p["pricingPolicy"]["from"] == str(priced / ".cw" / "config.toml")
    assert out["show"]["cost"]["attestedUsd"] == 0.4
    assert out["pnl"]["totals"]["spend"] == 0.4 and out["pnl"]["totals"]["spendState"] == "attested"
    assert out["budget"]["costBudget"]["spent"] == 0.4
    # the flag wins over the file; none is CW's reading
    none = cw.json("metrics", "show", "r", "--now", NOW, "--pricing", "none")
    assert none["cost"]["state"] == "unpriced" and none["pricingPolicy"] == {"name": "none", "id": None, "from": "flag"}


def test_user_config_applies_and_the_repo_config_wins(cw, priced, isolated_home):
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config.toml").write_text(f'pricing = "{priced / "mine.json"}"\ncurrency = "EUR"\n')
    assert cw.json("pnl", "--now", NOW)["pricingPolicy"]["id"] == "mine"
    assert cw.json("pnl", "--now", NOW)["currency"] == "EUR"
    (priced / ".cw" / "config.toml").write_text('pricing = "none"\n')
    p = cw.json("pnl", "--now", NOW)
    assert p["pricingPolicy"]["name"] == "none" and p["currency"] == "EUR"
    assert p["totals"]["spendState"] == "unpriced"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("pricing = 3\n", '"pricing" must be a non-empty string'),
        ('colour = "red"\n', 'unknown key "colour"'),
        ('currency = "dollars"\n', "currency"),
        ('timezone = "Mars/Olympus"\n', "not an IANA time zone"),
        ("pricing = \n", "Invalid TOML"),
    ],
)
def test_bad_config_is_a_usage_error_naming_the_file(cw, priced, text, words):
    cfg = priced / ".cw" / "config.toml"
    cfg.write_text(text)
    res = cw.fails(2, "pnl", "--now", NOW)
    assert str(cfg) in res.stderr and words in res.stderr and "Traceback" not in res.stderr


def test_a_config_that_is_not_a_file_is_refused_at_once(cw, priced):
    (priced / ".cw" / "config.toml").mkdir()
    res = cw.fails(2, "metrics", "show", "r", "--now", NOW)
    assert "not a regular file" in res.stderr


@pytest.mark.parametrize(
    ("text", "words", "verbs"),
    [
        ('pricing = "no-such-policy.json"\n', "Pricing policy file not found", (("pnl",), ("metrics", "show", "r"))),
        ('fx = "broken.json"\n', "Invalid JSON", (("pnl",),)),  # the only verb here that converts
    ],
)
def test_a_policy_the_config_names_but_cannot_load_names_the_config(cw, priced, text, words, verbs):
    # the policy file alone would leave the user hunting for which setting chose it
    (priced / ".cw" / "broken.json").write_text("{not json")
    cfg = priced / ".cw" / "config.toml"
    cfg.write_text(text)
    key = text.split(" ")[0]
    for verb in verbs:
        res = cw.fails(1, *verb, "--now", NOW)
        assert words in res.stderr and f'named by "{key}" in {cfg}' in res.stderr, verb
    # a flag is its own explanation
    flag = cw.fails(1, "pnl", "--now", NOW, "--pricing", "gone.json", "--fx", "default")
    assert "not found" in flag.stderr and "named by" not in flag.stderr
