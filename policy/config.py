"""The policy: every number and list the decisions depend on, as one frozen record.

Built once from TOML (the shipped ``default.toml``, optionally overlaid by an operator's file)
and passed down; nothing in the core reads settings from anywhere else. Validation happens
here, so a bad file fails at start-up with the offending key named, never mid-stream.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

from policy.experiments import Experiment, parse_experiment
from schemas.decode import SHIPPED_ZONES
from schemas.errors import RepaymentStreamError
from schemas.events import CHANNELS, Channel
from schemas.outputs import TIERS

CapPeriod = Literal["local_day", "rolling"]
NON_COLLECTION_REASONS: Final = ("verify_contact", "hardship_review", "courtesy_followup")


class PolicyError(RepaymentStreamError):
    """The policy file is not valid: the message names the key.

    Raised at start-up (``load_policy``/``parse_policy``); the operator fixes the file.
    """


@dataclass(frozen=True, slots=True)
class TierRule:
    """One DPD bucket and the outreach it calls for (none for ``current``/``charge_off``)."""

    name: str
    dpd_min: int
    dpd_max: int | None
    channels: tuple[Channel, ...]
    priority: int | None
    cadence_days: int | None


@dataclass(frozen=True, slots=True)
class OutreachRule:
    """Channels (first allowed wins) and priority of a non-collection outreach."""

    channels: tuple[Channel, ...]
    priority: int


@dataclass(frozen=True, slots=True)
class Cap:
    """At most ``max`` attempts on ``channels`` per local day or per rolling ``days`` x 24 h."""

    channels: tuple[Channel, ...]
    max: int
    per: CapPeriod
    days: int


@dataclass(frozen=True, slots=True)
class ContactProfile:
    """A jurisdiction's contact rules: quiet hours (local minutes), caps, cooldown."""

    name: str
    quiet_hours: tuple[tuple[Channel, int, int], ...]  # (channel, start minute, end minute)
    caps: tuple[Cap, ...]
    right_party_cooldown_days: int
    right_party_cooldown_channels: tuple[Channel, ...]
    attempt_retention_days: int  # how far back attempts can still matter (a day of margin)


@dataclass(frozen=True, slots=True)
class Policy:
    """The whole default-or-configured policy; see ``default.toml`` for the meaning of each."""

    profile: str
    default_timezone: str
    default_currency: str
    expires_hours: int
    tiers: tuple[TierRule, ...]  # in the contract's order, buckets ascending
    broken_promises_threshold: int
    broken_promises_window_days: int
    repeat_delinquency_threshold: int
    repeat_delinquency_window_days: int
    promise_grace_days: int
    arrangement_max_months: int
    hardship_days: int
    hardship_blocked_channels: tuple[Channel, ...]
    unreachable_failed_attempts: int
    verify_contact: OutreachRule
    hardship_review: OutreachRule
    courtesy_followup: OutreachRule
    paid_installment_retention_days: int
    profiles: tuple[ContactProfile, ...]
    contact_profile: ContactProfile  # the one named ``profile``, resolved once
    experiment: Experiment | None = None  # arms' policies (``policy.experiments``)

    def tier(self, name: str) -> TierRule:
        """The rule of tier ``name`` (a contract tier name)."""
        return self.tiers[_TIER_RANK[name]]


_TIER_RANK: Final = {name: rank for rank, name in enumerate(TIERS)}


def default_policy() -> Policy:
    """The shipped policy (``policy/default.toml``), parsed once."""
    return _default_policy()


@cache
def _default_policy() -> Policy:
    return _build(_default_document())


def parse_policy(text: str) -> Policy:
    """Parse a policy TOML text, merged over the shipped defaults; raise ``PolicyError``."""
    try:
        overlay = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy is not valid TOML: {exc}") from exc
    experiment = overlay.pop("experiment", None)
    document = _merge(_default_document(), overlay, "")
    policy = _build(document)
    if experiment is None:
        return policy
    parsed = parse_experiment(
        experiment, lambda overrides: _build(_merge(document, overrides, "")), PolicyError
    )
    return replace(policy, experiment=parsed)


def load_policy(path: str | Path) -> Policy:
    """Read and parse a policy file (see ``parse_policy``)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {path}: {exc}") from exc
    return parse_policy(text)


def _default_document() -> dict[str, Any]:
    text = resources.files("policy").joinpath("default.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _merge(base: dict[str, Any], overlay: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Tables merge key by key; anything else in ``overlay`` replaces."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value, f"{prefix}{key}.")
        else:
            merged[key] = value
    return merged


class _Table:
    """Typed, key-checked reads from one TOML table; every error names the full key."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise PolicyError(f"{path or 'policy'}: expected a table")
        self.data: dict[str, Any] = data
        self.path = path
        self.read: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def get(self, name: str, default: Any = None, *, required: bool = True) -> Any:
        self.read.add(name)
        if name not in self.data:
            if required:
                raise PolicyError(f"{self.key(name)}: missing")
            return default
        return self.data[name]

    def integer(self, name: str, *, minimum: int = 0, required: bool = True) -> Any:
        """An integer (never a bool) of at least ``minimum``."""
        value = self.get(name, required=required)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise PolicyError(f"{self.key(name)}: expected an integer, got {value!r}")
        if value < minimum:
            raise PolicyError(f"{self.key(name)}: must be at least {minimum}, got {value}")
        return value

    def text(self, name: str) -> str:
        value = self.get(name)
        if not isinstance(value, str) or not value:
            raise PolicyError(f"{self.key(name)}: expected a non-empty string, got {value!r}")
        return value

    def channels(self, name: str, *, required: bool = True) -> tuple[Channel, ...]:
        value = self.get(name, [], required=required)
        return _channel_list(value, self.key(name))

    def table(self, name: str) -> _Table:
        return _Table(self.get(name), self.key(name))

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise PolicyError(f"{self.key(unknown[0])}: unknown key")


def _channel_list(value: Any, key: str) -> tuple[Channel, ...]:
    if not isinstance(value, list):
        raise PolicyError(f"{key}: expected a list of channels, got {value!r}")
    for item in value:
        if item not in CHANNELS:
            raise PolicyError(f"{key}: unknown channel {item!r} (known: {', '.join(CHANNELS)})")
    if len(set(value)) != len(value):
        raise PolicyError(f"{key}: a channel is listed twice")
    return tuple(value)


def _build(document: dict[str, Any]) -> Policy:
    root = _Table(document, "")
    profiles = _profiles(root.table("profiles"))
    profile = root.text("profile")
    chosen = [p for p in profiles if p.name == profile]
    if not chosen:
        raise PolicyError(f"profile: unknown profile {profile!r}")
    zone = root.text("default_timezone")
    if zone not in SHIPPED_ZONES:
        raise PolicyError(
            f"default_timezone: unknown zone {zone!r} (not in the shipped tz database)"
        )
    currency = root.text("default_currency")
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise PolicyError(f"default_currency: expected an ISO 4217 code, got {currency!r}")
    modifiers = root.table("modifiers")
    promises = root.table("promises")
    arrangements = root.table("arrangements")
    hardship = root.table("hardship")
    unreachable = root.table("unreachable")
    outreach = root.table("outreach")
    ledger = root.table("ledger")
    policy = Policy(
        profile=profile,
        default_timezone=zone,
        default_currency=currency,
        expires_hours=root.integer("expires_hours", minimum=1),
        tiers=_tiers(root.table("tiers")),
        broken_promises_threshold=modifiers.integer("broken_promises_threshold", minimum=1),
        broken_promises_window_days=modifiers.integer("broken_promises_window_days", minimum=1),
        repeat_delinquency_threshold=modifiers.integer("repeat_delinquency_threshold", minimum=1),
        repeat_delinquency_window_days=modifiers.integer(
            "repeat_delinquency_window_days", minimum=1
        ),
        promise_grace_days=promises.integer("grace_days"),
        arrangement_max_months=arrangements.integer("max_months", minimum=1),
        hardship_days=hardship.integer("days"),
        hardship_blocked_channels=hardship.channels("blocked_channels"),
        unreachable_failed_attempts=unreachable.integer("failed_attempts", minimum=1),
        verify_contact=_outreach_rule(outreach.table("verify_contact")),
        hardship_review=_outreach_rule(outreach.table("hardship_review")),
        courtesy_followup=_outreach_rule(outreach.table("courtesy_followup")),
        paid_installment_retention_days=ledger.integer(
            "paid_installment_retention_days", minimum=1
        ),
        profiles=profiles,
        contact_profile=chosen[0],
    )
    for table in (modifiers, promises, arrangements, hardship, unreachable, outreach, ledger):
        table.done()
    root.done()
    if policy.paid_installment_retention_days <= policy.repeat_delinquency_window_days:
        raise PolicyError(
            "ledger.paid_installment_retention_days: must exceed "
            "modifiers.repeat_delinquency_window_days (repeat delinquency reads the ledger)"
        )
    return policy


def _tiers(table: _Table) -> tuple[TierRule, ...]:
    for name in table.data:
        if name not in TIERS:
            raise PolicyError(f"{table.key(name)}: unknown tier (known: {', '.join(TIERS)})")
    rules: list[TierRule] = []
    for name in TIERS:
        tier = table.table(name)
        collects = name not in ("current", "charge_off")
        last = name == TIERS[-1]
        rule = TierRule(
            name=name,
            dpd_min=tier.integer("dpd_min"),
            dpd_max=None if last else tier.integer("dpd_max"),
            channels=tier.channels("channels") if collects else (),
            priority=_priority(tier, "priority") if collects else None,
            cadence_days=tier.integer("cadence_days", minimum=1) if collects else None,
        )
        tier.done()
        expected_min = 0 if not rules else (rules[-1].dpd_max or 0) + 1
        if rule.dpd_min != expected_min:
            raise PolicyError(
                f"{tier.key('dpd_min')}: buckets must be ascending and contiguous from 0; "
                f"expected {expected_min}, got {rule.dpd_min} (overlap or gap)"
            )
        if rule.dpd_max is not None and rule.dpd_max < rule.dpd_min:
            raise PolicyError(f"{tier.key('dpd_max')}: below dpd_min ({rule.dpd_min})")
        if collects and not rule.channels:
            raise PolicyError(f"{tier.key('channels')}: a collecting tier needs a channel")
        rules.append(rule)
    table.done()
    return tuple(rules)


def _priority(table: _Table, name: str) -> int:
    value: int = table.integer(name, minimum=1)
    if value > 5:
        raise PolicyError(f"{table.key(name)}: priority is 1 (most urgent) .. 5, got {value}")
    return value


def _outreach_rule(table: _Table) -> OutreachRule:
    rule = OutreachRule(channels=table.channels("channels"), priority=_priority(table, "priority"))
    if not rule.channels:
        raise PolicyError(f"{table.key('channels')}: needs at least one channel")
    table.done()
    return rule


def _profiles(table: _Table) -> tuple[ContactProfile, ...]:
    profiles = []
    for name in table.data:
        profile = table.table(name)
        caps = _caps(profile.get("caps"), profile.key("caps"))
        cooldown = profile.integer("right_party_cooldown_days")
        profiles.append(
            ContactProfile(
                name=name,
                quiet_hours=_quiet_hours(profile.table("quiet_hours")),
                caps=caps,
                right_party_cooldown_days=cooldown,
                right_party_cooldown_channels=profile.channels("right_party_cooldown_channels"),
                attempt_retention_days=max([c.days for c in caps] + [cooldown, 1]) + 1,
            )
        )
        profile.done()
    table.done()
    if not profiles:
        raise PolicyError("profiles: at least one profile is needed")
    return tuple(profiles)


def _quiet_hours(table: _Table) -> tuple[tuple[Channel, int, int], ...]:
    windows: list[tuple[Channel, int, int]] = []
    for channel, value in table.data.items():
        key = table.key(channel)
        (checked,) = _channel_list([channel], key)
        table.read.add(channel)
        if not (isinstance(value, list) and len(value) == 2):
            raise PolicyError(f'{key}: expected ["HH:MM", "HH:MM"], got {value!r}')
        start, end = (_minute_of_day(v, key) for v in value)
        if start == end:
            raise PolicyError(f"{key}: start and end are equal")
        windows.append((checked, start, end))
    table.done()
    return tuple(windows)


def _minute_of_day(value: Any, key: str) -> int:
    if isinstance(value, str) and len(value) == 5 and value[2] == ":":
        hours, minutes = value[:2], value[3:]
        if hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60:
            return int(hours) * 60 + int(minutes)
    raise PolicyError(f"{key}: expected a local time HH:MM, got {value!r}")


def _caps(value: Any, key: str) -> tuple[Cap, ...]:
    if not isinstance(value, list):
        raise PolicyError(f"{key}: expected a list of caps")
    caps = []
    for index, item in enumerate(value):
        cap = _Table(item, f"{key}[{index}]")
        per = cap.text("per")
        if per != "local_day" and per != "rolling":
            raise PolicyError(f"{cap.key('per')}: expected 'local_day' or 'rolling', got {per!r}")
        period: CapPeriod = "rolling" if per == "rolling" else "local_day"
        days = cap.integer("days", minimum=1) if per == "rolling" else 1
        caps.append(Cap(cap.channels("channels"), cap.integer("max", minimum=1), period, days))
        cap.done()
    return tuple(caps)


def add_months(day: date, months: int) -> date:
    """``day`` plus whole calendar months, clamped to the last day of a shorter month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")
