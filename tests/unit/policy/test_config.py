"""The shipped default policy and the validation of policy files."""

from __future__ import annotations

from pathlib import Path

import pytest

from policy import Policy, PolicyError, default_policy, load_policy, parse_policy


def test_default_policy__holds_the_contract_numbers(policy: Policy) -> None:
    assert [(t.name, t.dpd_min, t.dpd_max) for t in policy.tiers] == [
        ("current", 0, 0),
        ("early", 1, 30),
        ("mid", 31, 60),
        ("late", 61, 90),
        ("severe", 91, 180),
        ("charge_off", 181, None),
    ]
    assert [(t.channels, t.priority, t.cadence_days) for t in policy.tiers[1:5]] == [
        (("sms", "email", "voice_bot"), 4, 3),
        (("voice_bot", "sms", "agent_call", "email"), 3, 2),
        (("agent_call", "voice_bot", "sms", "email"), 2, 1),
        (("agent_call", "voice_bot", "sms", "email"), 1, 1),
    ]
    assert policy.tier("charge_off").channels == () and policy.tier("current").channels == ()
    assert (policy.promise_grace_days, policy.hardship_days) == (3, 14)
    assert policy.hardship_blocked_channels == ("sms", "voice_bot")
    assert policy.unreachable_failed_attempts == 3
    assert (policy.broken_promises_window_days, policy.broken_promises_threshold) == (90, 2)
    assert (policy.repeat_delinquency_window_days, policy.repeat_delinquency_threshold) == (365, 3)
    assert (policy.arrangement_max_months, policy.expires_hours) == (13, 24)
    assert (policy.default_timezone, policy.default_currency) == ("Asia/Shanghai", "CNY")
    assert (policy.verify_contact.channels, policy.verify_contact.priority) == (("agent_call",), 2)
    assert (policy.hardship_review.channels, policy.hardship_review.priority) == (
        ("agent_call",),
        2,
    )
    assert policy.courtesy_followup.channels == ("email", "sms")
    assert policy.courtesy_followup.priority == 5


def test_default_profiles__cn_and_us_regf(policy: Policy) -> None:
    cn = policy.contact_profile
    assert (policy.profile, cn.name) == ("cn", "cn")
    assert sorted(cn.quiet_hours) == [
        ("agent_call", 22 * 60, 8 * 60),
        ("sms", 22 * 60, 8 * 60),
        ("voice_bot", 22 * 60, 8 * 60),
    ]
    assert [(c.channels, c.max, c.per) for c in cn.caps] == [
        (("voice_bot",), 3, "local_day"),
        (("voice_bot", "agent_call"), 6, "local_day"),
    ]
    us = parse_policy('profile = "us_regf"').contact_profile
    assert {q[0] for q in us.quiet_hours} == {"sms", "email", "voice_bot", "agent_call"}
    assert all(q[1:] == (21 * 60, 8 * 60) for q in us.quiet_hours)
    assert [(c.channels, c.max, c.per, c.days) for c in us.caps] == [
        (("voice_bot", "agent_call"), 7, "rolling", 7)
    ]
    assert (us.right_party_cooldown_days, us.right_party_cooldown_channels) == (
        7,
        ("voice_bot", "agent_call"),
    )


def test_parse_policy__overlays_the_defaults_key_by_key() -> None:
    policy = parse_policy("[tiers.early]\ncadence_days = 5\n[promises]\ngrace_days = 1\n")
    assert policy.tier("early").cadence_days == 5
    assert policy.tier("early").channels == default_policy().tier("early").channels
    assert policy.promise_grace_days == 1
    assert parse_policy("") == default_policy()


def test_load_policy__reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text('default_currency = "USD"\n', encoding="utf-8")
    assert load_policy(path).default_currency == "USD"
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("profile = ", "not valid TOML"),
        ("colour = 1", "colour: unknown key"),
        ("[tiers.early]\nfoo = 1", "tiers.early.foo: unknown key"),
        ("[tiers.urgent]\ndpd_min = 1", "tiers.urgent: unknown tier"),
        ("[tiers.charge_off]\nchannels = ['sms']", "tiers.charge_off.channels: unknown key"),
        ("[tiers.mid]\ndpd_min = 30", "tiers.mid.dpd_min: .*overlap or gap"),
        ("[tiers.mid]\ndpd_min = 33", "tiers.mid.dpd_min: .*expected 31"),
        ("[tiers.early]\ndpd_max = 0", "tiers.early.dpd_max: below dpd_min"),
        ("[tiers.early]\nchannels = ['fax']", "tiers.early.channels: unknown channel 'fax'"),
        ("[tiers.early]\nchannels = []", "tiers.early.channels: a collecting tier"),
        ("[tiers.early]\npriority = 9", "tiers.early.priority: priority is 1"),
        ("[tiers.early]\ncadence_days = '3'", "tiers.early.cadence_days: expected an integer"),
        ("expires_hours = true", "expires_hours: expected an integer"),
        ('profile = "eu"', "profile: unknown profile 'eu'"),
        ('default_timezone = "Mars/Olympus"', "default_timezone: unknown zone"),
        ('default_currency = "yuan"', "default_currency: expected an ISO 4217"),
        ("[profiles.cn]\nquiet_hours = { fax = ['22:00', '08:00'] }", "quiet_hours.fax"),
        ("[profiles.cn]\nquiet_hours = { sms = ['25:00', '08:00'] }", "HH:MM"),
        (
            "[profiles.cn]\ncaps = [{ channels = ['sms'], max = 1, per = 'week' }]",
            r"profiles.cn.caps\[0\].per",
        ),
        ("[hardship]\ndays = -1", "hardship.days: must be at least 0"),
        ("[ledger]\npaid_installment_retention_days = 300", "must exceed"),
    ],
)
def test_parse_policy__errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(text)
