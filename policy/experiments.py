"""Policy experiments (champion/challenger): a share of customers gets another policy.

A policy file may hold one ``[experiment]``: a ``name`` and two or more ``[[experiment.arms]]``,
each with a ``name``, an integer ``weight`` and an ``overrides`` table merged over the policy
(as the policy file is merged over the defaults). A customer's arm is a pure function of the
experiment name and ``customer_id``, so any other system can compute it:

    bucket = int.from_bytes(sha256(f"{name}\\x1f{customer_id}".encode()).digest()[:8], "big")
    bucket %= 10_000
    # arms in file order own consecutive ranges of buckets, in proportion to their weights:
    # arm i owns [round(10_000 * W(i-1) / W), round(10_000 * W(i) / W)) with W(i) the sum of
    # the weights of arms 0..i and W the sum of all

So a customer never changes arm while the experiment runs, and changing weights moves only
the customers whose bucket crossed a boundary. Overrides may not change ``profile`` (the
contact rules of a jurisdiction are the law, not an experiment) nor hold an experiment.
"""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256
from typing import TYPE_CHECKING, Any, Final

from schemas.errors import RepaymentStreamError

if TYPE_CHECKING:
    from policy.config import Policy

BUCKETS: Final = 10_000
_ARM_KEYS: Final = frozenset({"name", "weight", "overrides"})
_EXPERIMENT_KEYS: Final = frozenset({"name", "arms"})
_FORBIDDEN_OVERRIDES: Final = ("profile", "experiment")


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm: its policy, and the buckets ``[start, end)`` it owns."""

    name: str
    weight: int
    policy: Policy
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Experiment:
    name: str
    arms: tuple[Arm, ...]

    def arm_of(self, customer_id: str) -> Arm:
        """The customer's arm (see the module docstring)."""
        b = bucket(self.name, customer_id)
        for arm in self.arms:
            if arm.start <= b < arm.end:
                return arm
        raise AssertionError("unreachable: the arms cover every bucket")


def bucket(experiment: str, customer_id: str) -> int:
    """The customer's bucket in ``0 .. BUCKETS - 1`` for ``experiment``."""
    digest = sha256(f"{experiment}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def parse_experiment(table: Any, build: Any, error: type[RepaymentStreamError]) -> Experiment:
    """Validate ``[experiment]`` and build each arm's policy with ``build(overrides)``.

    ``build`` merges an arm's overrides over the policy and builds it (raising ``error``);
    its message is prefixed with the arm, so an override that does not merge names itself.
    """
    if not isinstance(table, dict):
        raise error("experiment: expected a table")
    unknown = sorted(set(table) - _EXPERIMENT_KEYS)
    if unknown:
        raise error(f"experiment.{unknown[0]}: unknown key")
    name = table.get("name")
    if not isinstance(name, str) or not name:
        raise error(f"experiment.name: expected a non-empty string, got {name!r}")
    arms = table.get("arms")
    if not isinstance(arms, list) or len(arms) < 2:
        raise error("experiment.arms: expected two or more [[experiment.arms]] tables")
    parsed: list[tuple[str, int, Policy]] = []
    for index, raw in enumerate(arms):
        where = f"experiment.arms[{index}]"
        if not isinstance(raw, dict):
            raise error(f"{where}: expected a table")
        unknown = sorted(set(raw) - _ARM_KEYS)
        if unknown:
            raise error(f"{where}.{unknown[0]}: unknown key")
        arm_name = raw.get("name")
        if not isinstance(arm_name, str) or not arm_name:
            raise error(f"{where}.name: expected a non-empty string, got {arm_name!r}")
        if arm_name in {p[0] for p in parsed}:
            raise error(f"{where}.name: {arm_name!r} names another arm too")
        weight = raw.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 1:
            raise error(f"{where}.weight: expected an integer of at least 1, got {weight!r}")
        overrides = raw.get("overrides", {})
        if not isinstance(overrides, dict):
            raise error(f"{where}.overrides: expected a table")
        for key in _FORBIDDEN_OVERRIDES:
            if key in overrides:
                raise error(f"{where}.overrides.{key}: an arm may not change {key}")
        try:
            arm_policy = build(overrides)
        except error as exc:
            raise error(f"{where}.overrides: {exc}") from exc
        parsed.append((arm_name, weight, arm_policy))
    total = sum(w for _, w, _ in parsed)
    built: list[Arm] = []
    running = 0
    for arm_name, weight, arm_policy in parsed:
        start = round(BUCKETS * running / total)
        running += weight
        built.append(Arm(arm_name, weight, arm_policy, start, round(BUCKETS * running / total)))
    return Experiment(name, tuple(built))
