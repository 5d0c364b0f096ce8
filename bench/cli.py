"""``python -m bench [suite ...]``: run benchmark suites, print a table, write JSON results."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.context import Context, Sizes
from bench.portfolio import PortfolioSpec, generate, write_replay
from bench.report import Figure, table, to_json

SUITES = (
    "core",
    "ticks",
    "baseline",
    "floor",
    "e2e",
    "peer",
    "scale",
    "latency",
    "memory",
    "recovery",
)


def _suite(name: str) -> Callable[[Context], Any]:
    module = __import__(f"bench.{name}", fromlist=["run"])
    return module.run  # type: ignore[no-any-return]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suites", nargs="*", metavar="suite", help=f"any of {', '.join(SUITES)}")
    parser.add_argument("--customers", type=int, default=100_000, help="portfolio size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="JSON results (default bench/results/<ts>.json)")
    parser.add_argument("--quick", action="store_true", help="small sizes, ~3 minutes in all")
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
        help="Kafka brokers (default: $KAFKA_BOOTSTRAP_SERVERS, else localhost:9092)",
    )
    parser.add_argument("--partitions", type=int, default=6, help="partitions of bench topics")
    parser.add_argument("--workdir", type=Path, help="worker data dirs and logs (default: tmp)")
    parser.add_argument(
        "--worker-command",
        default="",
        help="run workers with this command instead of `python -m streams worker`, e.g. "
        "'python -m pyinstrument -o prof.txt -m streams worker' (profiling, experiments)",
    )
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        type=_env_pair,
        help="set a worker variable (repeatable), e.g. REPAYMENT_PRODUCER_LINGER_MS=0",
    )
    parser.add_argument(
        "--write-replay", type=Path, metavar="PATH", help="write the portfolio as replay JSONL"
    )
    return parser


def _env_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.startswith("REPAYMENT_"):
        raise argparse.ArgumentTypeError(f"expected REPAYMENT_NAME=VALUE, got {text!r}")
    return name, value


def _meta(args: argparse.Namespace, run_id: str, sizes: Sizes) -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "run_id": run_id,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "commit": commit,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_start": os.getloadavg(),
        "quick": args.quick,
        "customers": args.customers,
        "seed": args.seed,
        "bootstrap": args.bootstrap,
        "sizes": {k: getattr(sizes, k) for k in sizes.__dataclass_fields__},
    }


async def _run_suites(ctx: Context, names: list[str]) -> tuple[list[Figure], dict[str, Any]]:
    figures: list[Figure] = []
    details: dict[str, Any] = {}
    for name in names:
        print(f"== {name}", file=sys.stderr)
        started = time.perf_counter()
        try:
            result = _suite(name)(ctx)
            if inspect.isawaitable(result):
                result = await result
            got, detail = result
            figures.extend(got)
            details[name] = detail
        except Exception as exc:  # a failed suite is a result too; the others still run
            traceback.print_exc()
            figures.append(Figure(name, "suite failed", None, "", note=repr(exc)[:120]))
            details[name] = {"error": repr(exc)}
        details.setdefault(name, {})["suite_seconds"] = time.perf_counter() - started
    return figures, details


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = sorted(set(args.suites) - set(SUITES))
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # coordinator chatter at startup
    if args.write_replay is not None:
        spec = PortfolioSpec(customers=args.customers, seed=args.seed)
        count = write_replay(generate(spec), args.write_replay)
        print(f"wrote {count:,} lines to {args.write_replay}", file=sys.stderr)
        if not args.suites:
            return 0
    names = [s for s in SUITES if s in args.suites] if args.suites else list(SUITES)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    sizes = Sizes.for_run(args.customers, args.quick)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix=f"bench-{run_id}-"))
    ctx = Context(
        args.bootstrap,
        args.seed,
        sizes,
        args.partitions,
        run_id,
        workdir,
        worker_command=tuple(shlex.split(args.worker_command)),
        worker_env=tuple(args.worker_env),
    )
    meta = _meta(args, run_id, sizes)
    figures, details = asyncio.run(_run_suites(ctx, names))
    meta["load_average_at_end"] = os.getloadavg()
    meta["workdir"] = str(workdir)
    out = args.out or Path("bench/results") / f"{run_id}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(to_json(meta, figures, details))
    print(table(figures))
    print(f"\nresults: {out}  (load average {meta['load_average_at_end']})")
    return 1 if any(f.name == "suite failed" for f in figures) else 0
