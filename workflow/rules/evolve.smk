# Evolutionary search over the space, each architecture scored by the sub-supernet that holds it.


rule evolve:
    input:
        code("evolve", "evaluate"),
        supernets=final_checkpoints,
    output:
        f"{EXPERIMENT}/evolve.json",
    log:
        f"{EXPERIMENT}/logs/evolve.log",
    benchmark:
        f"{EXPERIMENT}/benchmarks/evolve.tsv"
    threads: resources("search")["threads"]
    resources:
        mem_mb=resources("search")["mem_mb"],
        runtime=resources("search")["runtime"],
        gpu=resources("search")["gpu"],
    params:
        config_file=MERGED_CONFIG,
        config=sections("evolve", "evaluate", "data", "device"),
    shell:
        naslid("evolve")
        + " --set threads={threads} --supernets {input.supernets} --out {output} 2> {log}"
