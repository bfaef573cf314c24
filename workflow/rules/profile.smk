# Profile the candidate edges of one (sub-)supernet: LID profiles, or gradients for GM-NAS.
# One job per (sub-supernet, edge), or per sub-supernet (workflow.profile_jobs); an edge split in an
# earlier round gives an empty table (or no rows).


rule profile:
    input:
        code("profile"),
        DATA_FILES,
        supernet=lambda w: checkpoint_of(w.node, w.criterion).format(**w),
    output:
        f"{EXPERIMENT}/profile/{{node}}/edge{{edge}}.csv",
    log:
        f"{EXPERIMENT}/logs/profile/{{node}}/edge{{edge}}.log",
    benchmark:
        f"{EXPERIMENT}/times/profile/{{node}}/edge{{edge}}.tsv"
    group:
        "profile"
    threads: resources("profile")["threads"]
    resources:
        mem_mb=resources("profile")["mem_mb"],
        runtime=resources("profile")["runtime"],
        gpu=resources("profile")["gpu"],
    params:
        config_file=MERGED_CONFIG,
        config=settings("profile"),
    shell:
        naslid("profile")
        + " --set threads={threads} --supernet {input.supernet} --edge {wildcards.edge} --out {output} 2> {log}"


rule profile_sub_supernet:
    input:
        code("profile"),
        DATA_FILES,
        supernet=lambda w: checkpoint_of(w.node, w.criterion).format(**w),
    output:
        f"{EXPERIMENT}/profile/{{node}}/edges.csv",
    log:
        f"{EXPERIMENT}/logs/profile/{{node}}/edges.log",
    benchmark:
        f"{EXPERIMENT}/times/profile/{{node}}/edges.tsv"
    threads: resources("profile")["threads"]
    resources:
        mem_mb=resources("profile")["mem_mb"],
        runtime=resources("profile")["runtime"],
        gpu=resources("profile")["gpu"],
    params:
        config_file=MERGED_CONFIG,
        config=settings("profile"),
    shell:
        naslid("profile")
        + " --set threads={threads} --supernet {input.supernet} --out {output} 2> {log}"
