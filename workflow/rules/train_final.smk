# Train the search's best architecture from scratch (benchmark.kind: none; paper Table 4).


rule train_final:
    input:
        code("train-final"),
        FINAL_DATA_FILES,
        evolve=f"{EXPERIMENT}/evolve.json",
    output:
        weights=f"{EXPERIMENT}/trained.pt",
        result=f"{EXPERIMENT}/trained.json",
    log:
        f"{EXPERIMENT}/logs/train_final.log",
    benchmark:
        f"{EXPERIMENT}/times/train_final.tsv"
    threads: resources("train")["threads"]
    resources:
        **job_resources("train"),
    params:
        config_file=MERGED_CONFIG,
        config=settings("train-final"),
    shell:
        naslid("train-final")
        + " --set threads={threads} --evolve {input.evolve} --out {output.weights} --metrics {output.result} 2> {log}"
