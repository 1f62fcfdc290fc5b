# What every stage's rules share: the job environment, the validated config (CONFIG), the wildcard constraints
# and the resource factory. What each rule hands its jobs is xlt.jobs (pure functions of CONFIG and wildcards).
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
# `python` in a job is the interpreter running Snakemake (.venv/bin/snakemake works without an activated venv);
# a rule's conda environment, when used, activates its own python in front of it.
os.environ.update(
    PATH=os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
)

from snakemake.exceptions import WorkflowError

from xlt import grid, jobs, paths, plan, resources
from xlt.config import ConfigError, read_config_file, validate_config
from xlt.errors import XltError
from xlt.weights import require_safetensors
from xlt.registry import ATTRIBUTION_FIGURES
from xlt.io import canonical_json

CONFIG_FILES = [str(path) for path in workflow.overwrite_configfiles or ["config.yaml"]]
try:
    # xlt's YAML reader first: Snakemake's names neither the file nor the line, and keeps duplicate keys
    for _path in CONFIG_FILES:
        read_config_file(_path)
except ConfigError as error:
    raise WorkflowError(str(error)) from None


if not workflow.overwrite_configfiles:

    configfile: "config.yaml"


# CONFIG: the validated study config (defaults filled in); Snakemake's `config` is the file as read.
try:
    CONFIG = validate_config(config, source=", ".join(CONFIG_FILES))
except ConfigError as error:
    raise WorkflowError(str(error)) from None

# A local model that is not there fails now, not when its first training job starts.
_LOCAL_MODELS = {f"models.{name}.path": spec for name, spec in CONFIG["models"].items()}
_LOCAL_MODELS.update(
    {
        f"{section}.model.path": CONFIG[section]["model"]
        for section in ("translation", "judge")
        if "model" in CONFIG.get(section, {})
    }
)
for _where, _spec in _LOCAL_MODELS.items():
    if _spec["source"] != "local":
        continue
    if not os.path.isfile(os.path.join(_spec["path"], "config.json")):
        raise WorkflowError(
            f"{_where}: {_spec['path']!r} is not a model directory (no config.json there)"
        )
    try:
        require_safetensors(_spec["path"], _where)
    except XltError as error:
        raise WorkflowError(str(error)) from None

# cluster.budget: a study whose plan (xlt plan) costs more stops here, before its first job.
try:
    plan.check_budget(CONFIG)
except XltError as error:
    raise WorkflowError(str(error)) from None

SYNTHETIC_TASKS = [
    task
    for task, spec in CONFIG["tasks"].items()
    if spec["data"]["source"] == "synthetic"
]
HUB_TASKS = [
    task for task, spec in CONFIG["tasks"].items() if spec["data"]["source"] == "hub"
]
HUB_SPLITS = ("train", "validation", "test", "exemplars")


wildcard_constraints:
    task="|".join(CONFIG["tasks"]),
    split="|".join(HUB_SPLITS),
    lang="[a-z]{2}",
    family="|".join(CONFIG["mixtures"]["families"]),
    model="|".join(CONFIG["models"]),
    n=r"\d+",
    seed=r"\d+",
    run=rf"{paths.BASE_RUN}|({'|'.join(CONFIG['mixtures']['families'])})-n\d+/seed\d+",
    setting="single_task|multi_task|script_mix",
    figure="|".join(grid.figure_names(CONFIG)),
    shard=r"\d+",
    shards=r"\d+",
    attribution_figure="|".join(ATTRIBUTION_FIGURES),


def sized(job, name):
    """One resource of a rule's jobs: ``name`` of ``job(config, wildcards, attempt)``, an ``xlt.resources``
    sizing function (GPUs, memory and runtime from the model's size; memory and runtime grow with the attempt).
    """

    def resource(wildcards, attempt):
        return job(CONFIG, dict(wildcards.items()), attempt)[name]

    return resource
