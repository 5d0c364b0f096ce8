"""The pure decision core: ``(state, event, now, policy) -> Step(state, decisions, duplicate)``.

API (everything here is pure; ``now`` is an aware datetime, naive raises ``ValueError``)::

    from policy import Policy, CustomerState, Step, apply, tick, quiet_until
    from policy import load_policy, parse_policy, default_policy, PolicyError
    from policy import days_past_due, overdue_amount, credit, total_paid, ...  # accessors
    from policy.state import encode_state, decode_state, STATE_VERSION, StateError
    from policy.records import Installment, Attempt, OpenPromise, ActiveArrangement  # records

    step = apply(state_or_None, event, now, policy)  # Step(state, decisions, duplicate)
    step = tick(state, now, policy)                   # caused_by "tick:<now UTC, seconds>Z"
    blob = encode_state(step.state); decode_state(blob) == step.state

``apply`` raises ``schemas.errors.InvalidEvent`` for ``currency_mismatch`` (field
``currency``) and for ``arrangement.until`` out of range (``invalid_field``); the caller
keeps the old state. A duplicate (remembered ``event_id``, or a tick at or before the last
tick) returns the same state object, ``duplicate=True``, and the decisions still remembered
for that id (same ids, same content).

Read accessors (cheap; for the web view and property tests), as functions exported here
(``policy.accessors``: ``tier``, ``credit``, ``total_paid``, ``total_due``,
``paid_to_installments``, ``paid_not_overdue``, ``opted_out``, ``ceased``, ``disputed``,
``unreachable``, ``hardship_active(state, now)``, ``pending_outreach``,
``days_past_due(state, now)``, ``overdue_amount(state)``) and as attributes/properties of
``CustomerState``:

- ``customer_id``, ``timezone`` (IANA name in use), ``currency`` (``None`` before money)
- ``tier`` (contract tier name), ``days_past_due(state, now)``, ``overdue_amount(state)``
  (also the property ``state.overdue_amount``)
- money: ``credit``, ``total_paid``, ``total_due``, ``paid_to_installments``,
  ``paid_not_overdue``, ``held``; conservation: ``total_paid == paid_to_installments +
  credit + paid_not_overdue + held`` and ``total_due == paid_to_installments + overdue_amount``
- ``ledger.installments``: ``Installment(installment_id, due_date, amount_due, paid)``,
  oldest due first (fully paid ones leave after 400 days)
- commitments: ``opted_out`` (tuple of channels), ``ceased``, ``disputed``, ``unreachable``
  (open episode), ``promise`` (``OpenPromise`` or ``None``), ``arrangement``
  (``ActiveArrangement`` or ``None``), ``hardship_until``, ``broken_promises`` (local dates)
- ``attempts`` (``Attempt(at, channel, right_party, outreach_id)``; ``outreach_id`` set while
  pending), ``pending_outreach``, ``last_collection_at``, ``last_tick``, ``recent`` (the last
  16 decisions, expanded from the encoded ``memory`` on each read: not for hot paths),
  ``has_seen(event_id)``

Modules: ``config`` (Policy, TOML), ``records`` (state records), ``state`` (encoding),
``memory`` (remembered decisions), ``ledger``, ``tiers``, ``contact_rules``, ``outreach``,
``commitments``, ``ids``, ``localtime``, ``core`` (``apply``, ``tick``).
"""

from policy.accessors import (
    ceased,
    credit,
    days_past_due,
    disputed,
    hardship_active,
    held,
    opted_out,
    overdue_amount,
    paid_not_overdue,
    paid_to_installments,
    pending_outreach,
    tier,
    total_due,
    total_paid,
    unreachable,
)
from policy.config import Policy, PolicyError, default_policy, load_policy, parse_policy
from policy.core import Step, apply, erase, tick
from policy.state import CustomerState
from policy.wake import quiet_until

__all__ = [
    "CustomerState",
    "Policy",
    "PolicyError",
    "Step",
    "apply",
    "ceased",
    "credit",
    "days_past_due",
    "default_policy",
    "disputed",
    "erase",
    "hardship_active",
    "held",
    "load_policy",
    "opted_out",
    "overdue_amount",
    "paid_not_overdue",
    "paid_to_installments",
    "parse_policy",
    "pending_outreach",
    "quiet_until",
    "tick",
    "tier",
    "total_due",
    "total_paid",
    "unreachable",
]
