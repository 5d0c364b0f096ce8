"""The pure decision core: ``(state, event, now, policy) -> Step(state, decisions, duplicate)``.

API (everything here is pure; ``now`` is an aware datetime, naive raises ``ValueError``)::

    from policy import Policy, CustomerState, Step, apply, tick
    from policy import load_policy, parse_policy, default_policy, PolicyError
    from policy import days_past_due, overdue_amount
    from policy.state import encode_state, decode_state, STATE_VERSION, StateError

    step = apply(state_or_None, event, now, policy)  # Step(state, decisions, duplicate)
    step = tick(state, now, policy)                   # caused_by "tick:<now UTC, seconds>Z"
    blob = encode_state(step.state); decode_state(blob) == step.state

``apply`` raises ``schemas.errors.InvalidEvent`` for ``currency_mismatch`` (field
``currency``) and for ``arrangement.until`` out of range (``invalid_field``); the caller
keeps the old state. A duplicate (remembered ``event_id``, or a tick at or before the last
tick) returns the same state object, ``duplicate=True``, and the decisions still remembered
for that id (same ids, same content).

Read accessors on ``CustomerState`` (cheap; for the web view and property tests):

- ``customer_id``, ``timezone`` (IANA name in use), ``currency`` (``None`` before money)
- ``tier`` (contract tier name), ``days_past_due(state, now)``, ``overdue_amount(state)``
  (also the property ``state.overdue_amount``)
- money: ``credit``, ``total_paid``, ``total_due``, ``paid_to_installments``,
  ``paid_not_overdue``; conservation: ``total_paid == paid_to_installments + credit +
  paid_not_overdue`` and ``total_due == paid_to_installments + overdue_amount``
- ``ledger.installments``: ``Installment(installment_id, due_date, amount_due, paid)``,
  oldest due first (fully paid ones leave after 400 days)
- commitments: ``opted_out`` (tuple of channels), ``ceased``, ``disputed``, ``unreachable``
  (open episode), ``promise`` (``OpenPromise`` or ``None``), ``arrangement``
  (``ActiveArrangement`` or ``None``), ``hardship_until``, ``broken_promises`` (local dates)
- ``attempts`` (``Attempt(at, channel, right_party, outreach_id)``; ``outreach_id`` set while
  pending), ``pending_outreach``, ``last_collection_at``, ``last_tick``, ``recent`` (last 16
  decisions), ``has_seen(event_id)``
"""

from policy.config import Policy, PolicyError, default_policy, load_policy, parse_policy
from policy.core import Step, apply, tick
from policy.ledger import days_past_due, overdue_amount
from policy.state import CustomerState

__all__ = [
    "CustomerState",
    "Policy",
    "PolicyError",
    "Step",
    "apply",
    "days_past_due",
    "default_policy",
    "load_policy",
    "overdue_amount",
    "parse_policy",
    "tick",
]
