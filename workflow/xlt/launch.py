"""``python -m xlt.launch --processes N --strategy single|ddp|fsdp <xlt command> ...``: run an xlt stage in one
process, or in N through ``accelerate launch`` with the project's DDP or FSDP config (``xlt/accelerate/``).

The train rule calls it with the GPU count and strategy computed from the model's size (``xlt.resources``).
``--cpu`` runs the N processes on CPUs (gloo): how the tests check that 2 processes train like 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

CONFIGS = Path(__file__).resolve().parent / "accelerate"


def launch_command(processes: int, strategy: str, command: list[str], cpu: bool = False) -> list[str]:
    """The argv that runs ``xlt <command>`` in ``processes`` processes."""
    if processes <= 1 or strategy == "single":
        return [sys.executable, "-m", "xlt.cli", *command]
    if strategy not in ("ddp", "fsdp"):
        raise ValueError(f"unknown strategy {strategy!r} (single, ddp, fsdp)")
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes),
                  "--num_machines", "1"]
    if cpu:  # data parallel over CPU processes: torchrun with the gloo backend, no mixed precision
        accelerate += ["--multi_gpu", "--mixed_precision", "no", "--dynamo_backend", "no"]
    else:
        accelerate += ["--config_file", str(CONFIGS / f"{strategy}.yaml")]
    return [*accelerate, "-m", "xlt.cli", *command]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xlt.launch", description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1, help="GPUs (or CPU processes with --cpu)")
    parser.add_argument("--strategy", choices=["single", "ddp", "fsdp"], default="single")
    parser.add_argument("--cpu", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the xlt command and its options")
    args = parser.parse_args(argv)
    if not args.command:
        parser.error("no xlt command given")
    argv = launch_command(args.processes, args.strategy, args.command, args.cpu)
    os.execv(argv[0], argv)  # the launched job replaces this process: its exit status is the job's


if __name__ == "__main__":
    sys.exit(main())
