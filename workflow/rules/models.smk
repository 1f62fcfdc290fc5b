# base models: the embedded study's tokenizer and tiny pretrained models (hub and local models need no rule).


def get_training_datasets():
    """The training splits of every task: the embedded tokenizer and base models read their prompts."""
    return [paths.dataset_file(task, "train") for task in CONFIG["tasks"]]


def get_base_model_spec(wildcards):
    model = CONFIG["models"][wildcards.model]
    return canonical_json(
        {"architecture": model["architecture"], "pretrain": model["pretrain"]}
    )


def base_model_path(model):
    """Where a model's base weights are: built here (embedded), a directory (local) or a hub id."""
    spec = CONFIG["models"][model]
    return paths.base_model_dir(model) if spec["source"] == "embedded" else spec["path"]


def get_base_model(wildcards):
    """The base model as a Snakemake input: built or local directories; nothing for a hub id."""
    spec = CONFIG["models"][wildcards.model]
    return [] if spec["source"] == "hub" else [base_model_path(wildcards.model)]


rule tokenizer:
    input:
        get_training_datasets(),
    output:
        directory(paths.tokenizer_dir()),
    log:
        paths.log_file("models", "tokenizer"),
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=15,
    params:
        vocab_size=CONFIG["tokenizer"]["vocab_size"],
    shell:
        "python -m xlt.cli base-model tokenizer --vocab-size {params.vocab_size} --out-dir {output} "
        "{input} > {log} 2>&1"


rule base_model:
    input:
        tokenizer=paths.tokenizer_dir(),
        datasets=get_training_datasets(),
    output:
        directory(paths.base_model_dir("{model}")),
    log:
        paths.log_file("models", "{model}"),
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        spec=get_base_model_spec,
    shell:
        "python -m xlt.cli base-model build --model {wildcards.model} --spec {params.spec:q} "
        "--tokenizer {input.tokenizer} --out-dir {output} {input.datasets} > {log} 2>&1"
