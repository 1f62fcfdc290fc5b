"""One home per stage: stage modules import libraries, never each other; xlt imports sit at the top of each
module; the shared rule file stays small; and every file a job reads or writes is one its rule declares."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, file_trace_dir
from workflow_helpers import snakemake

PACKAGE = ROOT / "workflow" / "xlt"
# The modules that implement a stage's job (their CLI is a rule's command); everything else in xlt is a library
# they share, or a tool (validate, audit, launch, cli).
STAGE_MODULES = {"data", "translate", "mixtures", "base_model", "train", "prompts", "generate", "judge", "score",
                 "tables", "curves", "figures", "report"}


def xlt_imports(path: Path) -> list[tuple[str, bool]]:
    """(xlt module, imported at module level) of every xlt import in a source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "xlt":
            names = [node.module] if node.module != "xlt" else [f"xlt.{alias.name}" for alias in node.names]
            found += [(name, id(node) in top) for name in names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names if alias.name.split(".")[0] == "xlt"]
    return found


def test_no_stage_module_imports_another_stage_module():
    assert {path.stem for path in PACKAGE.glob("*.py")} >= STAGE_MODULES
    crossings = {stage: sorted({name for name, _ in xlt_imports(PACKAGE / f"{stage}.py")
                                if name.split(".")[1] in STAGE_MODULES and name.split(".")[1] != stage})
                 for stage in STAGE_MODULES}
    assert {stage: names for stage, names in crossings.items() if names} == {}


def test_xlt_modules_are_imported_at_the_top_of_every_module():
    """No import inside a function to dodge a cycle or a heavy dependency: libraries are split instead. (The
    ``evaluate`` modules are loaded by path, from evaluate's cache, and are not part of the package.)"""
    lazy = {str(path.relative_to(PACKAGE)): [name for name, at_top in xlt_imports(path) if not at_top]
            for path in PACKAGE.rglob("*.py") if "evaluate_modules" not in path.parts}
    assert {path: names for path, names in lazy.items() if names} == {}


def test_rule_files_hold_rules_and_the_shared_one_only_what_several_use():
    """Rule files call xlt.jobs from lambdas (no functions of their own); common.smk stays small, and each of its
    functions serves at least two rule files."""
    rules = ROOT / "workflow" / "rules"
    common = (rules / "common.smk").read_text(encoding="utf-8")
    assert len(common.splitlines()) < 150
    others = {path.name: path.read_text(encoding="utf-8") for path in rules.glob("*.smk") if path.name != "common.smk"}
    assert {name: re.findall(r"^def (\w+)", text, flags=re.M) for name, text in others.items()} == {
        name: [] for name in others}
    for name in re.findall(r"^def (\w+)\(", common, flags=re.M):
        users = [file for file, text in others.items() if re.search(rf"\b{name}\(", text)]
        assert len(users) >= 2, f"{name} in common.smk serves only {users}: it belongs in that rule file"


# ---- every path a job touches is declared by its rule ------------------------------------------------------

# Written beside the declared outputs on purpose, so that a failed or rerun job finds them (README: Reruns):
# training checkpoints, the job record and the run lock (attribution reads the checkpoints); the MT cache of raw translations; vLLM's compile cache.
UNDECLARED = {
    "train": [r"results/runs/[^/]+/.+/seed\d+/(checkpoints/.*|\.train\.lock)"],
    # the kept checkpoints, read through the list in training.json (a declared input)
    "attribution_scores": [r"results/runs/[^/]+/.+/seed\d+/checkpoints/checkpoint-\d+/.*"],
    "translate": [r"resources/translations/cache/.*"],
    "hub_dataset": [r"resources/downloads/.*"],
    "generate": [r"\.cache/.*"],
    "judge": [r"\.cache/.*"],
}
# a temp beside its target, renamed onto it when complete: xlt.io.atomic_write's files (.{name}.{random}.tmp) and
# the trained model's directory (.model.tmp)
TEMP = re.compile(r"^\.(?P<name>.+?)(?:\.[^.]+)?\.tmp$")


def declared_jobs(workdir: Path) -> list[dict]:
    """Every job of the finished study with its declared input, output and log paths (a forced dry run)."""
    result = snakemake(workdir, "-n", "--forceall")
    assert result.returncode == 0, result.stdout + result.stderr
    jobs: list[dict] = []
    for line in result.stdout.splitlines():
        if header := re.match(r"^(?:local)?rule (\w+):$", line):
            jobs.append({"rule": header.group(1), "input": [], "output": [], "log": []})
        elif jobs and (field := re.match(r"^\s+(input|output|log): (.*)$", line)):
            jobs[-1][field.group(1)] = [part.strip() for part in field.group(2).split(",")]
    return jobs


def covered(path: str, declared: list[str]) -> bool:
    """``path`` is a declared file, lies inside a declared directory, or is a declared file's provenance sidecar
    (``xlt.provenance.provenance_path_for``: they travel with their artifact)."""
    for item in declared:
        if path == item or path.startswith(item.rstrip("/") + "/"):
            return True
        stem = Path(item)
        if path in (str(stem.with_name(f"{stem.stem}.provenance.json")), str(stem.parent / "provenance.json")):
            return True
    return False


def relative_paths(paths: list[str], workdir: Path) -> list[str]:
    """Paths inside the study folder, relative, with atomic-write temps named by their target."""
    inside = []
    for path in paths:
        try:
            relative = Path(path).relative_to(workdir)
        except ValueError:
            continue  # the package, the virtualenv, caches outside the study
        inside.append(str(Path(*((temp["name"] if (temp := TEMP.match(part)) else part) for part in relative.parts))))
    return inside


@pytest.mark.slow
def test_every_path_a_job_reads_or_writes_is_one_its_rule_declares(small_study, tmp_path_factory):
    workdir, _, _ = small_study
    workdir = workdir.resolve()
    jobs = [job for job in declared_jobs(workdir) if job["rule"] != "all"]
    traces = [json.loads(path.read_text()) for path in sorted(file_trace_dir(tmp_path_factory).glob("*.json"))]
    assert traces, "no job was traced (tests/file_trace/sitecustomize.py)"
    seen_rules, problems = set(), []
    for trace in traces:
        writes = relative_paths(trace["writes"], workdir)
        reads = [path for path in relative_paths(trace["reads"], workdir) if path not in writes]
        if not writes:
            continue
        owners = [job for job in jobs if any(covered(path, job["output"]) for path in writes)]
        command = " ".join(trace["argv"][1:4])
        if len(owners) != 1:
            problems.append(f"{command}: its writes {writes[:3]} match {len(owners)} jobs' declared outputs")
            continue
        job = owners[0]
        seen_rules.add(job["rule"])
        allowed = [re.compile(pattern) for pattern in UNDECLARED.get(job["rule"], [])]
        for path in writes:
            if not (covered(path, job["output"] + job["log"]) or any(p.fullmatch(path) for p in allowed)):
                problems.append(f"rule {job['rule']} ({command}) writes {path}, which it does not declare")
        if job["rule"] == "report":
            continue  # the report shows each artifact's audit: it reads the lineage the provenance names
        for path in reads:
            if not (covered(path, job["input"] + job["output"]) or any(p.fullmatch(path) for p in allowed)):
                problems.append(f"rule {job['rule']} ({command}) reads {path}, which it does not declare")
    assert problems == []
    assert seen_rules == {job["rule"] for job in jobs}, "every rule's jobs were traced"


def test_each_registry_entry_has_its_implementation():
    """xlt.registry lists the extension points; the modules that implement them cover exactly those names."""
    from xlt import adapters, attribute, figures, metrics, registry

    assert set(adapters.ADAPTERS) == set(registry.ADAPTERS)
    # the config check of `scripts:` reads the registry, the adapter's own check its default scripts
    assert {name: entry.script_choice for name, entry in registry.ADAPTERS.items()} == {
        name: adapter.scripts is not None for name, adapter in adapters.ADAPTERS.items()}
    assert list(figures.FIGURES) == list(registry.FIGURES)
    assert list(attribute.FIGURES) == list(registry.ATTRIBUTION_FIGURES)
    assert {name for name, metric in registry.METRICS.items() if not metric.judged} <= set(metrics.SCORERS)
    modules = {path.name for path in metrics.EVALUATE_MODULES.iterdir() if (path / f"{path.name}.py").is_file()}
    assert modules == set(metrics.SCORERS), "every scorer is an evaluate module of its name, and only those"
    assert all(metric.kinds <= set(registry.KINDS) for metric in registry.METRICS.values())
