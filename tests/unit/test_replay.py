"""The replay command: its clock, its input handling, and the sample history's stories."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from policy import default_policy
from schemas.errors import InvalidEvent
from streams.replay import Dormant, EventItem, Replayer, ReplayInputError, TickItem, timeline

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample_history.jsonl"
UNTIL = datetime(2026, 6, 30, tzinfo=UTC)


def line(topic: str, value: object, key: str | None = "c1") -> str:
    return orjson.dumps({"topic": topic, "key": key, "value": value}).decode()


def missed(event_id: str, at: str, customer: str = "c1") -> str:
    return line(
        "repayments.missed-payments",
        {
            "event_id": event_id,
            "customer_id": customer,
            "occurred_at": at,
            "installment_id": f"i-{event_id}",
            "due_date": at[:10],
            "amount_due": "100.00",
            "currency": "CNY",
        },
        key=customer,
    )


def ticks_of(items: list[EventItem | TickItem]) -> list[str]:
    return [i.at.strftime("%d %H:%M") for i in items if isinstance(i, TickItem)]


def test_timeline__ticks_every_whole_hour_between_events_and_on_the_event_hour() -> None:
    items = list(
        timeline([missed("a", "2026-03-01T09:30:00Z"), missed("b", "2026-03-01T12:00:00Z")])
    )
    assert ticks_of(items) == ["01 10:00", "01 11:00", "01 12:00"]
    assert isinstance(items[-1], EventItem) and items[-1].offset == 1


def test_timeline__until_adds_hourly_ticks_and_a_last_tick_at_until() -> None:
    until = datetime(2026, 3, 1, 12, 15, tzinfo=UTC)
    items = list(timeline([missed("a", "2026-03-01T10:30:00Z")], until))
    assert ticks_of(items) == ["01 11:00", "01 12:00", "01 12:15"]


def test_timeline__an_older_event_does_not_move_the_clock_back() -> None:
    items = list(
        timeline([missed("a", "2026-03-01T12:00:00Z"), missed("b", "2026-03-01T09:00:00Z")])
    )
    assert ticks_of(items) == []
    out = Replayer(default_policy())
    decided = [out.feed(i) for i in items]
    assert decided[1][0]["value"]["decided_at"] == "2026-03-01T12:00:00Z"


def test_timeline__bad_input_does_not_move_the_clock() -> None:
    items = list(
        timeline(
            [
                missed("a", "2026-03-01T09:00:00Z"),
                line("repayments.payments", "{broken"),
                missed("b", "2026-03-01T10:00:00Z"),
            ]
        )
    )
    assert ticks_of(items) == ["01 10:00"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "line 1: not JSON"),
        ('{"topic": "repayments.payments"}', 'line 1: expected {"topic", "key", "value"}'),
        ('{"topic": "elsewhere", "value": {}}', "line 1: topic 'elsewhere' is not an input"),
    ],
)
def test_timeline__a_broken_envelope_names_its_line(text: str, message: str) -> None:
    with pytest.raises(ReplayInputError, match=message):
        list(timeline([text]))


def run_sample() -> tuple[list[dict], Replayer]:
    replayer = Replayer(default_policy())
    out: list[dict] = []
    with SAMPLE.open() as source:
        for item in timeline(source, UNTIL):
            out.extend(replayer.feed(item))
    return out, replayer


def test_sample__replays_identically_twice() -> None:
    first, _ = run_sample()
    second, _ = run_sample()
    assert first == second
    ids = [
        (o["topic"], o["value"].get("outreach_id") or o["value"].get("escalation_id"))
        for o in first
    ]
    assert len([i for i in ids if i[1]]) == len(set(i for i in ids if i[1]))


def test_sample__every_bad_line_is_dead_lettered_with_its_code() -> None:
    out, replayer = run_sample()
    codes = sorted(o["value"]["error"]["code"] for o in out if o["topic"].endswith("dead-letter"))
    assert codes == sorted(
        ["invalid_json", "not_an_object", "missing_field", "unknown_outcome", "currency_mismatch"]
    )
    assert replayer.stats.duplicates == 1
    assert replayer.stats.rekeyed == 1


def decisions_for(out: list[dict], customer: str) -> list[dict]:
    return [o["value"] for o in out if o["key"] == customer and "error" not in o["value"]]


def test_sample__cease_contact_means_silence_but_escalations_flow() -> None:
    out, _ = run_sample()
    after = [d for d in decisions_for(out, "cust-005") if d["decided_at"] > "2026-03-28T02:30:00Z"]
    assert after and all("escalation_id" in d for d in after)
    assert [d["to_tier"] for d in after] == ["mid", "late", "severe"]


def test_sample__opted_out_sms_is_never_chosen_again() -> None:
    out, _ = run_sample()
    later = [d for d in decisions_for(out, "cust-005") if d["decided_at"] > "2026-03-22T11:00:00Z"]
    assert all(d.get("channel") != "sms" for d in later)


def test_sample__two_broken_promises_raise_the_tier() -> None:
    out, _ = run_sample()
    escalations = [d for d in decisions_for(out, "cust-002") if "escalation_id" in d]
    assert escalations[1]["reasons"] == ["broken_promises"]
    assert (escalations[1]["from_tier"], escalations[1]["to_tier"]) == ("early", "mid")
    reasons = [d["reason"] for d in decisions_for(out, "cust-002") if "outreach_id" in d]
    assert reasons.count("promise_reminder") == 2
    assert reasons.count("broken_promise") == 2


def test_sample__unreachable_episode_opens_and_closes() -> None:
    out, _ = run_sample()
    decided = decisions_for(out, "cust-003")
    assert [d["reason"] for d in decided if d.get("reason") == "verify_contact"] == [
        "verify_contact"
    ]
    unreachable = [d for d in decided if "unreachable" in d.get("reasons", [])]
    assert [d["direction"] for d in unreachable] == ["up", "down"]


def test_sample__broken_arrangement_and_cure_are_reported() -> None:
    out, _ = run_sample()
    cust4 = [d for d in decisions_for(out, "cust-004") if "escalation_id" in d]
    assert any("broken_arrangement" in d["reasons"] for d in cust4)
    cured = [d for d in decisions_for(out, "cust-001") if d.get("reasons") == ["cured"]]
    followups = [
        d for d in decisions_for(out, "cust-001") if d.get("reason") == "courtesy_followup"
    ]
    assert len(cured) == 1 and len(followups) == 1


def test_replay_command__prints_json_lines_and_a_summary() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streams", "replay", str(SAMPLE), "--until", "2026-06-01T00:30:00Z"],
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    lines = [orjson.loads(x) for x in result.stdout.splitlines()]
    assert lines and all(set(x) == {"topic", "key", "value"} for x in lines)
    assert b"dead-lettered" in result.stderr and b"clock 2026-06-25T01:00:00Z" in result.stderr


def test_replay_command__a_missing_file_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streams", "replay", "no-such-file.jsonl"],
        capture_output=True,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert b"repayment-stream replay: error:" in result.stderr


def test_compare__ignores_where_a_dead_letter_sat_but_not_what_was_decided(tmp_path: Path) -> None:
    from streams.publish import comparable

    letter = {"topic": "repayments.dead-letter", "key": "c1", "value": {"offset": 4, "raw": "x"}}
    moved = {**letter, "value": {"offset": 9, "partition": 2, "raw": "x"}}
    assert comparable(orjson.dumps(letter)) == comparable(orjson.dumps(moved))
    decision = {"topic": "repayments.outreach-needed", "key": "c1", "value": {"priority": 4}}
    changed = {**decision, "value": {"priority": 3}}
    assert comparable(orjson.dumps(decision)) != comparable(orjson.dumps(changed))


def test_replay__rejected_inputs_never_move_the_clock() -> None:
    """A dead-lettered currency mismatch and a date beyond the future bound stay put."""
    mismatch = orjson.loads(missed("x", "2026-03-05T00:00:00Z"))
    mismatch["value"]["currency"] = "USD"
    far = missed("far", "2099-01-01T00:00:00Z", customer="c2")
    lines = [
        missed("a", "2026-03-01T09:30:00Z"),
        orjson.dumps(mismatch).decode(),
        far,
        missed("b", "2026-03-01T11:00:00Z", customer="c3"),
    ]
    replayer = Replayer(default_policy())
    not_after = datetime(2026, 3, 10, tzinfo=UTC)
    out = list(replayer.replay(lines, not_after=not_after))
    letters = [o["value"] for o in out if o["topic"] == "repayments.dead-letter"]
    assert [(v["error"]["code"], v["offset"]) for v in letters] == [  # type: ignore[index]
        ("currency_mismatch", 1),
        ("invalid_field", 2),
    ]
    assert replayer.stats.ticks == 2  # 10:00 and 11:00, nothing towards day 5 or 2099
    assert replayer.stats.clock == datetime(2026, 3, 1, 11, tzinfo=UTC)


def test_replay__an_input_the_core_fails_on_is_a_processing_error_and_the_next_is_decided(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import streams.replay as replay_module

    real_apply = replay_module.apply

    def planted(state, event, now, policy, source=None):  # type: ignore[no-untyped-def]
        if event.header.event_id == "boom":
            raise ZeroDivisionError("planted defect")
        return real_apply(state, event, now, policy, source)

    monkeypatch.setattr(replay_module, "apply", planted)
    lines = [missed("boom", "2026-03-01T09:30:00Z"), missed("ok", "2026-03-01T09:40:00Z")]
    out = list(Replayer(default_policy()).replay(lines))
    letter = out[0]["value"]
    assert out[0]["topic"] == "repayments.dead-letter"
    assert letter["error"]["code"] == "processing_error"  # type: ignore[index]
    assert "ZeroDivisionError: planted defect" in letter["error"]["message"]  # type: ignore[index]
    assert {o["value"]["caused_by"] for o in out[1:]} == {"ok"}  # type: ignore[index]


def test_replay__a_repeated_line_is_a_duplicate_and_decides_nothing() -> None:
    line_a = missed("a", "2026-03-01T09:30:00Z")
    once = list(Replayer(default_policy()).replay([line_a]))
    twice = Replayer(default_policy())
    assert list(twice.replay([line_a, line_a])) == once != []
    assert twice.stats.duplicates == 1


def test_replay__an_erasure_forgets_the_customer_and_a_later_event_starts_anew() -> None:
    erasure = line(
        "repayments.erasures",
        {"event_id": "e-1", "customer_id": "c1", "occurred_at": "2026-03-01T10:00:00Z"},
    )
    replayer = Replayer(default_policy())
    out = list(replayer.replay([missed("a", "2026-03-01T09:30:00Z"), erasure]))
    cancelled = [o for o in out if o["topic"] == "repayments.outreach-cancelled"]
    assert [o["value"]["reason"] for o in cancelled] == ["erasure"]  # type: ignore[index]
    assert "c1" not in replayer.states and replayer.stats.erased == 1
    again = list(replayer.replay([missed("a", "2026-03-01T11:00:00Z")]))
    assert [o["value"]["caused_by"] for o in again][:1] == ["a"]  # not a duplicate: new customer
    assert replayer.states["c1"].total_due == 100


def test_erase_command__builds_a_well_formed_request_or_refuses_a_bad_id() -> None:
    from streams.publish import erasure_request

    at = datetime(2026, 3, 1, tzinfo=UTC)
    assert orjson.loads(erasure_request("cust-9", "erase-1", at)) == {
        "event_id": "erase-1",
        "customer_id": "cust-9",
        "occurred_at": "2026-03-01T00:00:00Z",
    }
    with pytest.raises(InvalidEvent) as caught:
        erasure_request("x" * 129, "erase-2", at)
    assert caught.value.field == "customer_id"


class _Insomniac(Dormant):
    """Never lets a customer sleep: the replay ticks everyone every hour, as it once did."""

    def sleep(self, customer_id: str, until: datetime) -> None:
        return None


@pytest.mark.parametrize(
    "source", ["sample", "portfolio"], ids=["sample history", "bench portfolio"]
)
def test_skipping_dormant_customers__changes_no_output_and_no_state(
    source: str, tmp_path: Path
) -> None:
    from bench.portfolio import PortfolioSpec, generate, write_replay

    if source == "sample":
        lines = SAMPLE.read_text().splitlines()
    else:
        path = tmp_path / "portfolio.jsonl"
        write_replay(generate(PortfolioSpec(customers=300, months=4, seed=5)), path)
        lines = path.read_text().splitlines()
    policy = default_policy()
    skipping = Replayer(policy)
    everyone = Replayer(policy, dormant=_Insomniac())
    assert list(skipping.replay(lines)) == list(everyone.replay(lines))
    assert skipping.states == everyone.states
    assert skipping.stats == everyone.stats
    asleep = list(skipping.dormant)
    assert asleep, "no customer was dormant: the comparison proved nothing"


def test_dormant__a_customer_woken_and_asleep_again_leaves_no_heap_behind() -> None:
    dormant = Dormant()
    never = datetime(9999, 12, 31, tzinfo=UTC)
    for _ in range(10_000):
        dormant.sleep("c1", never)
        assert dormant.wake("c1")
    dormant.sleep("c1", UNTIL)
    assert len(dormant._heap) <= 2 + 1024 * 2
    dormant.wake_due(UNTIL)
    assert "c1" not in dormant
