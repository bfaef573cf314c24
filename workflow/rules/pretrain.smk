# Pretrain the supernet with random single-path sampling; shared by every criterion of a seed.


rule pretrain:
    input:
        code("pretrain"),
        DATA_FILES,
    output:
        supernet=f"{RESULTS}/s{{seed}}/pretrain/supernet.pt",
        metrics=f"{RESULTS}/s{{seed}}/pretrain/metrics.json",
    log:
        f"{RESULTS}/logs/s{{seed}}/pretrain.log",
    benchmark:
        f"{RESULTS}/times/s{{seed}}/pretrain.tsv"
    threads: resources("train")["threads"]
    resources:
        mem_mb=resources("train")["mem_mb"],
        runtime=resources("train")["runtime"],
        gpu=resources("train")["gpu"],
    params:
        config_file=MERGED_CONFIG,
        config=settings("pretrain"),
    shell:
        "naslid pretrain --config {params.config_file} --set seed={wildcards.seed} --set threads={threads} "
        "--out {output.supernet} --metrics {output.metrics} 2> {log}"
