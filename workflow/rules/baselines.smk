# What Table 2's criteria must beat: parameters, FLOPs, the NASWOT zero-cost proxy of the ranked
# architectures, and the ground truth's two trainings against each other (its ceiling).


rule baselines:
    input:
        code("baselines"),
        DATA_FILES,
        BENCHMARK_FILES,
    output:
        f"{RESULTS}/s{{seed}}/baselines.json",
    log:
        f"{RESULTS}/logs/s{{seed}}/baselines.log",
    benchmark:
        f"{RESULTS}/times/s{{seed}}/baselines.tsv"
    threads: resources("light")["threads"]
    resources:
        **job_resources("light"),
    params:
        config_file=MERGED_CONFIG,
        config=settings("baselines"),
    shell:
        "naslid baselines --config {params.config_file} --set seed={wildcards.seed} --set threads={threads} "
        "--out {output} 2> {log}"
