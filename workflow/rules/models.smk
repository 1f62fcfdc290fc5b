# base models: the embedded study's tokenizer and tiny pretrained models (hub and local models need no rule).


rule tokenizer:
    input:
        jobs.training_datasets(CONFIG),
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
        datasets=jobs.training_datasets(CONFIG),
    output:
        directory(paths.base_model_dir("{model}")),
    log:
        paths.log_file("models", "{model}"),
    conda:
        "../../envs/train.yaml"
    threads: 2  # nothing trains before the base model exists: it gets the cores the others will use
    resources:
        mem_mb=4000,
        runtime=60,
    params:
        spec=lambda w: jobs.base_model_spec(CONFIG, w.model),
    shell:
        "XLT_TORCH_THREADS={threads} python -m xlt.cli base-model build --model {wildcards.model} --spec {params.spec:q} "
        "--tokenizer {input.tokenizer} --out-dir {output} {input.datasets} > {log} 2>&1"
