# Table 1: peak memory and time of profiling one edge, LID vs gradient matching.


rule cost:
    input:
        code("cost"),
        DATA_FILES,
        supernet=SUPERNET.format(seed=SEEDS[0]),
    output:
        f"{RESULTS}/cost.json",
    log:
        f"{RESULTS}/logs/cost.log",
    benchmark:
        f"{RESULTS}/times/cost.tsv"
    threads: resources("profile")["threads"]
    resources:
        **job_resources("profile"),
    params:
        config_file=MERGED_CONFIG,
        config=settings("cost"),
        sizes=COST_SIZES,
    shell:
        "naslid cost --config {params.config_file} --set threads={threads} --supernet {input.supernet}"
        " --sizes {params.sizes} --out {output} 2> {log}"
