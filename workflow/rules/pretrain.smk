# Pretrain the supernet with random single-path sampling; shared by every criterion of a seed (and, with
# workflow.shared_pretrain, by every experiment with the same pretraining keys: common.smk's PRETRAINED).


rule pretrain:
    input:
        code("pretrain"),
        DATA_FILES,
    output:
        supernet=SUPERNET,
        metrics=f"{PRETRAINED}/s{{seed}}/pretrain/metrics.json",
    log:
        f"{PRETRAINED}/logs/s{{seed}}/pretrain.log",
    benchmark:
        f"{PRETRAINED}/times/s{{seed}}/pretrain.tsv"
    threads: resources("train")["threads"]
    resources:
        **job_resources("train"),
    params:
        config_file=PRETRAIN_CONFIG,
        config=settings("pretrain"),
    shell:
        "naslid pretrain --config {params.config_file} --set seed={wildcards.seed} --set threads={threads} "
        "--out {output.supernet} --metrics {output.metrics} 2> {log}"
