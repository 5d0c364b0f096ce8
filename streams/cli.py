"""`repayment-stream`: one console script, one subcommand per job.

Heavy imports (faust, aiokafka) happen inside the subcommand that needs them, so `replay`
and `policy check` start fast and work without a broker.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from schemas.errors import RepaymentStreamError
from streams import gctune

EXIT_USAGE = 2


def _load_policy(path: str | None):  # noqa: ANN202 - Policy is imported lazily
    from policy import default_policy, load_policy

    return default_policy() if path is None else load_policy(Path(path))


def cmd_replay(args: argparse.Namespace) -> int:
    """Run the decision core over a JSONL log and print the emitted messages."""
    from datetime import UTC, datetime, timedelta

    from schemas.encode import format_instant
    from streams.replay import Replayer, parse_timestamp

    until = parse_timestamp(args.until) if args.until else None
    not_after = datetime.now(UTC) + timedelta(hours=args.max_future_hours)
    replayer = Replayer(_load_policy(args.policy))
    source = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")  # noqa: SIM115
    out = sys.stdout.buffer
    with source:
        for line in replayer.replay(source, until, max_bytes=args.max_bytes, not_after=not_after):
            out.write(orjson.dumps(line) + b"\n")
    out.flush()
    s = replayer.stats
    clock = format_instant(s.clock) if s.clock else "-"
    print(
        f"replay: {s.lines} events read, {s.processed} processed, {s.duplicates} duplicates, "
        f"{s.dead_lettered} dead-lettered, {s.rekeyed} re-keyed, {s.ticks} clock ticks, "
        f"{s.escalations} escalations, {s.outreach} outreach, {s.cancelled} cancelled, "
        f"{s.erased} erased, "
        f"{len(replayer.states)} customers, "
        f"clock {clock}",
        file=sys.stderr,
    )
    return 0


def cmd_policy_check(args: argparse.Namespace) -> int:
    """Validate a policy file (or the built-in default) and print it back as JSON."""
    from dataclasses import asdict

    policy = _load_policy(args.file)
    print(orjson.dumps(asdict(policy), option=orjson.OPT_INDENT_2, default=str).decode())
    print(f"policy ok: {args.file or 'built-in default'}", file=sys.stderr)
    return 0


def cmd_whatif(args: argparse.Namespace) -> int:
    """Replay one history under each policy and compare what they decided."""
    from streams.whatif_report import main as whatif_main

    return whatif_main(args)


def cmd_worker(argv: Sequence[str]) -> int:
    from streams.worker import main as worker_main

    return worker_main(list(argv))


def cmd_bench(argv: Sequence[str]) -> int:
    from bench.__main__ import main as bench_main

    return int(bench_main(list(argv)) or 0)


def cmd_publish(args: argparse.Namespace) -> int:
    from streams.publish import main as publish_main

    return publish_main(args)


def cmd_tail(args: argparse.Namespace) -> int:
    from streams.publish import tail_main

    return tail_main(args)


def cmd_compare(args: argparse.Namespace) -> int:
    from streams.publish import compare_main

    return compare_main(args)


def cmd_erase(args: argparse.Namespace) -> int:
    """Publish one erasure request to the namespace's erasures topic."""
    from streams.publish import erase_main

    return erase_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="repayment-stream",
        description="Repayment events in; risk escalations and contact-rule-safe outreach out.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser(
        "worker",
        help="run the Faust worker (configured by REPAYMENT_* variables; --loglevel)",
        add_help=False,
    )
    sub.add_parser("bench", help="run the benchmarks (see bench/README.md)", add_help=False)

    replay = sub.add_parser("replay", help="run the decision core over a JSONL log, without Kafka")
    replay.add_argument("input", metavar="INPUT.jsonl", help="the log; - reads standard input")
    replay.add_argument("--until", metavar="TIMESTAMP", help="advance the clock to this time")
    replay.add_argument("--policy", metavar="FILE", help="policy TOML (default: built-in)")
    replay.add_argument("--max-bytes", type=int, default=65536, help=argparse.SUPPRESS)
    replay.add_argument(
        "--max-future-hours",
        type=int,
        default=24,
        metavar="H",
        help="occurred_at more than H hours after the wall clock is invalid_field (default 24)",
    )
    replay.set_defaults(func=cmd_replay)

    whatif = sub.add_parser(
        "whatif", help="replay one history under several policies and compare their decisions"
    )
    whatif.add_argument("input", metavar="INPUT.jsonl", help="the history (read once per policy)")
    whatif.add_argument(
        "--policy",
        action="append",
        required=True,
        metavar="FILE",
        help="policy TOML, repeat for each policy (the first is the baseline); "
        "'default' is the built-in policy",
    )
    whatif.add_argument("--until", metavar="TIMESTAMP", help="advance the clock to this time")
    whatif.add_argument("--format", choices=("table", "json", "html"), default="table")
    whatif.add_argument("--out", metavar="FILE", help="write the report here (default: stdout)")
    whatif.add_argument(
        "--top", type=int, default=10, metavar="N", help="customers that differ most to show"
    )
    whatif.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="replay up to N policies at once"
    )
    whatif.add_argument("--max-bytes", type=int, default=65536, help=argparse.SUPPRESS)
    whatif.add_argument("--max-future-hours", type=int, default=24, help=argparse.SUPPRESS)
    whatif.set_defaults(func=cmd_whatif)

    pol = sub.add_parser("policy", help="policy tools")
    pol_sub = pol.add_subparsers(dest="policy_command", required=True)
    check = pol_sub.add_parser("check", help="validate a policy file and print it")
    check.add_argument("file", nargs="?", help="policy TOML (default: built-in)")
    check.set_defaults(func=cmd_policy_check)

    erase = sub.add_parser(
        "erase", help="publish a request to erase a customer's data (repayments.erasures)"
    )
    erase.add_argument("customer_id", metavar="CUSTOMER_ID")
    erase.add_argument("--event-id", help="the request's event_id (default: a new UUID)")
    erase.set_defaults(func=cmd_erase)

    publish = sub.add_parser("publish", help="publish a JSONL history to the input topics")
    publish.add_argument("input", metavar="INPUT.jsonl")
    publish.add_argument("--until", metavar="TIMESTAMP", help="with --ticks: tick up to this time")
    publish.add_argument(
        "--ticks",
        action="store_true",
        help="also publish replay's clock ticks and pace the log so a worker in "
        "REPAYMENT_CLOCK=event mode decides exactly as replay does",
    )
    publish.add_argument("--worker-url", default="http://127.0.0.1:6066", help="for --ticks pacing")
    publish.set_defaults(func=cmd_publish)

    tail = sub.add_parser("tail", help="print the decisions on the output topics")
    tail.add_argument("--seconds", type=float, default=None, help="stop after this long idle")
    tail.add_argument("--from-beginning", action="store_true")
    tail.add_argument("--json", action="store_true", help="print replay-style JSON lines")
    tail.set_defaults(func=cmd_tail)

    compare = sub.add_parser(
        "compare", help="check that two decision logs (replay, tail --json) hold the same messages"
    )
    compare.add_argument("expected")
    compare.add_argument("actual")
    compare.set_defaults(func=cmd_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    gctune.tune()
    if argv and argv[0] == "worker":
        return cmd_worker(argv[1:])
    if argv and argv[0] == "bench":
        return cmd_bench(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (RepaymentStreamError, ValueError, OSError) as exc:
        print(f"repayment-stream {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
