"""``python -m streams.contract [--check]``: write (or check) the AsyncAPI contract.

``schemas/asyncapi.json`` is ``schemas.asyncapi.build_document`` with message examples taken
from ``examples/sample_history.jsonl``: input examples are its lines that decode, output and
dead-letter examples are what replaying it emits (the same decision code as the worker), the
tick example is the first tick of its timeline. So every example is a real message, and a
change to the schemas, the policy or the sample shows up as a stale file in the tests. A
topic the sample never produces gets no example (tests/unit/test_asyncapi.py says which).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import orjson

from policy import default_policy
from schemas.asyncapi import CLOCK_TICKS, Example, build_document, render
from schemas.decode import decode_input
from schemas.errors import InvalidEvent
from streams.clock import tick_message
from streams.replay import Replayer, TickItem, parse_line, timeline

ROOT: Final = Path(__file__).resolve().parents[1]
SAMPLE: Final = ROOT / "examples" / "sample_history.jsonl"
DOCUMENT: Final = ROOT / "schemas" / "asyncapi.json"
MAX_EXAMPLES: Final = 3


def _covering(messages: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, list[Example]]:
    """Per topic, the first message and then each one that shows a field not shown yet."""
    chosen: dict[str, list[Example]] = defaultdict(list)
    shown: dict[str, set[str]] = defaultdict(set)
    for topic, payload in messages:
        fields = set(payload)
        if len(chosen[topic]) >= MAX_EXAMPLES or (chosen[topic] and fields <= shown[topic]):
            continue
        shown[topic] |= fields
        number = len(chosen[topic]) + 1
        chosen[topic].append(
            {
                "name": f"{topic.rsplit('.', 1)[-1]}-{number}",
                "summary": _summary(payload),
                "payload": payload,
            }
        )
    return dict(chosen)


def _summary(payload: Mapping[str, Any]) -> str:
    parts = [
        f"{k} {payload[k]}" for k in ("customer_id", "outcome", "reason", "to_tier") if k in payload
    ]
    if "error" in payload:
        parts.append(f"error {payload['error']['code']}")
    return ", ".join(parts) or "From examples/sample_history.jsonl."


def sample_examples(sample: Path = SAMPLE) -> dict[str, list[Example]]:
    """Examples of every topic the sample and its replay produce."""
    lines = sample.read_text("utf-8").splitlines()
    inputs: list[tuple[str, dict[str, Any]]] = []
    for number, line in enumerate(lines, start=1):
        topic, _key, raw = parse_line(number, line)
        try:
            decode_input(topic, raw)
        except InvalidEvent:
            continue
        inputs.append((topic, orjson.loads(raw)))

    replayer = Replayer(default_policy())
    outputs: list[tuple[str, dict[str, Any]]] = []
    first_tick: dict[str, Any] | None = None
    for item in timeline(lines, None, accept=replayer.accepts):
        if isinstance(item, TickItem) and first_tick is None:
            first_tick = orjson.loads(tick_message(item.at))
        for out in replayer.feed(item):
            value = out["value"]
            assert isinstance(value, dict)
            outputs.append((str(out["topic"]), value))
    ticks = [(CLOCK_TICKS, first_tick)] if first_tick is not None else []
    return _covering([*inputs, *outputs, *ticks])


def project_version() -> str:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def document_text() -> str:
    return render(build_document(project_version(), sample_examples()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.contract", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    parser.add_argument("--out", type=Path, default=DOCUMENT, help="the document to write")
    args = parser.parse_args(argv)
    text = document_text()
    if args.check:
        if not args.out.is_file() or args.out.read_text("utf-8") != text:
            print(f"stale: {args.out} (run python -m streams.contract)", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
