# Evolutionary search over the space, each architecture scored by the sub-supernet that holds it.


# With a benchmark, rank's estimates of the same sub-supernets are lent to the search (the same
# computation, done once): on a sampled table every candidate is ranked, so the search evaluates none.
rule evolve:
    input:
        code("evolve"),
        DATA_FILES,
        BENCHMARK_FILES,
        supernets=final_checkpoints,
        estimates=[f"{EXPERIMENT}/rank.json"] if BENCHMARK else [],
    output:
        f"{EXPERIMENT}/evolve.json",
    log:
        f"{EXPERIMENT}/logs/evolve.log",
    benchmark:
        f"{EXPERIMENT}/times/evolve.tsv"
    threads: resources("search")["threads"]
    resources:
        **job_resources("search"),
    params:
        config_file=MERGED_CONFIG,
        config=settings("evolve"),
        estimates=lambda w, input: (
            f" --estimates {input.estimates}" if input.estimates else ""
        ),
    shell:
        naslid("evolve")
        + " --set threads={threads} --supernets {input.supernets}{params.estimates} --out {output} 2> {log}"
