"""The AsyncAPI 3.0 document of every topic, built from the same code as the JSON Schemas.

Channels are the contract's topics as ``schemas.events.INPUT_TOPICS`` and
``schemas.outputs.OUTPUT_TOPICS`` declare them, each carrying the payload that
``schemas.export.build_schemas`` generates (a declared topic without a schema fails the
build), plus the internal clock-ticks topic. Addresses take the namespace as a parameter,
since ``REPAYMENT_TOPIC_NAMESPACE`` renames every topic. Operations are the processor's:
it receives the inputs, sends the outputs, and its leader sends the ticks it also receives.

Examples are handed in (``streams.contract`` takes them from ``examples/`` and the replay of
its sample), so this module needs nothing but the schemas. ``python -m streams.contract``
writes ``schemas/asyncapi.json``; ``--check`` fails when it differs from the code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from schemas.events import INPUT_TOPICS
from schemas.export import build_schemas
from schemas.outputs import DEAD_LETTER, OUTPUT_TOPICS

ASYNCAPI_VERSION: Final = "3.0.0"
KAFKA_BINDING_VERSION: Final = "0.5.0"
NAMESPACE: Final = "repayments"
CLOCK_TICKS: Final = f"{NAMESPACE}.clock-ticks"

Example = Mapping[str, Any]
"""``{"name", "summary", "payload"}``: one message as it travels, value only."""

CLOCK_TICK_SCHEMA: Final[dict[str, Any]] = {
    "title": CLOCK_TICKS,
    "description": (
        "The processor's own clock (internal: publish here only for back-fills with "
        "REPAYMENT_CLOCK=event). The leader sends one per partition at the start of each "
        "tick slot; a repeated tick is a duplicate. A tick that is not this shape is "
        "dead-lettered."
    ),
    "type": "object",
    "properties": {
        "at": {
            "type": "string",
            "format": "date-time",
            "description": "The slot's start, RFC 3339 with an offset.",
        }
    },
    "required": ["at"],
}

_CUSTOMER_KEY: Final = {
    "type": "string",
    "description": "The customer_id; the default (murmur2) partitioner places it.",
}
_KEYS: Final[dict[str, dict[str, Any]]] = {
    DEAD_LETTER: {
        "type": ["string", "null"],
        "description": "The input's key, as it came (null when it had none).",
    },
    CLOCK_TICKS: {"type": "null", "description": "None: ticks are sent to every partition."},
}


def suffix(topic: str) -> str:
    """``repayments.missed-payments`` -> ``missed-payments``: the channel's id."""
    prefix = NAMESPACE + "."
    if not topic.startswith(prefix):
        raise ValueError(f"topic {topic!r} is outside the contract's namespace {NAMESPACE!r}")
    return topic[len(prefix) :]


def camel(name: str) -> str:
    """``missed-payments`` -> ``missedPayments``: ids of messages and operations."""
    head, *rest = name.split("-")
    return head + "".join(part.capitalize() for part in rest)


def operation_id(action: str, topic: str) -> str:
    """``receive`` + ``repayments.missed-payments`` -> ``receiveMissedPayments``."""
    return action + "".join(part.capitalize() for part in suffix(topic).split("-"))


def _payload(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON Schema as an AsyncAPI schema: the dialect line goes (AsyncAPI's default
    format is a superset of draft-07, and every keyword used here is in draft-07)."""
    return {k: v for k, v in schema.items() if k != "$schema"}


def _channel(topic: str, role: str) -> dict[str, Any]:
    name = suffix(topic)
    return {
        "address": "{namespace}." + name,
        "title": topic,
        "description": f"{role} (`{topic}` with the default namespace).",
        "parameters": {"namespace": {"$ref": "#/components/parameters/namespace"}},
        "messages": {camel(name): {"$ref": f"#/components/messages/{camel(name)}"}},
    }


def _message(topic: str, schema: Mapping[str, Any], examples: Sequence[Example]) -> dict[str, Any]:
    name = camel(suffix(topic))
    message: dict[str, Any] = {
        "name": name,
        "title": topic,
        "summary": str(schema.get("description", topic)).split(". ")[0].rstrip(".") + ".",
        "contentType": "application/json",
        "payload": {"$ref": f"#/components/schemas/{name}"},
        "bindings": {
            "kafka": {
                "key": _KEYS.get(topic, _CUSTOMER_KEY),
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    if examples:
        message["examples"] = [dict(example) for example in examples]
    return message


def _operation(action: str, topic: str, summary: str) -> dict[str, Any]:
    name = camel(suffix(topic))
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{suffix(topic)}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{suffix(topic)}/messages/{name}"}],
    }


def build_document(version: str, examples: Mapping[str, Sequence[Example]]) -> dict[str, Any]:
    """The whole document; ``examples`` maps a contract topic to its message examples."""
    schemas = build_schemas()
    payloads = {topic: schemas[topic] for topic in (*INPUT_TOPICS, *OUTPUT_TOPICS)}
    payloads[CLOCK_TICKS] = CLOCK_TICK_SCHEMA
    unknown = set(examples) - set(payloads)
    if unknown:
        raise ValueError(f"examples for topics the contract does not declare: {sorted(unknown)}")

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for topic in INPUT_TOPICS:
        channels[suffix(topic)] = _channel(topic, "Input: published by the platform teams")
        operations[operation_id("receive", topic)] = _operation(
            "receive", topic, f"Decide every message of {topic}; bad ones are dead-lettered."
        )
    for topic in OUTPUT_TOPICS:
        role = "Dead letters" if topic == DEAD_LETTER else "Output: consumed downstream"
        channels[suffix(topic)] = _channel(topic, role)
        operations[operation_id("send", topic)] = _operation(
            "send", topic, f"Every {suffix(topic)} message the processor decides."
        )
    channels[suffix(CLOCK_TICKS)] = _channel(CLOCK_TICKS, "Internal: the processor's clock")
    operations[operation_id("send", CLOCK_TICKS)] = _operation(
        "send", CLOCK_TICKS, "The leader publishes one tick per partition per slot."
    )
    operations[operation_id("receive", CLOCK_TICKS)] = _operation(
        "receive", CLOCK_TICKS, "Time passes for the customers of the tick's partition."
    )

    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "repayment-stream",
            "version": version,
            "description": (
                "Topics of the repayment-stream processor: the JSON events platform teams "
                "publish, the risk escalations, outreach work and cancellations it decides, "
                "and the dead letters of inputs it cannot process. Every message is JSON, "
                "keyed by customer_id. Generated by `python -m streams.contract` from the "
                "same code as schemas/json/; docs/CONTRACT.md is the prose contract."
            ),
            "license": {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "localhost:9092",
                "protocol": "kafka",
                "description": "Any Kafka cluster: the processor reads KAFKA_BOOTSTRAP_SERVERS.",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "parameters": {
                "namespace": {
                    "default": NAMESPACE,
                    "description": "REPAYMENT_TOPIC_NAMESPACE: the prefix of every topic.",
                }
            },
            "messages": {
                camel(suffix(t)): _message(t, s, examples.get(t, ())) for t, s in payloads.items()
            },
            "schemas": {camel(suffix(t)): _payload(s) for t, s in payloads.items()},
        },
    }


def render(document: Mapping[str, Any]) -> str:
    """The checked-in text: stable, two-space indented, newline-terminated."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
