# Ranking correlation of the routed supernet estimates with the benchmark (Table 2).


rule rank:
    input:
        code("rank"),
        DATA_FILES,
        BENCHMARK_FILES,
        supernets=final_checkpoints,
    output:
        f"{EXPERIMENT}/rank.json",
    log:
        f"{EXPERIMENT}/logs/rank.log",
    benchmark:
        f"{EXPERIMENT}/times/rank.tsv"
    threads: resources("search")["threads"]
    resources:
        **job_resources("search"),
    params:
        config_file=MERGED_CONFIG,
        config=settings("rank"),
    shell:
        naslid("rank")
        + " --set threads={threads} --supernets {input.supernets} --out {output} 2> {log}"
