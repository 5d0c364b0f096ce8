"""Quiet hours, caps per local day and rolling window, right-party cooldown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from policy import Policy, parse_policy
from policy.config import ContactProfile
from policy.contact_rules import is_allowed, next_allowed_time, record_result
from policy.state import Attempt
from schemas.events import Channel

from .fixtures import DAY, HOUR, NOW, TODAY, Customer, make_contact, make_missed, outreach

SH = "Asia/Shanghai"
NY = "America/New_York"


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    """A Shanghai wall time in March 2026, as UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


def calls(channel: Channel, *times: datetime, right_party: bool = False) -> list[Attempt]:
    return [Attempt(t, channel, right_party) for t in times]


@pytest.fixture
def cn(policy: Policy) -> ContactProfile:
    return policy.contact_profile


@pytest.fixture
def us(us_policy: Policy) -> ContactProfile:
    return us_policy.contact_profile


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (sh(10, 21, 59), sh(10, 21, 59)),
        (sh(10, 22, 0), sh(11, 8, 0)),
        (sh(10, 23, 30), sh(11, 8, 0)),
        (sh(11, 0, 0), sh(11, 8, 0)),
        (sh(11, 7, 59), sh(11, 8, 0)),
        (sh(11, 8, 0), sh(11, 8, 0)),
    ],
)
def test_cn_quiet_hours__cross_midnight_for_calls_and_sms(
    at: datetime, expected: datetime, cn: ContactProfile
) -> None:
    for channel in ("sms", "voice_bot", "agent_call"):
        assert next_allowed_time(channel, at, SH, [], cn) == expected  # type: ignore[arg-type]


def test_cn_quiet_hours__do_not_apply_to_email(cn: ContactProfile) -> None:
    assert is_allowed("email", sh(10, 23), SH, [], cn)


def test_us_regf_quiet_hours__21_to_8_for_every_channel(us: ContactProfile) -> None:
    for channel in ("sms", "email", "voice_bot", "agent_call"):
        assert is_allowed(channel, sh(10, 20, 59), SH, [], us)  # type: ignore[arg-type]
        assert next_allowed_time(channel, sh(10, 21), SH, [], us) == sh(11, 8)  # type: ignore[arg-type]


def test_quiet_hours__end_at_local_8_on_a_dst_day(us: ContactProfile) -> None:
    # New York springs forward at 02:00 on 8 March 2026: 08:00 that day is 12:00 UTC, not 13:00.
    at = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert next_allowed_time("sms", at, NY, [], us) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


def test_cn_voice_bot__at_most_three_a_local_day(cn: ContactProfile) -> None:
    used = calls("voice_bot", sh(10, 0, 30), sh(10, 9), sh(10, 10))
    assert next_allowed_time("voice_bot", sh(10, 12), SH, used, cn) == sh(11, 8)
    assert is_allowed("agent_call", sh(10, 12), SH, used, cn)
    assert is_allowed("voice_bot", sh(10, 12), SH, used[1:], cn)


def test_cn_local_day__attempts_of_the_previous_local_day_do_not_count(cn: ContactProfile) -> None:
    used = calls("voice_bot", sh(9, 21), sh(9, 21, 30), sh(9, 23, 59))
    assert is_allowed("voice_bot", sh(10, 9), SH, used, cn)


def test_cn_calls__at_most_six_a_local_day(cn: ContactProfile) -> None:
    used = calls("voice_bot", sh(10, 9), sh(10, 10)) + calls(
        "agent_call", sh(10, 11), sh(10, 12), sh(10, 13), sh(10, 14)
    )
    assert next_allowed_time("agent_call", sh(10, 15), SH, used, cn) == sh(11, 8)
    assert next_allowed_time("voice_bot", sh(10, 15), SH, used, cn) == sh(11, 8)
    assert is_allowed("sms", sh(10, 15), SH, used, cn)


def test_us_regf_calls__at_most_seven_in_any_seven_days(us: ContactProfile) -> None:
    first = sh(3, 10)
    used = calls("voice_bot", *(first + n * HOUR for n in range(4))) + calls(
        "agent_call", *(sh(6, 10) + n * HOUR for n in range(3))
    )
    assert next_allowed_time("agent_call", sh(9, 10), SH, used, us) == first + 7 * DAY
    assert is_allowed("sms", sh(9, 10), SH, used, us)
    assert is_allowed("voice_bot", first + 7 * DAY + HOUR, SH, used, us)


def test_us_regf_calls__pending_future_attempts_count_toward_the_window(
    us: ContactProfile,
) -> None:
    past = calls("voice_bot", *(sh(5, 10) + n * HOUR for n in range(5)))
    future = [Attempt(sh(11, 10) + n * HOUR, "agent_call", False, f"o{n}") for n in range(2)]
    allowed = next_allowed_time("voice_bot", sh(10, 12), SH, past + future, us)
    assert allowed is not None and allowed >= sh(12, 10)


def test_us_regf__no_call_within_seven_days_after_right_party_contact(us: ContactProfile) -> None:
    contact = calls("email", sh(8, 9, 15), right_party=True)
    assert next_allowed_time("voice_bot", sh(10, 12), SH, contact, us) == sh(15, 9, 15)
    assert is_allowed("sms", sh(10, 12), SH, contact, us)
    assert is_allowed("agent_call", sh(15, 9, 15), SH, contact, us)


def test_cn__has_no_right_party_cooldown(cn: ContactProfile) -> None:
    assert is_allowed("voice_bot", sh(10, 12), SH, calls("sms", sh(10, 11), right_party=True), cn)


def test_pending_outreach__counts_as_an_attempt_until_answered(cn: ContactProfile) -> None:
    pending = [Attempt(sh(10, 9 + n), "voice_bot", False, f"out-{n}") for n in range(3)]
    assert not is_allowed("voice_bot", sh(10, 15), SH, pending, cn)
    answered = record_result(tuple(pending), None, sh(10, 9, 5), "out-0", False)
    assert len(answered) == 2
    assert is_allowed("voice_bot", sh(10, 15), SH, answered, cn)


def test_result__answering_its_outreach_replaces_the_pending_attempt() -> None:
    pending = (Attempt(sh(10, 9), "voice_bot", False, "out-1"),)
    after = record_result(pending, "voice_bot", sh(10, 9, 2), "out-1", True)
    assert after == (Attempt(sh(10, 9, 2), "voice_bot", True, None),)


def test_core__quiet_hours_defer_not_before_to_8_local_and_expires_24h_later(
    policy: Policy, us_policy: Policy
) -> None:
    for p, at in ((policy, sh(10, 22, 30)), (us_policy, sh(10, 21, 30))):
        c = Customer(p, now=at - HOUR)
        c.apply(make_contact("opt_out", "email", at=at - HOUR))
        [o] = outreach(c.apply(make_missed(due_date=TODAY - 40 * DAY, at=at)))
        # mid: voice_bot, sms, agent_call all quiet until 08:00: list order breaks the tie.
        assert (o.channel, o.not_before, o.expires_at) == ("voice_bot", sh(11, 8), sh(12, 8))
        assert o.decided_at == at


def test_core__quiet_hours_delay_the_first_channel_rather_than_switch_to_email(
    policy: Policy,
) -> None:
    night = sh(10, 23)
    c = Customer(policy, now=night)
    [o] = outreach(c.apply(make_missed(due_date=TODAY - 70 * DAY, at=night)))
    # late: agent_call first; email is exempt from cn's quiet hours but is not preferred.
    assert (o.channel, o.not_before, o.decided_at) == ("agent_call", sh(11, 8), night)


def test_core__a_cap_moves_outreach_to_the_next_channel_now(policy: Policy) -> None:
    noon = sh(10, 12)
    c = Customer(policy, now=noon)
    for minute in (0, 10, 20, 30, 40, 50):
        c.apply(make_contact("no_answer", "agent_call", at=sh(10, 9, minute)))
    [o] = outreach(c.apply(make_missed(due_date=TODAY - 70 * DAY, at=noon)))
    # late: agent_call, voice_bot, sms, email; six calls today exhaust both call channels.
    assert (o.channel, o.not_before) == ("sms", noon)


def test_core__emitted_outreach_counts_toward_caps() -> None:
    c = Customer(parse_policy("[modifiers]\nrepeat_delinquency_threshold = 9"))
    [first] = outreach(c.apply(make_missed("i1", TODAY - 40 * DAY)))
    assert (first.channel, first.not_before) == ("voice_bot", NOW)
    assert c.current.pending_outreach[0].outreach_id == first.outreach_id
    c.apply(make_contact("no_answer", "voice_bot", at=NOW, outreach_id=first.outreach_id))
    assert c.current.pending_outreach == ()
    for n in (2, 3):
        [o] = outreach(c.apply(make_missed(f"i{n}", TODAY, at=NOW + n * HOUR)))
        assert o.channel == "voice_bot"
    [fourth] = outreach(c.apply(make_missed("i4", TODAY, at=NOW + 4 * HOUR)))
    assert fourth.channel == "sms"


def test_cn_caps__count_the_customers_local_day_on_a_dst_day(cn: ContactProfile) -> None:
    # 8 March 2026 in New York has 23 hours: it starts at 05:00 UTC and ends at 04:00 UTC.
    day_start = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    used = calls("voice_bot", day_start, day_start + HOUR, day_start + 2 * HOUR)
    before = calls("voice_bot", day_start - timedelta(minutes=1))
    assert next_allowed_time("voice_bot", day_start + 3 * HOUR, NY, used, cn) == datetime(
        2026, 3, 9, 12, 0, tzinfo=UTC
    )
    assert is_allowed("voice_bot", day_start + 13 * HOUR, NY, used[1:] + before, cn)
