# Config validation, paths and input functions shared by every rule.
import itertools
import json
import os
from pathlib import Path

import yaml
from snakemake.utils import validate

# The merged config is checked before any job starts: first by naslid, whose one-line message names
# the key (unknown key, wrong type, out of range, missing path), then by the JSON schema, which a
# config that passes naslid's rules always passes (the schema is generated from them).
from naslid import stages as naslid_stages
from naslid.code import closure
from naslid.config import load_config
from naslid.method.criteria import (
    CRITERIA as NASLID_CRITERIA,
    split_shape,
    training_epochs,
)
from naslid.data import dataset_files
from naslid.errors import NaslidError
from naslid.io import atomic_write_text
from naslid.stages.train_final import final_data
from naslid.spaces import get_space
from naslid.spaces.ground_truth import ground_truth_of
from naslid.stages.tables import outputs as table_outputs

try:
    NASLID = load_config(None, {k: v for k, v in config.items()})
    # A criterion whose splits the DAG cannot name (too many children) stops here.
    for criterion in NASLID["workflow"]["criteria"]:
        split_shape(criterion, NASLID)
except NaslidError as err:
    raise WorkflowError(f"invalid config: {err}")
if NASLID["data"]["root"] is not None and not Path(NASLID["data"]["root"]).is_dir():
    raise WorkflowError(
        f"invalid config: data.root {NASLID['data']['root']} is not a directory; point it at the dataset"
    )
if (
    NASLID["benchmark"]["path"] not in (None, "nb201")
    and not Path(NASLID["benchmark"]["path"]).exists()
):
    raise WorkflowError(
        f"invalid config: benchmark.path {NASLID['benchmark']['path']} does not exist"
    )
validate(config, "../schemas/config.schema.yaml")

NAME = NASLID["name"]
RESULTS = f"results/{NAME}"
CRITERIA = NASLID["workflow"]["criteria"]
SEEDS = NASLID["workflow"]["seeds"]
ROUNDS = NASLID["split"]["rounds"]
SPACE = get_space(NASLID)
EDGES = range(len(SPACE.EDGES))  # candidate positions: NB201 edges, ProxylessNAS layers
TABLES, FIGURES = table_outputs(NASLID)
BENCHMARK = NASLID["benchmark"]["kind"] != "none"


def in_working_directory(path):
    """A path inside the working directory, relative to it: Snakemake records a job's inputs by name,
    so an absolute path would make a finished run copied or moved elsewhere plan its jobs again.
    """
    path = Path(path).absolute()
    return (
        str(path.relative_to(Path.cwd()))
        if path.is_relative_to(Path.cwd())
        else str(path)
    )


# The data a stage reads, as inputs: an edited dataset or ground-truth file reruns what read it.
DATA_FILES = [in_working_directory(p) for p in dataset_files(NASLID["data"])]
FINAL_DATA_FILES = [
    in_working_directory(p) for p in dataset_files(final_data(NASLID))
]  # train-final's (final.*)


def table_files(path):
    """A ground-truth table's files (a NATS-Bench folder: every file in it), found through the
    space's table reader (the shipped tables live in the package)."""
    path = ground_truth_of(NASLID).shipped_or_path(path)
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    return [in_working_directory(p) for p in files]


BENCHMARK_FILES = table_files(NASLID["benchmark"]["path"]) if BENCHMARK else []
REFERENCE_FILES = (  # read by query, which runs only with a benchmark
    table_files(NASLID["benchmark"]["reference"])
    if BENCHMARK and NASLID["benchmark"]["reference"]
    else []
)
# The stages read the config Snakemake merged (defaults, --configfile files, --config values), saved
# here at parse time, rewritten only when it changes. It is no rule's input: each rule's params hold
# the sections it reads, so a change reruns exactly the stages that read what changed.
MERGED_CONFIG = f"{RESULTS}/config.yaml"
_merged = yaml.safe_dump(NASLID, sort_keys=False)
if not Path(MERGED_CONFIG).is_file() or Path(MERGED_CONFIG).read_text() != _merged:
    atomic_write_text(MERGED_CONFIG, _merged)
EXPERIMENT = f"{RESULTS}/{{criterion}}/s{{seed}}"


def pretrained_dir():
    """Where the pretrained supernets live, and the config their jobs read (naslid.stages.pretrained_folder).
    A shared folder's config is written once: every config that names it has the same pretraining keys.
    """
    folder = naslid_stages.pretrained_folder(NASLID)
    if folder == RESULTS:
        return RESULTS, MERGED_CONFIG
    if not Path(f"{folder}/config.yaml").is_file():
        atomic_write_text(f"{folder}/config.yaml", _merged)
    return folder, f"{folder}/config.yaml"


PRETRAINED, PRETRAIN_CONFIG = pretrained_dir()
SUPERNET = (
    f"{PRETRAINED}/s{{seed}}/pretrain/supernet.pt"  # the pretrained supernet of a seed
)
# Table 1's input sizes: the dataset's own and the paper's "larger input" (double the side).
COST_SIZES = (
    "32 64" if NASLID["data"]["dataset"] in ("cifar10", "cifar100") else "16 32"
)


container: NASLID["workflow"]["container"]


wildcard_constraints:
    criterion="|".join(CRITERIA),
    seed=r"\d+",
    node=r"r[0-9]*",
    edge=r"\d+",


def naslid(stage):
    """The command of one stage: the merged config, plus this experiment's criterion and seed."""
    return (
        f"naslid {stage} --config {{params.config_file}} --set seed={{wildcards.seed}}"
        " --set split.criterion={wildcards.criterion}"
    )


def settings(stage):
    """The values of the config keys a stage declares it reads (naslid/stages), with its experiment's
    criterion's section where the stage reads that: the rule's params, so a change reruns exactly
    the stages that read what changed."""
    declared = naslid_stages.get(stage)
    return lambda wildcards: json.dumps(
        declared.settings(NASLID, getattr(wildcards, "criterion", None)), sort_keys=True
    )


def resources(group):
    return NASLID["workflow"]["resources"][group]


def job_resources(group):
    """A stage's resources (workflow.resources[group]), with the SLURM partition and cores per GPU
    that follow from its GPU count, so no list of rule names is kept anywhere. A job that
    asks for a GPU goes to $NASLID_SLURM_GPU_PARTITION (default gpu) with $NASLID_SLURM_CPUS_PER_GPU
    cores per GPU (default 4), the others to $NASLID_SLURM_PARTITION (default cpu). The variables
    are the SLURM profile's (workflow/profiles/slurm/config.yaml); other executors ignore both keys.
    """
    wanted = resources(group)
    on_gpu = wanted["gpu"] > 0
    partition = (
        os.environ.get("NASLID_SLURM_GPU_PARTITION", "gpu")
        if on_gpu
        else os.environ.get("NASLID_SLURM_PARTITION", "cpu")
    )
    per_gpu = (
        {"cpus_per_gpu": int(os.environ.get("NASLID_SLURM_CPUS_PER_GPU", "4"))}
        if on_gpu
        else {}
    )
    return {
        "mem_mb": wanted["mem_mb"],
        "runtime": wanted["runtime"],
        "gpu": wanted["gpu"],
        "slurm_partition": partition,
        **per_gpu,
    }


def code(stage):
    """The naslid files a stage runs, as inputs: the import closure of its module and of the CLI that
    calls it (naslid/code.py), so editing any module it may import reruns it."""
    return closure(naslid_stages.module_name(stage), "naslid.cli")


# ---- sub-supernets: ids are paths of child indices; file names prefix them with r ----


def rounds_of(criterion):
    """How many rounds of splits a criterion makes (none: 0)."""
    return split_shape(criterion, NASLID)[0]


def measures(criterion):
    """Whether a criterion profiles edges (profile jobs before each split)."""
    return criterion in NASLID_CRITERIA and NASLID_CRITERIA[criterion].measures


def nodes_at(criterion, k):
    """The sub-supernets after k rounds: the criterion's number of children per split, k times."""
    children = [str(i) for i in range(split_shape(criterion, NASLID)[1])]
    return ["".join(("r", *p)) for p in itertools.product(children, repeat=k)]


def final_nodes(criterion):
    """The sub-supernets searched (the supernet itself for none)."""
    return nodes_at(criterion, rounds_of(criterion))


def checkpoint_of(node, criterion):
    """The checkpoint of a (sub-)supernet of the experiment in the wildcards."""
    if node == "r":
        return SUPERNET
    if len(node) - 1 == rounds_of(criterion):
        return f"{EXPERIMENT}/final/{node}.pt"
    return f"{EXPERIMENT}/supernets/{node}.pt"


def profile_files(node):
    """The profile tables of one sub-supernet: one per edge, or one for every edge
    (workflow.profile_jobs); both match the `profile/<node>/edge*.csv` that `naslid tables` reads.
    """
    if NASLID["workflow"]["profile_jobs"] == "sub-supernet":
        return [f"{EXPERIMENT}/profile/{node}/edges.csv"]
    return [f"{EXPERIMENT}/profile/{node}/edge{e}.csv" for e in EDGES]


def profiles_of(wildcards):
    """The profiles a split reads (none for a criterion that measures nothing)."""
    if not measures(wildcards.criterion):
        return []
    return [path.format(**wildcards) for path in profile_files(wildcards.node)]


def final_checkpoints(wildcards):
    return [
        p.format(**wildcards)
        for p in (
            f"{EXPERIMENT}/final/{n}.pt" for n in final_nodes(wildcards.criterion)
        )
    ]


def none_epochs():
    """Budget parity: the one-shot baseline gets every epoch the split criteria spend on sub-supernets."""
    return training_epochs("none", NASLID)["fine-tune"]


def final_sub_supernets():
    return [
        f"{RESULTS}/{criterion}/s{seed}/final/{node}.pt"
        for criterion in CRITERIA
        for seed in SEEDS
        for node in final_nodes(criterion)
    ]


def experiments(path):
    return expand(path, criterion=CRITERIA, seed=SEEDS)


def tables_outputs():
    tables = [
        f"{RESULTS}/tables/table{t}.{ext}"
        for t in TABLES
        for ext in ("md", "csv", "tex")
    ]
    figures = [f"{RESULTS}/figures/{f}.png" for f in FIGURES]
    return tables + figures


def tables_inputs(wildcards):
    if BENCHMARK:
        inputs = experiments(f"{EXPERIMENT}/rank.json") + experiments(
            f"{EXPERIMENT}/query.json"
        )
        inputs += expand(f"{RESULTS}/s{{seed}}/baselines.json", seed=SEEDS)
    else:
        inputs = experiments(f"{EXPERIMENT}/trained.json")
    inputs += experiments(f"{EXPERIMENT}/evolve.json")
    for criterion in CRITERIA:
        if criterion != "none":
            inputs += expand(
                f"{RESULTS}/{{criterion}}/s{{seed}}/split/r.json",
                criterion=criterion,
                seed=SEEDS,
            )
        if measures(criterion):
            inputs += [
                path.format(criterion=criterion, seed=seed)
                for seed in SEEDS
                for path in profile_files("r")
            ]
    return inputs + [f"{RESULTS}/cost.json"] + code("tables")


def parent_inputs(wildcards):
    parent = wildcards.node[:-1]
    return {
        "parent": checkpoint_of(parent, wildcards.criterion).format(**wildcards),
        "split": (f"{EXPERIMENT}/split/{parent}.json").format(**wildcards),
    }


FINETUNE = (
    " --set threads={threads} --parent {input.parent} --split {input.split}"
    " --child {params.child} --epochs {params.epochs} --out {output.supernet} --metrics {output.metrics} 2> {log}"
)
