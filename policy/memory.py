"""The memory of the last decisions, kept encoded so that a state costs nothing to carry.

A duplicate input re-emits the decisions still remembered for it, so the last 16 decisions
travel with the state. They are kept as compact JSON bytes (grouped by step, without ids:
ids are deterministic and recomputed) and only expanded into records when someone reads
them: a duplicate, or the web view. Decoding and encoding a state thus never rebuild them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final

import orjson

from policy import ids
from policy.compact import (
    CHANNEL_INDEX,
    OUTREACH_INDEX,
    TIER_INDEX,
    dumps,
    from_instant,
    instant,
    mask,
    unmask,
)
from schemas.events import CHANNELS
from schemas.outputs import (
    CANCEL_REASONS,
    ESCALATION_REASONS,
    OUTREACH_REASONS,
    TIERS,
    Decision,
    OutreachCancelled,
    OutreachNeeded,
    RiskEscalation,
)

CANCEL_INDEX: Final = {r: i for i, r in enumerate(CANCEL_REASONS)}

NOTHING: Final = b"[]"
_HEADER: Final = 7  # caused_by, decided_at, dpd, overdue_amount, currency, source, arm


def remember(
    memory: bytes, decisions: Sequence[Decision], limit: int, source: str | None = None
) -> bytes:
    """``memory`` plus ``decisions`` (one step's, carried by message ``source``), keeping
    the last ``limit`` decisions."""
    groups: list[list[Any]] = orjson.loads(memory)
    for d in decisions:
        if not groups or groups[-1][0] != d.caused_by:
            # A cancellation carries no money: the header comes from the step's others.
            full = next(
                (x for x in decisions if x.caused_by == d.caused_by and _has_money(x)), None
            )
            dpd, overdue, currency = (
                (0, "0", "") if full is None else _money(full)  # type: ignore[arg-type]
            )
            decided = instant(d.decided_at)
            groups.append([d.caused_by, decided, dpd, overdue, currency, source, d.policy_arm])
        groups[-1].append(_item(d))
    excess = sum(map(len, groups)) - _HEADER * len(groups) - limit
    while excess > 0:
        oldest = groups[0]
        drop = min(excess, len(oldest) - _HEADER)
        del oldest[_HEADER : _HEADER + drop]
        if len(oldest) == _HEADER:
            groups.pop(0)
        excess -= drop
    return dumps(groups)


def _has_money(d: Decision) -> bool:
    return not isinstance(d, OutreachCancelled)


def _money(d: RiskEscalation | OutreachNeeded) -> tuple[int, str, str]:
    return d.days_past_due, str(d.overdue_amount), d.currency


def _item(d: Decision) -> list[Any]:
    if isinstance(d, OutreachCancelled):
        return [CHANNEL_INDEX[d.channel], CANCEL_INDEX[d.reason], d.outreach_id, 0]
    if isinstance(d, RiskEscalation):
        return [TIER_INDEX[d.from_tier], TIER_INDEX[d.to_tier], mask(d.reasons, ESCALATION_REASONS)]
    return [
        CHANNEL_INDEX[d.channel],
        TIER_INDEX[d.tier],
        d.priority,
        OUTREACH_INDEX[d.reason],
        None if d.not_before == d.decided_at else instant(d.not_before),
        int((d.expires_at - d.not_before).total_seconds()),
    ]


def recall(
    memory: bytes, customer_id: str, caused_by: str | None = None, source: str | None = None
) -> tuple[Decision, ...]:
    """The remembered decisions, oldest first: all, or only those ``caused_by`` that id
    and carried by message ``source`` (a group stored without a source matches any)."""
    decisions: list[Decision] = []
    for group in orjson.loads(memory):
        if caused_by is None or (
            group[0] == caused_by and (group[5] is None or group[5] == source)
        ):
            decisions.extend(_expand(customer_id, group))
    return tuple(decisions)


def upgrade_v1(groups: list[Any]) -> list[Any]:
    """Version-1 groups had no source (re-sent on any redelivery) and no experiment arm."""
    return [[*g[:5], None, None, *g[5:]] for g in groups]


def _expand(customer_id: str, group: list[Any]) -> list[Decision]:
    caused_by, decided, dpd, overdue_text, currency, _source, arm, *items = group
    decided_at = from_instant(decided)
    assert decided_at is not None
    overdue = Decimal(overdue_text)
    out: list[Decision] = []
    for item in items:
        if len(item) == 4:
            reason = CANCEL_REASONS[item[1]]
            channel = CHANNELS[item[0]]
            out.append(
                OutreachCancelled(item[2], customer_id, channel, reason, caused_by, decided_at, arm)
            )
            continue
        if len(item) == 3:
            from_tier, to_tier = TIERS[item[0]], TIERS[item[1]]
            reasons = unmask(item[2], ESCALATION_REASONS)
            out.append(
                RiskEscalation(
                    ids.escalation_id(customer_id, caused_by, to_tier, reasons),
                    customer_id,
                    from_tier,
                    to_tier,
                    "up" if item[1] > item[0] else "down",
                    reasons,
                    dpd,
                    overdue,
                    currency,
                    caused_by,
                    decided_at,
                    arm,
                )
            )
            continue
        reason = OUTREACH_REASONS[item[3]]
        not_before = decided_at if item[4] is None else from_instant(item[4])
        assert not_before is not None
        out.append(
            OutreachNeeded(
                ids.outreach_id(customer_id, caused_by, reason),
                customer_id,
                CHANNELS[item[0]],
                TIERS[item[1]],
                item[2],
                reason,
                not_before,
                not_before + timedelta(seconds=item[5]),
                dpd,
                overdue,
                currency,
                caused_by,
                decided_at,
                arm,
            )
        )
    return out
