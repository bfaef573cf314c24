# Fine-tune the sub-supernets, each inheriting its parent's weights; parallel jobs.


# The final sub-supernets, fine-tuned for finetune.epochs: the ones the search evaluates.
rule finetune:
    input:
        code("finetune"),
        DATA_FILES,
        unpack(parent_inputs),
    output:
        supernet=f"{EXPERIMENT}/final/{{node}}.pt",
        metrics=f"{EXPERIMENT}/final/{{node}}.json",
    log:
        f"{EXPERIMENT}/logs/finetune/{{node}}.log",
    benchmark:
        f"{EXPERIMENT}/times/finetune/{{node}}.tsv"
    threads: resources("train")["threads"]
    resources:
        **job_resources("train"),
    params:
        config_file=MERGED_CONFIG,
        config=settings("finetune"),
        child=lambda w: w.node[-1],
        epochs=NASLID["finetune"]["epochs"],
    shell:
        naslid("finetune") + FINETUNE


# Between rounds: the child a later round splits (inherited weights, epochs_between_rounds more),
# kept only until its own children are trained.
use rule finetune as finetune_between with:
    output:
        supernet=temp(f"{EXPERIMENT}/supernets/{{node}}.pt"),
        metrics=f"{EXPERIMENT}/supernets/{{node}}.json",
    params:
        epochs=NASLID["split"]["epochs_between_rounds"],


# The one-shot baseline (criterion none): the supernet trained on for the same total budget.
rule finetune_none:
    input:
        code("finetune"),
        DATA_FILES,
        parent=SUPERNET,
    output:
        supernet=f"{RESULTS}/none/s{{seed}}/final/r.pt",
        metrics=f"{RESULTS}/none/s{{seed}}/final/r.json",
    log:
        f"{RESULTS}/none/s{{seed}}/logs/finetune/r.log",
    benchmark:
        f"{RESULTS}/none/s{{seed}}/times/finetune/r.tsv"
    threads: resources("train")["threads"]
    resources:
        **job_resources("train"),
    params:
        config_file=MERGED_CONFIG,
        config=settings("finetune"),
        epochs=none_epochs(),
    shell:
        "naslid finetune --config {params.config_file} --set seed={wildcards.seed} --set split.criterion=none"
        " --set threads={threads} --parent {input.parent} --epochs {params.epochs}"
        " --out {output.supernet} --metrics {output.metrics} 2> {log}"
