"""``python -m xlt.launch --processes N --strategy single|ddp|fsdp [--nodes K] <xlt command> ...``: run an xlt stage
in one process, or in N (over K nodes) through ``accelerate launch`` with the project's DDP or FSDP config
(``xlt/accelerate/``).

The train rule calls it with the GPU count, node count and strategy computed from the model's size
(``xlt.resources``). On K > 1 nodes of a SLURM job, the launcher on the first node starts one launcher per node
with ``srun`` (``--node-rank slurm``); each reads its rank from ``SLURM_NODEID`` and the rendezvous host (the job's
first node) from ``SLURM_JOB_NODELIST``, and starts N/K processes there: torchrun's static rendezvous over the
K nodes, one process per GPU, FSDP sharding the state over all N.

``--cpu`` runs the processes on CPUs (gloo): how the tests check that 2 processes, and 2 "nodes" on localhost
(``--nodes 2 --node-rank 0|1 --main-address 127.0.0.1``), train like 1.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

CONFIGS = Path(__file__).resolve().parent / "accelerate"
DEFAULT_PORT = 29_517


def launch_command(processes: int, strategy: str, command: list[str], cpu: bool = False, nodes: int = 1,
                   node_rank: int = 0, main_address: str | None = None, port: int = DEFAULT_PORT) -> list[str]:
    """The argv that runs ``xlt <command>`` in ``processes`` processes over ``nodes`` nodes (this node's share,
    ``processes / nodes``, for node ``node_rank``)."""
    if processes <= 1 or strategy == "single":
        if nodes > 1:
            raise ValueError(f"{nodes} nodes need several processes (got {processes}, strategy {strategy})")
        return [sys.executable, "-m", "xlt.cli", *command]
    if strategy not in ("ddp", "fsdp"):
        raise ValueError(f"unknown strategy {strategy!r} (single, ddp, fsdp)")
    if processes % nodes:
        raise ValueError(f"{processes} processes do not split evenly over {nodes} nodes")
    accelerate = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes),
                  "--num_machines", str(nodes)]
    if nodes > 1:
        if main_address is None:
            raise ValueError("several nodes need the rendezvous host (--main-address)")
        accelerate += ["--machine_rank", str(node_rank), "--main_process_ip", main_address,
                       "--main_process_port", str(port), "--rdzv_backend", "static", "--same_network"]
    if cpu:  # data parallel over CPU processes: torchrun with the gloo backend, no mixed precision
        accelerate += ["--multi_gpu", "--mixed_precision", "no", "--dynamo_backend", "no"]
    else:
        accelerate += ["--config_file", str(CONFIGS / f"{strategy}.yaml")]
    return [*accelerate, "-m", "xlt.cli", *command]


def first_host(nodelist: str) -> str:
    """The first host of a SLURM node list (``gpu[03-05,07],gpu11`` -> ``gpu03``), as ``scontrol show hostnames``
    would print it first."""
    match = re.match(r"^([^,\[]+)(?:\[([^\]]+)\])?", nodelist.strip())
    if not match:
        raise ValueError(f"cannot read the SLURM node list {nodelist!r}")
    prefix, ranges = match.groups()
    if not ranges:
        return prefix
    return prefix + ranges.split(",")[0].split("-")[0]


def srun_command(nodes: int, options: list[str], command: list[str]) -> list[str]:
    """One launcher per node of the job (``--overlap``: inside the job's own step), each with the launcher's
    ``options`` and told to read its rank from SLURM; a node that fails ends the others."""
    return ["srun", "--nodes", str(nodes), "--ntasks", str(nodes), "--ntasks-per-node", "1", "--overlap",
            "--kill-on-bad-exit=1", sys.executable, "-m", "xlt.launch", *options, "--node-rank", "slurm", *command]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xlt.launch", description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=1, help="GPUs in all (or CPU processes with --cpu)")
    parser.add_argument("--strategy", choices=["single", "ddp", "fsdp"], default="single")
    parser.add_argument("--nodes", type=int, default=1, help="nodes the processes spread over")
    parser.add_argument("--node-rank", default=None,
                        help="this node's rank; 'slurm': from SLURM_NODEID (unset on K > 1 nodes: start one "
                             "launcher per node with srun)")
    parser.add_argument("--main-address", default=None, help="the rendezvous host (default: SLURM's first node)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--cpu", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the xlt command and its options")
    args = parser.parse_args(argv)
    if not args.command:
        parser.error("no xlt command given")
    raw = list(sys.argv[1:] if argv is None else argv)
    if args.nodes > 1 and args.node_rank is None:  # the job's first node: a launcher on every node
        options = raw[: len(raw) - len(args.command)]
        return subprocess.run(srun_command(args.nodes, options, args.command)).returncode
    node_rank = int(os.environ["SLURM_NODEID"]) if args.node_rank == "slurm" else int(args.node_rank or 0)
    address = args.main_address
    if args.nodes > 1 and address is None:
        address = first_host(os.environ["SLURM_JOB_NODELIST"])
    argv = launch_command(args.processes, args.strategy, args.command, args.cpu, args.nodes, node_rank, address,
                          args.port)
    os.execv(argv[0], argv)  # the launched job replaces this process: its exit status is the job's


if __name__ == "__main__":
    sys.exit(main())
