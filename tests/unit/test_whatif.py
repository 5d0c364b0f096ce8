"""The what-if: records, figures and differences from logs, and the command on the sample."""

from __future__ import annotations

import io
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from policy import default_policy, load_policy
from streams.cli import main
from streams.progress import Progress
from streams.replay import Replayer
from streams.whatif import (
    CANCELLED,
    CREATED,
    DAY,
    ERASED,
    ESCALATION,
    OUTREACH,
    RECORD,
    Codes,
    Recorder,
    Run,
    count_lines,
    customer_of,
    differing,
    replay_policy,
    summarize,
)
from streams.whatif_report import percentile, policy_specs

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample_history.jsonl"
CHALLENGER = ROOT / "examples" / "policies" / "voice-first.toml"
UNTIL = "2026-06-30T00:00:00Z"
T0 = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp())


def outreach(
    customer: str,
    decided: str,
    not_before: str | None = None,
    channel: str = "sms",
    reason: str = "cadence",
    tier: str = "early",
) -> dict[str, Any]:
    return {
        "topic": "repayments.outreach-needed",
        "key": customer,
        "value": {
            "outreach_id": f"o-{customer}-{decided}",
            "customer_id": customer,
            "channel": channel,
            "tier": tier,
            "priority": 4,
            "reason": reason,
            "not_before": not_before or decided,
            "expires_at": "2026-03-09T00:00:00Z",
            "days_past_due": 3,
            "overdue_amount": "100.00",
            "currency": "CNY",
            "caused_by": "tick",
            "decided_at": decided,
        },
    }


def escalation(customer: str, decided: str, frm: str, to: str, *reasons: str) -> dict[str, Any]:
    return {
        "topic": "repayments.risk-escalations",
        "key": customer,
        "value": {
            "customer_id": customer,
            "from_tier": frm,
            "to_tier": to,
            "direction": "up",
            "reasons": list(reasons) or ["dpd"],
            "decided_at": decided,
        },
    }


def cancelled(customer: str, decided: str, channel: str = "sms", reason: str = "cured") -> Any:
    return {
        "topic": "repayments.outreach-cancelled",
        "key": customer,
        "value": {
            "customer_id": customer,
            "channel": channel,
            "reason": reason,
            "decided_at": decided,
        },
    }


def run_of(recorder: Recorder, end: int, name: str = "p") -> Run:
    return Run(name, name, recorder.codes, recorder.logs, {}, recorder.first, end)


def records(log: bytes | bytearray) -> list[tuple[int, ...]]:
    return list(RECORD.iter_unpack(log))


# --- records ---------------------------------------------------------------------------


def test_recorder__a_customer_starts_at_its_first_decision_or_when_its_state_appears() -> None:
    rec = Recorder(default_policy().contact_profile)
    rec.output(escalation("a", "2026-03-01T00:00:00Z", "current", "early"), "Asia/Shanghai")
    rec.observe("a", True, datetime(2026, 3, 1, tzinfo=UTC))  # already started: nothing
    rec.observe("b", True, datetime(2026, 3, 2, tzinfo=UTC))
    assert [r[1] for r in records(rec.logs["a"])] == [CREATED, ESCALATION]
    assert records(rec.logs["b"]) == [(T0 + DAY, CREATED, 0, 0, 0, 0, 0)]
    rec.observe("b", False, datetime(2026, 3, 3, tzinfo=UTC))  # erased
    assert records(rec.logs["b"])[-1][:2] == (T0 + 2 * DAY, ERASED)
    assert rec.first == T0


def test_recorder__tells_quiet_hours_from_caps_in_the_customers_zone() -> None:
    rec = Recorder(default_policy().contact_profile)
    # 23:00 in Shanghai (15:00Z) is inside sms quiet hours: moved to 08:00 local
    rec.output(outreach("a", "2026-03-01T15:00:00Z", "2026-03-02T00:00:00Z"), "Asia/Shanghai")
    # 11:00 in Shanghai (03:00Z) is not: something else (a cap) held it back
    rec.output(outreach("a", "2026-03-02T03:00:00Z", "2026-03-03T03:00:00Z"), "Asia/Shanghai")
    # 15:00Z is 10:00 in New York: not quiet there
    rec.output(outreach("b", "2026-03-01T15:00:00Z", "2026-03-01T16:00:00Z"), "America/New_York")
    rec.output(outreach("b", "2026-03-01T16:00:00Z"), "America/New_York")  # at once
    a = [r for r in records(rec.logs["a"]) if r[1] == OUTREACH]
    b = [r for r in records(rec.logs["b"]) if r[1] == OUTREACH]
    assert [(r[5], r[6]) for r in a] == [(1, 9 * 3600), (2, DAY)]
    assert [(r[5], r[6]) for r in b] == [(2, 3600), (0, 0)]


def test_recorder__dead_letters_are_counted_not_logged() -> None:
    rec = Recorder(default_policy().contact_profile)
    rec.output({"topic": "repayments.dead-letter", "key": "x", "value": {}}, "UTC")
    assert rec.dead_letters == 1 and rec.logs == {}


def test_codes__an_unknown_value_gets_the_next_code_instead_of_failing() -> None:
    codes = Codes()
    assert codes.code("channel", "sms") == 0
    fax = codes.code("channel", "fax")
    assert codes.name("channel", fax) == "fax" and codes.code("channel", "fax") == fax
    assert codes.reasons(1 << codes.code("escalation", "cured")) == ["cured"]


def test_customer_of__reads_the_value_also_when_it_is_raw_text() -> None:
    value = {"customer_id": "c9"}
    assert customer_of(orjson.dumps({"topic": "t", "value": value}).decode()) == "c9"
    assert customer_of(orjson.dumps({"value": orjson.dumps(value).decode()}).decode()) == "c9"
    assert customer_of('{"value": "not json"}') is None
    assert customer_of("{") is None
    assert customer_of('{"value": {"customer_id": 7}}') is None


# --- figures -----------------------------------------------------------------------------


def test_summarize__integrates_tiers_over_time_and_counts_cancellations_apart() -> None:
    rec = Recorder(default_policy().contact_profile)
    rec.observe("a", True, datetime(2026, 3, 1, tzinfo=UTC))
    rec.output(escalation("a", "2026-03-02T00:00:00Z", "current", "early"), "UTC")
    rec.output(outreach("a", "2026-03-02T00:00:00Z", reason="missed_payment"), "UTC")
    rec.output(escalation("a", "2026-03-04T00:00:00Z", "early", "mid"), "UTC")
    rec.output(outreach("a", "2026-03-04T00:00:00Z", channel="voice_bot"), "UTC")
    rec.output(cancelled("a", "2026-03-04T06:00:00Z", channel="voice_bot", reason="promise"), "UTC")
    rec.observe("b", True, datetime(2026, 3, 3, tzinfo=UTC))
    s = summarize(run_of(rec, T0 + 6 * DAY))
    assert s.customers == 2
    assert s.tier_days["current"] == 1 + 4  # a: 1 day; b: from March 3 to the end, March 7
    assert s.tier_days["early"] == 2 and s.tier_days["mid"] == 3
    assert s.outreach == Counter({("sms", "missed_payment"): 1, ("voice_bot", "cadence"): 1})
    assert s.cancelled == Counter({("voice_bot", "promise"): 1})
    assert s.escalations == Counter({("early", "up"): 1, ("mid", "up"): 1})
    assert s.contacts_per_customer == Counter({2: 1, 0: 1})
    assert s.daily_contacts == {"2026-03-02": {"sms": 1}, "2026-03-04": {"voice_bot": 1}}
    # customers in each tier at the end of each UTC day, up to the end
    assert list(s.daily_tiers) == [f"2026-03-0{d}" for d in range(1, 8)]
    assert s.daily_tiers["2026-03-01"][:3] == [1, 0, 0]
    assert s.daily_tiers["2026-03-03"][:3] == [1, 1, 0]
    assert s.daily_tiers["2026-03-07"][:3] == [1, 0, 1]


def test_summarize__an_erasure_ends_the_customers_time_and_a_new_life_starts_current() -> None:
    rec = Recorder(default_policy().contact_profile)
    rec.observe("a", True, datetime(2026, 3, 1, tzinfo=UTC))
    rec.output(escalation("a", "2026-03-02T00:00:00Z", "current", "early"), "UTC")
    rec.observe("a", False, datetime(2026, 3, 3, tzinfo=UTC))
    rec.observe("a", True, datetime(2026, 3, 5, tzinfo=UTC))
    s = summarize(run_of(rec, T0 + 6 * DAY))
    assert s.tier_days["current"] == 1 + 2 and s.tier_days["early"] == 1
    assert s.customers == 2  # two lives of one customer_id
    assert s.daily_tiers["2026-03-04"][:2] == [0, 0]


def test_summarize__deferrals_by_rule_and_channel_with_hours_moved() -> None:
    rec = Recorder(default_policy().contact_profile)
    rec.output(outreach("a", "2026-03-01T15:00:00Z", "2026-03-02T00:00:00Z"), "Asia/Shanghai")
    rec.output(outreach("a", "2026-03-02T03:00:00Z", "2026-03-03T03:00:00Z"), "Asia/Shanghai")
    s = summarize(run_of(rec, T0 + 3 * DAY))
    assert s.deferred == Counter({("sms", "quiet_hours"): 1, ("sms", "cap"): 1})
    assert s.deferred_hours == Counter({"quiet_hours": 9.0, "cap": 24.0})
    # contacts are counted on the day the dialer may make them
    assert s.daily_contacts == {"2026-03-02": {"sms": 1}, "2026-03-03": {"sms": 1}}


def test_percentile__nearest_rank_over_a_histogram() -> None:
    hist = Counter({0: 5, 1: 2, 3: 1, 10: 1})
    assert percentile(hist, 0.5) == 1
    assert percentile(hist, 0.9) == 10
    assert percentile(hist, 0.5, skip_zero=False) == 0
    assert percentile(Counter(), 0.5) == 0


# --- differences -------------------------------------------------------------------------


def _two_runs() -> list[Run]:
    runs = []
    for name, channel in (("a", "sms"), ("b", "voice_bot")):
        rec = Recorder(default_policy().contact_profile)
        rec.observe("same", True, datetime(2026, 3, 1, tzinfo=UTC))
        rec.output(outreach("same", "2026-03-01T02:00:00Z"), "UTC")
        rec.output(outreach("small", "2026-03-01T02:00:00Z", channel=channel), "UTC")
        rec.output(outreach("big", "2026-03-01T02:00:00Z", channel=channel), "UTC")
        rec.output(outreach("big", "2026-03-02T02:00:00Z"), "UTC")
        if name == "b":  # b: one more contact, and at another hour of the same day
            rec.output(outreach("big", "2026-03-03T02:00:00Z"), "UTC")
            rec.output(outreach("same", "2026-03-01T02:00:00Z"), "UTC")
            rec.logs["same"] = rec.logs["same"][: -RECORD.size]  # keep "same" identical
        runs.append(run_of(rec, T0 + 4 * DAY, name))
    return runs


def test_differing__scores_decisions_made_by_one_policy_only_and_shows_them_by_day() -> None:
    count, diffs = differing(_two_runs(), top=10)
    assert count == 2
    assert [(d.customer_id, d.score) for d in diffs] == [("big", 3), ("small", 2)]
    big = diffs[0]
    assert big.decisions == [2, 3]
    assert big.identical_days == 1  # 2026-03-02: sms cadence under both
    assert big.days == [
        ("2026-03-01", [["02:00 sms cadence"], ["02:00 voice_bot cadence"]]),
        ("2026-03-03", [[], ["02:00 sms cadence"]]),
    ]
    assert differing(_two_runs(), top=1)[1][0].customer_id == "big"


def test_differing__needs_two_policies_and_ignores_the_hour_within_a_day() -> None:
    runs = _two_runs()
    assert differing(runs[:1]) == (0, [])
    rec = Recorder(default_policy().contact_profile)
    rec.output(outreach("x", "2026-03-01T02:00:00Z"), "UTC")
    other = Recorder(default_policy().contact_profile)
    other.output(outreach("x", "2026-03-01T09:00:00Z"), "UTC")
    pair = [run_of(rec, T0 + DAY), run_of(other, T0 + DAY)]
    assert differing(pair) == (0, [])


# --- replaying the sample ----------------------------------------------------------------


def _replay_lines(policy_path: Path | None) -> list[dict[str, Any]]:
    policy = default_policy() if policy_path is None else load_policy(policy_path)
    until = datetime(2026, 6, 30, tzinfo=UTC)
    with SAMPLE.open(encoding="utf-8") as f:
        return list(Replayer(policy).replay(f, until))


@pytest.mark.parametrize("policy_path", [None, CHALLENGER])
def test_replay_policy__logs_exactly_what_replay_decides(policy_path: Path | None) -> None:
    expected = _replay_lines(policy_path)
    policy = default_policy() if policy_path is None else load_policy(policy_path)
    with SAMPLE.open(encoding="utf-8") as f:
        run = replay_policy("p", "p", policy, f, datetime(2026, 6, 30, tzinfo=UTC))
    kinds = {
        "repayments.outreach-needed": OUTREACH,
        "repayments.risk-escalations": ESCALATION,
        "repayments.outreach-cancelled": CANCELLED,
    }
    want: Counter[tuple[str, int]] = Counter(
        (line["key"], kinds[line["topic"]]) for line in expected if line["topic"] in kinds
    )
    got: Counter[tuple[str, int]] = Counter(
        (cid, r[1]) for cid, log in run.logs.items() for r in records(log) if r[1] in kinds.values()
    )
    assert got == want
    assert run.stats["dead_letters"] == sum(1 for x in expected if "dead-letter" in x["topic"])
    assert run.end == int(datetime(2026, 6, 30, tzinfo=UTC).timestamp())
    s = summarize(run)
    # every customer is in exactly one tier from its start to its erasure or the end
    alive = 0
    for log in run.logs.values():
        start = None
        for at, kind, *_ in records(log):
            if kind == CREATED:
                start = at
            elif kind == ERASED and start is not None:
                alive, start = alive + at - start, None
        alive += 0 if start is None else run.end - start
    assert sum(s.tier_days.values()) == pytest.approx(alive / DAY)
    assert s.customers == 8


def _whatif(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    argv = ["whatif", str(SAMPLE), "--policy", "default", "--policy", str(CHALLENGER)]
    code = main([*argv, "--until", UNTIL, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def test_whatif_command__json_holds_the_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _whatif(capsys, "--format", "json")
    assert code == 0
    lines = count_lines(str(SAMPLE))
    assert f"whatif voice-first: {lines}/{lines} lines (100%)" in err
    doc = orjson.loads(out)
    default, challenger = doc["policies"]
    assert (default["name"], challenger["name"]) == ("default", "voice-first")
    replayed = _replay_lines(None)
    emitted = sum(1 for x in replayed if x["topic"] == "repayments.outreach-needed")
    assert sum(sum(r.values()) for r in default["contacts"].values()) == emitted
    # the challenger calls first in early: no sms at all in the sample, more voice bot
    assert "sms" not in challenger["contacts"]
    voice = [sum(p["contacts"]["voice_bot"].values()) for p in (default, challenger)]
    assert voice[1] > voice[0]
    # tiers follow days past due, not the channel: the same customer-days
    assert default["customer_days"] == challenger["customer_days"]
    assert doc["customers_differing"] == 8 and len(doc["differences"]) == 8
    first = doc["differences"][0]
    assert set(first["decisions"]) == {"default", "voice-first"}
    assert "cannot tell how customers would have answered" in doc["note"]


def test_whatif_command__table_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _whatif(capsys, "--top", "1")
    assert code == 0
    for title in (
        "Contacts by channel",
        "Contacts by reason",
        "Cancelled outreach by reason",
        "Escalations by tier",
        "Customer-days in each tier",
        "Contacts per customer",
        "Contact rules: deferrals and cap hits",
        "Customers treated differently: 8 of 8; the 1 that differ most",
    ):
        assert title in out
    assert out.count("decisions differ") == 1


def test_whatif_command__the_same_policy_twice_differs_nowhere(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["whatif", str(SAMPLE), "--policy", "default", "--policy", "default"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "default#2" in out and "Customers treated differently: 0 of 8" in out


def test_whatif_command__parallel_jobs_give_the_same_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, one, _ = _whatif(capsys, "--format", "json")
    _, two, _ = _whatif(capsys, "--format", "json", "--jobs", "2")
    strip = lambda doc: [{k: v for k, v in p.items() if k != "seconds"} for p in doc["policies"]]  # noqa: E731
    a, b = orjson.loads(one), orjson.loads(two)
    assert strip(a) == strip(b) and a["differences"] == b["differences"]


def test_whatif_command__refuses_stdin_and_bad_policies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["whatif", "-", "--policy", "default"]) == 2
    assert "give a file" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text("[tiers.early]\ncadence_dayz = 2\n")
    assert main(["whatif", str(SAMPLE), "--policy", "default", "--policy", str(bad)]) == 2
    assert "cadence_dayz" in capsys.readouterr().err


def test_whatif_command__html_is_one_offline_page_with_charts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    page = tmp_path / "whatif.html"
    code, _, err = _whatif(capsys, "--format", "html", "--out", str(page))
    assert code == 0 and f"wrote {page}" in err
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    for chart in ("tier-mix", "contacts-per-day", "totals"):
        assert f'id="{chart}"' in html
    assert "Plotly.newPlot" in html  # plotly.js embedded: nothing is fetched
    assert "<script src" not in html and "<link" not in html
    assert "cust-002" in html and "cannot tell how customers would have answered" in html


def test_whatif_command__html_without_the_extra_names_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "plotly", None)  # as if not installed
    code, out, err = _whatif(capsys, "--format", "html")
    assert code == 2 and out == ""
    assert "repayment-stream[report]" in err


# --- small parts -------------------------------------------------------------------------


def test_policy_specs__default_is_built_in_and_names_are_unique() -> None:
    specs = policy_specs(["default", str(CHALLENGER), str(CHALLENGER)])
    assert [s.name for s in specs] == ["default", "voice-first", "voice-first#2"]
    assert specs[0].path is None and specs[0].source == "built-in"
    assert specs[0].load() == default_policy()


def test_example_policies_load() -> None:
    files = sorted((ROOT / "examples" / "policies").glob("*.toml"))
    assert files
    for path in files:
        assert load_policy(path) != default_policy()


def test_count_lines__counts_a_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text("a\nb\nc")
    assert count_lines(str(path)) == 3
    path.write_text("a\nb\n")
    assert count_lines(str(path)) == 2


def test_progress__one_line_per_report_off_a_terminal() -> None:
    stream = io.StringIO()
    progress = Progress("whatif p", 100, unit=" lines", stream=stream)
    for _ in range(100):
        progress.advance()
    progress.close()
    assert stream.getvalue().startswith("whatif p: 100/100 lines (100%)")
    assert stream.getvalue().count("\n") == 1


def test_readme_shows_the_current_whatif_of_the_sample(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's table is this command's output; regenerate it when a decision changes:
    repayment-stream whatif examples/sample_history.jsonl --until 2026-06-30T00:00:00Z
    --policy default --policy examples/policies/voice-first.toml --top 1"""
    monkeypatch.chdir(ROOT)
    code = main(
        ["whatif", "examples/sample_history.jsonl", "--until", UNTIL, "--policy", "default"]
        + ["--policy", "examples/policies/voice-first.toml", "--top", "1"]
    )
    out, _ = capsys.readouterr()
    assert code == 0
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"```text\n{out}```" in readme
