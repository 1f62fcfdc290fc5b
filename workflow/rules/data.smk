# data: each task's normalised train/validation/test tables.


rule synthetic_dataset:
    output:
        train=paths.dataset_file("{task}", "train"),
        validation=paths.dataset_file("{task}", "validation"),
        test=paths.dataset_file("{task}", "test"),
        provenance=paths.dataset_file("{task}", "provenance"),
    log:
        paths.log_file("data", "{task}"),
    conda:
        "../../envs/data.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=15,
    params:
        spec=get_synthetic_spec,
        out_dir=paths.dataset_dir("{task}"),
    shell:
        "python -m xlt.cli data synthetic --task {wildcards.task} --spec {params.spec:q} "
        "--out-dir {params.out_dir} > {log} 2>&1"
