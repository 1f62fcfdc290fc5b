"""``xlt audit <artifact>``: where a result came from, and whether it still holds.

Walks the provenance sidecars from an artifact (figure, table, scores, generations, model, mixture, dataset)
back through its inputs to the raw datasets, and prints each node's stage, params, code version, packages and
input hashes. It flags:
- modified: a file whose content no longer matches the hash recorded when the artifact was made (an input
  edited after the fact, or the artifact itself);
- missing: a recorded input that is gone;
- stale: an artifact made by other code than this checkout's (its stage's code fingerprint differs);
- unrecorded: an input with no provenance sidecar where one was recorded.
Recorded paths are relative to the workflow directory, which the audit finds from the artifact itself, so a
results tree copied to another machine audits the same. Exit status 1 when anything is flagged.

Usage::

    python -m xlt.cli audit results/figures/fig3_scores_by_n.pdf
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from xlt.io import sha256_file
from xlt.provenance import provenance_path_for, stage_fingerprint


@dataclass
class Node:
    """One artifact of the lineage: its sidecar's record and what the audit found wrong with it."""
    sidecar: str                     # relative to the workflow directory
    record: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    inputs: list[Node | str] = field(default_factory=list)  # a str: a sidecar already shown above


@cache
def current_hash(path: Path) -> str | None:
    return sha256_file(path) if path.is_file() else None


@cache
def current_fingerprint(module: str) -> str | None:
    try:
        return stage_fingerprint(module)
    except (ImportError, OSError, SyntaxError):
        return None


def workflow_root(artifact: Path, sidecar: Path, record: dict[str, Any]) -> Path:
    """The directory recorded paths are relative to: the sidecar's folder minus its recorded relative folder."""
    for output in record.get("outputs", []):
        relative = Path(output["path"]).parent
        folder = sidecar.resolve().parent
        if relative.parts and folder.parts[-len(relative.parts):] == relative.parts:
            return Path(*folder.parts[: -len(relative.parts)])
        if not relative.parts:
            return folder
    return Path.cwd()


def check(record: dict[str, Any], root: Path) -> list[str]:
    """What no longer holds for one artifact: modified or missing files, stale code."""
    problems = []
    for kind, entries in (("input", record.get("inputs", [])), ("output", record.get("outputs", []))):
        for entry in entries:
            now = current_hash(root / entry["path"])
            if now is None:
                problems.append(f"missing {kind}: {entry['path']}")
            elif now != entry["sha256"]:
                problems.append(f"modified {kind}: {entry['path']} (recorded sha256 {entry['sha256'][:12]}, "
                                f"now {now[:12]})")
    code = record.get("code", {})
    module, recorded = code.get("stage_module"), code.get("stage_fingerprint")
    if module and recorded:
        now = current_fingerprint(module)
        if now is None:
            problems.append(f"stale: stage module {module} is not in this checkout")
        elif now != recorded:
            problems.append(f"stale: made by other code than this checkout ({module} fingerprint "
                            f"{recorded[:12]}, checkout {now[:12]}); rerun it to refresh")
    return problems


def lineage(artifact: str | Path, max_depth: int | None = None) -> Node:
    """The audited lineage tree of ``artifact`` (a file or directory with a provenance sidecar)."""
    artifact = Path(artifact)
    if not artifact.exists():
        raise FileNotFoundError(f"{artifact}: no such artifact")
    sidecar = provenance_path_for(artifact)
    if not sidecar.is_file():
        raise FileNotFoundError(f"{artifact}: no provenance sidecar ({sidecar} is missing); only artifacts the "
                                f"workflow wrote can be audited")
    record = json.loads(sidecar.read_text(encoding="utf-8"))
    root = workflow_root(artifact, sidecar, record)
    shown: set[str] = set()

    def visit(relative: str, record: dict[str, Any], depth: int) -> Node:
        shown.add(relative)
        node = Node(relative, record, check(record, root))
        if max_depth is not None and depth >= max_depth:
            return node
        for entry in record.get("inputs", []):
            child = entry.get("provenance")
            if child is None:
                continue
            if child in shown:
                if child not in node.inputs:
                    node.inputs.append(child)
                continue
            path = root / child
            if not path.is_file():
                node.problems.append(f"unrecorded: {entry['path']} has no provenance sidecar ({child} is gone)")
                continue
            node.inputs.append(visit(child, json.loads(path.read_text(encoding="utf-8")), depth + 1))
        return node

    return visit(str(sidecar.resolve().relative_to(root)), record, 0)


def walk(node: Node) -> list[Node]:
    return [node] + [n for child in node.inputs if isinstance(child, Node) for n in walk(child)]


def as_json(node: Node) -> dict[str, Any]:
    record = node.record
    return {"sidecar": node.sidecar, "stage": record.get("stage"), "created": record.get("created"),
            "params": record.get("params"), "seed": record.get("seed"), "code": record.get("code"),
            "packages": record.get("environment", {}).get("packages"), "inputs_recorded": record.get("inputs"),
            "outputs": record.get("outputs"), "problems": node.problems,
            "inputs": [as_json(child) if isinstance(child, Node) else {"sidecar": child, "see_above": True}
                       for child in node.inputs]}


def short(value: Any, width: int = 160) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."


def as_text(node: Node) -> str:
    root_packages = node.record.get("environment", {}).get("packages", {})
    lines = []

    def line(node: Node, prefix: str, last: bool, top: bool) -> None:
        record, code = node.record, node.record.get("code", {})
        branch = "" if top else ("`-- " if last else "|-- ")
        pad = prefix + ("" if top else ("    " if last else "|   "))
        commit = (code.get("git_commit") or "no git")[:10] + (" (dirty)" if code.get("git_dirty") else "")
        status = "OK" if not node.problems else f"{len(node.problems)} PROBLEM(S)"
        lines.append(f"{prefix}{branch}{node.sidecar}  [{record.get('stage')}]  {status}")
        lines.append(f"{pad}  made {record.get('created')} by {code.get('stage_module')} "
                     f"(fingerprint {str(code.get('stage_fingerprint'))[:12]}, commit {commit})")
        packages = record.get("environment", {}).get("packages", {})
        differing = {k: v for k, v in packages.items() if top or root_packages.get(k) != v}
        if differing:
            lines.append(f"{pad}  packages{'' if top else ' (differing from the top)'}: "
                         + ", ".join(f"{k} {v}" for k, v in sorted(differing.items())))
        lines.append(f"{pad}  params: {short(record.get('params'))}")
        for entry in record.get("inputs", []):
            lines.append(f"{pad}  input {entry['path']} sha256 {entry['sha256'][:12]}")
        lines.extend(f"{pad}  !! {problem}" for problem in node.problems)
        for i, child in enumerate(node.inputs):
            is_last = i == len(node.inputs) - 1
            if isinstance(child, Node):
                line(child, pad, is_last, False)
            else:
                lines.append(f"{pad}{'`-- ' if is_last else '|-- '}{child}  (shown above)")

    line(node, "", True, True)
    return "\n".join(lines)


def summary(node: Node) -> dict[str, int]:
    nodes = walk(node)
    problems = [problem for n in nodes for problem in n.problems]
    return {"artifacts": len(nodes),
            "modified": sum(p.startswith("modified") for p in problems),
            "missing": sum(p.startswith("missing") for p in problems),
            "stale": sum(p.startswith("stale") for p in problems),
            "unrecorded": sum(p.startswith("unrecorded") for p in problems)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="xlt audit", description=__doc__.splitlines()[0])
    parser.add_argument("artifact", help="a figure, table, scores or generations file, a model or mixture folder")
    parser.add_argument("--json", action="store_true", help="the lineage tree as JSON")
    parser.add_argument("--depth", type=int, help="stop this many steps up the lineage")
    args = parser.parse_args(argv)
    tree = lineage(args.artifact, args.depth)
    counts = summary(tree)
    if args.json:
        print(json.dumps({"summary": counts, "lineage": as_json(tree)}, indent=2, sort_keys=True,
                         ensure_ascii=False))
    else:
        print(as_text(tree))
        print("\n" + ", ".join(f"{value} {key}" for key, value in counts.items()))
    return 1 if any(value for key, value in counts.items() if key != "artifacts") else 0


if __name__ == "__main__":
    sys.exit(main())
