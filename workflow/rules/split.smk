# Split a (sub-)supernet in two: min-cut on the criterion's similarities, edge by partition score.


rule split:
    input:
        code("split", "criteria"),
        supernet=lambda w: checkpoint_of(w.node).format(**w),
        profiles=lambda w: [
            (f"{EXPERIMENT}/profile/{w.node}/edge{e}.csv").format(**w)
            for e in range(6)
        ],
    output:
        f"{EXPERIMENT}/split/{{node}}.json",
    log:
        f"{EXPERIMENT}/logs/split/{{node}}.log",
    benchmark:
        f"{EXPERIMENT}/benchmarks/split/{{node}}.tsv"
    threads: 1
    resources:
        mem_mb=resources("light")["mem_mb"],
        runtime=resources("light")["runtime"],
    params:
        config_file=MERGED_CONFIG,
        config=sections("split", "lid"),
    shell:
        naslid("split")
        + " --supernet {input.supernet} --profiles {input.profiles} --out {output} 2> {log}"
