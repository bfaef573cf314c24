# Look the search's best architectures up in the benchmark (and the reference table).


rule query:
    input:
        code("query"),
        BENCHMARK_FILES,
        REFERENCE_FILES,
        evolve=f"{EXPERIMENT}/evolve.json",
    output:
        f"{EXPERIMENT}/query.json",
    log:
        f"{EXPERIMENT}/logs/query.log",
    benchmark:
        f"{EXPERIMENT}/times/query.tsv"
    threads: resources("light")["threads"]
    resources:
        **job_resources("light"),
    params:
        config_file=MERGED_CONFIG,
        config=settings("query"),
    shell:
        naslid("query") + " --evolve {input.evolve} --out {output} 2> {log}"
