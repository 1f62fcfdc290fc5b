# Config validation, wildcard constraints and the input/param functions every rule uses.
import os
import sys

WORKFLOW_DIR = os.path.join(workflow.basedir, "workflow")
sys.path.insert(0, WORKFLOW_DIR)
# Jobs (local or SLURM, which re-reads this file) run `python -m xlt.cli ...` with this checkout's package,
# whatever environment runs them; kept out of the commands so that moving the checkout reruns nothing.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(None, [WORKFLOW_DIR, os.environ.get("PYTHONPATH")])
    )
)

from snakemake.exceptions import WorkflowError

from xlt import paths
from xlt.config import ConfigError, mixture_names, mixture_spec, validate_config
from xlt.io import canonical_json

try:
    STUDY = validate_config(
        config,
        source=", ".join(map(str, workflow.overwrite_configfiles or ["config.yaml"])),
    )
except ConfigError as error:
    raise WorkflowError(str(error)) from None


wildcard_constraints:
    task="|".join(STUDY["tasks"]),
    family="|".join(STUDY["mixtures"]["families"]),
    n=r"\d+",
    seed=r"\d+",


def get_synthetic_spec(wildcards):
    """The task's data settings (only what its dataset depends on), as canonical JSON."""
    task = STUDY["tasks"][wildcards.task]
    spec = {key: value for key, value in task["data"].items() if key != "source"}
    return canonical_json({"kind": task["kind"], **spec})


def get_mixture_spec(wildcards):
    """One mixture's settings without the family's n grid, so adding an n reruns no other mixture."""
    return canonical_json(mixture_spec(STUDY, wildcards.family, int(wildcards.n)))


def get_mixture_datasets(wildcards):
    tasks = STUDY["mixtures"]["families"][wildcards.family]["tasks"]
    return [
        paths.dataset_file(task, split)
        for task in tasks
        for split in ("train", "validation", "test")
    ]


def mixture_manifests():
    return [
        paths.mixture_file(mixture, seed, "manifest.json")
        for mixture in mixture_names(STUDY)
        for seed in STUDY["seeds"]
    ]


def study_targets():
    return [paths.mixture_summary(), *mixture_manifests()]
