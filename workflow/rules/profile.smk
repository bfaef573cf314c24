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
    threads: resources("profile")["threads"]
    resources:
        **job_resources("profile"),
    params:
        config_file=MERGED_CONFIG,
        config=settings("profile"),
        edges=lambda w: f"--edge {w.edge}",
    shell:
        naslid("profile")
        + " --set threads={threads} --supernet {input.supernet} {params.edges} --out {output} 2> {log}"


# Every candidate edge of a sub-supernet in one job (workflow.profile_jobs: sub-supernet).
use rule profile as profile_sub_supernet with:
    output:
        f"{EXPERIMENT}/profile/{{node}}/edges.csv",
    log:
        f"{EXPERIMENT}/logs/profile/{{node}}/edges.log",
    benchmark:
        f"{EXPERIMENT}/times/profile/{{node}}/edges.tsv"
    params:
        edges="",
