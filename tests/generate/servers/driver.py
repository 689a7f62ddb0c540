"""Run a batch of Runway takes through the real orchestrator, in its own process.

Used by the kill-and-resume test (which SIGKILLs this process at random moments) and
by bench/bench_generate.py (which wants the orchestrator's CPU time apart from the
server's). Prints one JSON line with the outcome when the batch settles.

    python -m tests.generate.servers.driver BASE_URL OUTDIR --shots 10 --takes 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from shotline.core.generate.orchestrator import BatchConfig, Orchestrator, TakePlan, request_hash, safe_name
from shotline.core.generate.providers.base import GenerationRequest, ShotKind
from shotline.core.generate.providers.runway import RunwayProvider, catalog


def say(line: str) -> None:
    """One write(2) per line: lines from the zygote and its children never interleave."""
    os.write(sys.stdout.fileno(), (line + "\n").encode())


def take_plans(provider: RunwayProvider, shots: int, takes: int) -> list[TakePlan]:
    """``shots`` x ``takes`` gen4.5 text-to-video takes, each with its own prompt and seed."""
    plans = []
    for s in range(1, shots + 1):
        for t in range(1, takes + 1):
            req = GenerationRequest(
                shot_id=f"sh{s:03d}",
                take=t,
                kind=ShotKind.TEXT_TO_VIDEO,
                prompt=f"shot {s}: a lighthouse at dusk, take {t}",
                model="gen4.5",
                duration=5,
                ratio="16:9",
                seed=s * 100 + t,
            )
            digest = request_hash("runway", req)
            stem = safe_name(req.shot_id)
            out = Path("shots") / stem / f"{stem}_t{t:02d}_{digest[:8]}.mp4"
            plans.append(TakePlan("runway", req, digest, provider.estimate_cost(req), "credits", out))
    return plans


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser()
    ap.add_argument("base_url")
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--shots", type=int, default=10)
    ap.add_argument("--takes", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=10)
    ap.add_argument("--poll", type=float, default=0.05)
    ap.add_argument("--retry-uncertain", action="store_true")
    ap.add_argument(
        "--zygote", action="store_true", help="load once, then fork one run per 'go' line on stdin"
    )
    return ap


def run_batch(args: argparse.Namespace) -> None:
    provider = RunwayProvider(
        base_url=args.base_url,
        allow_http_loopback=True,
        poll_interval=args.poll,
        max_concurrency=args.concurrency,
    )
    config = BatchConfig(
        concurrency=args.concurrency,
        poll_interval=args.poll,
        poll_jitter=0.2,
        backoff_base=0.05,
        backoff_max=0.5,
        retry_uncertain=args.retry_uncertain,
    )
    orch = Orchestrator(args.outdir, providers={"runway": provider}, config=config)
    plans = take_plans(provider, args.shots, args.takes)
    say("ready")
    try:
        result = orch.run(plans)
    finally:
        orch.close()
    summary = {
        "wall": result.wall_seconds,
        "cpu": result.cpu_seconds,
        "statuses": [o.status for o in result.outcomes],
        "reused": sum(o.reused for o in result.outcomes),
    }
    say(json.dumps(summary))


def zygote(args: argparse.Namespace) -> None:
    """Imports are paid once; each 'go' line (optionally 'go --retry-uncertain') forks a
    fresh process that runs the batch.

    Prints ``pid N`` for each child (the one a test kills) and ``exited N CODE`` once it
    is gone. The zygote itself never starts a thread, so forking it is safe.
    """
    catalog()  # build the SDK model catalog once, before forking
    say("loaded")
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] != "go":
            break
        run_args = argparse.Namespace(**vars(args))
        run_args.retry_uncertain = "--retry-uncertain" in words[1:]
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                run_batch(run_args)
            except BaseException:
                code = 1
            finally:
                sys.stdout.flush()
                os._exit(code)
        say(f"pid {pid}")
        _, status = os.waitpid(pid, 0)
        say(f"exited {pid} {status}")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.zygote:
        zygote(args)
    else:
        run_batch(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
