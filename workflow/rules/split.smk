# Split a (sub-)supernet: min-cut on the criterion's similarities and edge by partition score, or one child per op (exhaustive).


rule split:
    input:
        code("split"),
        supernet=lambda w: checkpoint_of(w.node, w.criterion).format(**w),
        profiles=profiles_of,
    output:
        f"{EXPERIMENT}/split/{{node}}.json",
    log:
        f"{EXPERIMENT}/logs/split/{{node}}.log",
    benchmark:
        f"{EXPERIMENT}/times/split/{{node}}.tsv"
    threads: resources("light")["threads"]
    resources:
        **job_resources("light"),
    params:
        config_file=MERGED_CONFIG,
        config=settings("split"),
    shell:
        naslid("split")
        + " --supernet {input.supernet} --profiles {input.profiles} --out {output} 2> {log}"
