"""Policy experiments: arms by a pure function of experiment and customer, decisions tagged."""

from __future__ import annotations

from collections import Counter
from hashlib import sha256

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policy import PolicyError, apply, parse_policy, tick
from policy.experiments import BUCKETS, bucket
from schemas.encode import decision_to_dict
from schemas.outputs import OutreachNeeded

from .fixtures import DAY, NOW, TODAY, make_missed
from .strategies import History, histories, run
from .test_properties import PROPERTY_SETTINGS

CHALLENGE = """
[experiment]
name = "early-voice-bot"

[[experiment.arms]]
name = "champion"
weight = 80

[[experiment.arms]]
name = "challenger"
weight = 20
[experiment.arms.overrides.tiers.early]
channels = ["voice_bot", "sms", "email"]
cadence_days = 2
"""


def test_bucket__is_the_documented_function_any_system_can_compute() -> None:
    digest = sha256(b"early-voice-bot\x1fcust-42").digest()
    assert bucket("early-voice-bot", "cust-42") == int.from_bytes(digest[:8], "big") % BUCKETS


def test_arms__split_customers_by_weight_and_carry_their_overrides() -> None:
    policy = parse_policy(CHALLENGE)
    assert policy.experiment is not None
    champion, challenger = policy.experiment.arms
    assert (champion.start, champion.end, challenger.start, challenger.end) == (
        0,
        8000,
        8000,
        10000,
    )
    assert challenger.policy.tier("early").channels == ("voice_bot", "sms", "email")
    assert champion.policy.tier("early").channels == ("sms", "email", "voice_bot")
    share = Counter(policy.experiment.arm_of(f"c-{n}").name for n in range(20_000))
    assert 0.18 < share["challenger"] / 20_000 < 0.22


def test_changing_weights__moves_only_customers_whose_bucket_crossed_the_boundary() -> None:
    before = parse_policy(CHALLENGE).experiment
    shifted = CHALLENGE.replace("weight = 80", "weight = 70").replace("weight = 20", "weight = 30")
    after = parse_policy(shifted).experiment
    assert before is not None and after is not None
    for n in range(5_000):
        customer = f"c-{n}"
        moved = before.arm_of(customer).name != after.arm_of(customer).name
        assert moved == (7000 <= bucket("early-voice-bot", customer) < 8000), customer


def test_decisions__carry_the_arm_and_re_emissions_too() -> None:
    policy = parse_policy(CHALLENGE)
    assert policy.experiment is not None
    customer = next(f"c-{n}" for n in range(100) if bucket("early-voice-bot", f"c-{n}") >= 8000)
    event = make_missed(due_date=TODAY - 3 * DAY, customer_id=customer, event_id="m-1")
    step = apply(None, event, NOW, policy, "missed-payments:0:1")
    assert step.decisions and {d.policy_arm for d in step.decisions} == {"challenger"}
    first = [d for d in step.decisions if isinstance(d, OutreachNeeded)][0]
    assert first.channel == "voice_bot"  # the challenger's early channels
    assert decision_to_dict(first)["policy_arm"] == "challenger"
    again = apply(step.state, event, NOW, policy, "missed-payments:0:1")
    assert again.decisions == step.decisions
    later = tick(step.state, NOW + 3 * DAY, policy)
    assert {d.policy_arm for d in later.decisions} <= {"challenger"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[experiment]\nname = 'x'\n[[experiment.arms]]\nname = 'a'\nweight = 1\n", "two or more"),
        (CHALLENGE.replace("weight = 20", "weight = 0"), "arms[1].weight"),
        (CHALLENGE.replace('name = "challenger"', 'name = "champion"'), "names another arm"),
        (CHALLENGE.replace("cadence_days = 2", "cadence_dayz = 2"), "arms[1].overrides: tiers"),
        (CHALLENGE.replace("cadence_days = 2", "priority = 9"), "arms[1].overrides"),
        (CHALLENGE + "[experiment.arms.overrides]\nprofile = 'us_regf'\n", "may not change"),
        (CHALLENGE.replace('name = "early-voice-bot"', 'nme = "x"'), "experiment.nme"),
    ],
)
def test_policy_check__refuses_bad_experiments_naming_the_key(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_policy(text)


@PROPERTY_SETTINGS
@given(histories(), st.integers(1, 99))
def test_customers_arm__never_changes_over_a_history(history: History, weight: int) -> None:
    policy = parse_policy(CHALLENGE.replace("weight = 80", f"weight = {weight}"))
    assert policy.experiment is not None
    arm = policy.experiment.arm_of(history.customer_id).name
    experimented = History(history.customer_id, history.profile, policy, history.items)
    for a in run(experimented):
        if a.step is not None:
            assert {d.policy_arm for d in a.step.decisions} <= {arm}
