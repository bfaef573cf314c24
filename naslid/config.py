"""The one validated configuration of naslid.

`DEFAULTS` holds every key with the paper's value and a comment; a YAML file overrides only what it
changes. Unknown keys, wrong types and out-of-range values are rejected with the dotted key named.
The resolved config is saved inside every checkpoint and result.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from naslid.errors import ConfigError

DEFAULTS: dict = {
    "name": "default",  # experiment name; results go to results/<name>/
    "seed": 0,  # seed of every random choice (data order, sampling, init)
    "device": "cpu",  # cpu | cuda; cuda on a machine without it is an error
    "threads": 2,  # torch CPU threads per job
    "data": {
        "dataset": "proxy",  # proxy | cifar10 | cifar100 | imagenet16-120
        "root": None,  # directory holding the dataset (not needed for proxy)
        "valid_split": True,  # NB201's cifar10-valid convention: train on half of train, validate on the other half
        "augment": True,  # random crop (pad 4) + horizontal flip on training batches
        "limit": None,  # use only the first `limit` images of each split (quick runs, tests); null: all
    },
    "space": {
        "name": "nb201",  # nb201 (NAS-Bench-201 cells) | proxyless (ProxylessNAS/OFA MobileNetV2 layers)
        "C": 16,  # nb201: channels of the first stage (NB201: 16)
        "N": 5,  # nb201: cells per stage (NB201: 5)
        "proxyless": {  # proxyless: the layout (naslid/spaces/proxyless/encoding.py); ProxylessNAS's ImageNet one
            "widths": [24, 40, 80, 96, 192, 320],  # output channels of each stage
            "depths": [4, 4, 4, 4, 4, 1],  # searchable layers per stage
            "strides": [2, 2, 2, 1, 2, 1],  # stride of each stage's first layer
            "kernels": [3, 5, 7],  # depthwise kernel sizes of the candidate blocks
            "expansions": [3, 6],  # expansion ratios of the candidate blocks (OFA: 3, 4, 6)
            "stem_width": 32,
            "stem_stride": 2,  # 1 for small inputs (CIFAR, the 16x16 proxy)
            "first_width": 16,  # the fixed first block (3x3, expansion 1)
            "last_width": 1280,  # the 1x1 conv before pooling
            "skip": True,  # later layers of a stage may be skipped (elastic depth)
        },
    },
    "supernet": {
        "affine": False,  # NB201 search: BatchNorm without affine parameters
        "track_running_stats": True,
        "sampling": "uniform",  # uniform (RSPS) | switch (official NAS-LID code: every edge changes op each step)
    },
    "train": {  # pretraining of the supernet (RSPS recipe of NB201)
        "epochs": 50,
        "batch_size": 64,
        "lr": 0.025,
        "lr_min": 0.001,  # cosine annealing ends here
        "momentum": 0.9,
        "nesterov": True,
        "weight_decay": 0.0005,
        "grad_clip": 5.0,  # clip gradient norm at this value, or disable if == 0
        "eval_batches": 10,  # validation batches per epoch for the metrics (0: none)
        "curriculum_epochs": 0,  # first epochs sample only the ops with weights (NB201: the convolutions),
        # then the whole space; 0: uniform over the space from the start
    },
    "finetune": {  # fine-tuning of each sub-supernet (same recipe, own length)
        "epochs": 50,
        "lr": 0.025,
        "init": "inherit",  # inherit (the parent's weights) | scratch (random initialisation of the
        # final sub-supernets, what the official NAS-LID code does for its final 16, 10 epochs)
    },
    "lid": {
        "k": 20,  # nearest neighbours of the MLE estimator
        "batches": 50,  # R batches per profile (official code: 50)
        "batch_size": 128,  # images per profiling batch (must exceed k)
        "similarity": "euclidean",  # euclidean (paper Eq. 5) | pearson (Table 5) | cosine (official code)
        "eps": 1.0e-8,  # epsilon of s = 1 / (||LID_i - LID_j|| + eps)
    },
    "gradient": {  # GM-NAS gradient profiling (split.criterion: gradient)
        "batches": 50,  # R batches; gradients summed over them per op
        "batch_size": 128,  # the same images per batch as LID profiling
    },
    "split": {
        "criterion": "lid",  # one of CRITERION_NAMES below (naslid/method/criteria.py)
        "rounds": 4,  # r rounds of two-way splits give 2^r sub-supernets (lid, lid-pearson, gradient)
        "exhaustive_rounds": 1,  # rounds of the exhaustive criterion: 5^r sub-supernets
        "balanced": True,  # groups differ in size by at most one (2 + 3 ops in NB201)
        "edge_rule": "partition-score",  # partition-score (paper) | official-code (highest cross-group similarity)
        "epochs_between_rounds": 0,  # fine-tune epochs of each sub-supernet before it is split again
    },
    "evaluate": {  # supernet-estimated accuracy of an architecture (routed to its sub-supernet)
        "batches": 4,  # fixed validation batches per estimate
        "batch_size": 250,
        "bn": "batch",  # batch (BatchNorm on each batch's statistics) | recalibrate (on training batches first)
        "recalibration_batches": 4,
    },
    "evolve": {  # the official NAS-LID code's evolution; population = mutations + crossovers + randoms
        "generations": 50,
        "parents": 10,  # the best architectures seen so far breed the next generation
        "mutations": 20,  # children that re-draw each edge to another op with mutation_prob
        "crossovers": 20,  # children that take each edge from a second parent with crossover_prob
        "randoms": 10,  # fresh uniform draws
        "mutation_prob": 0.1,
        "crossover_prob": 0.1,
        "best": 5,  # how many of the best architectures the result lists
        "within_benchmark": False,  # visit only the benchmark's architectures (for a sampled ground truth)
    },
    "benchmark": {  # the ground truth that searched architectures are looked up in
        "kind": "csv",  # csv (compact table) | nas-bench-201 (NAS-Bench-201-v1_*.pth) | nats-tss (NATS-tss-v1_0-3ffb9*)
        # | none (no ground truth: the searched architectures are trained, `naslid train-final`)
        "path": None,  # null: the shipped proxy table (naslid/data/proxy_benchmark.csv); nb201: the shipped
        # NB201 compact table (naslid/data/nb201_accuracy.csv.gz); or a file
        "reference": "nb201",  # a second compact table the results are also looked up in; nb201: the shipped
        # NB201 table (how the proxy's winners do on CIFAR/ImageNet16); null: none
    },
    "rank": {  # ranking correlation (paper Table 2)
        "percent": None,  # the best percent of the benchmark by ground truth; null: 1 for the whole
        # space (GM-NAS's protocol, the top 1 %: 157 architectures), every row of a sampled table
        "top_k": [50, 100, 150],
    },
    "workflow": {  # the Snakemake workflow (workflow/Snakefile); the stages ignore this section
        "criteria": ["lid", "lid-pearson", "gradient", "none"],  # experiments: every criterion x every seed
        "seeds": [0, 1, 2],
        "profile_jobs": "edge",  # edge: one profile job per (sub-supernet, edge), many small jobs for a cluster |
        # sub-supernet: one job profiles every edge of a sub-supernet (fewer start-ups)
        "shared_pretrain": False,  # true: the pretrained supernets live in results/pretrain/<digest of the keys
        # pretraining reads>/, shared by every experiment (name) whose keys are equal
        "container": "containers/naslid.sif",  # image for --sdm apptainer: a local .sif or a docker://... URI
        # (build it: containers/README.md); used only with --sdm apptainer
        "resources": {  # per-stage job resources, for the executor (SLURM) to map
            "train": {"threads": 4, "mem_mb": 16000, "runtime": 720, "gpu": 1},
            "profile": {"threads": 4, "mem_mb": 16000, "runtime": 120, "gpu": 1},
            "search": {"threads": 4, "mem_mb": 16000, "runtime": 240, "gpu": 1},
            "light": {"threads": 1, "mem_mb": 4000, "runtime": 30, "gpu": 0},
        },
    },
    "final": {  # `naslid train-final`: the searched architecture from scratch (paper Table 4)
        "epochs": 300,
        "batch_size": 256,
        "lr": 0.1,  # SGD, Nesterov momentum 0.9, linear warm-up then cosine to 0, per step
        "warmup": 0.02,  # fraction of steps spent warming up
        "weight_decay": 4.0e-5,
        "label_smoothing": 0.1,
        "dataset": None,  # null: the search's data.dataset; else train on this one (the paper: search on
        "root": None,  # CIFAR-10, train on ImageNet), read from this directory
        "stem_stride": None,  # proxyless: strides for the final dataset's resolution (searched on CIFAR-10 with
        "strides": None,  # CIFAR strides, trained on ImageNet with ImageNet's); null: the search's
    },
    "build_benchmark": {  # `naslid build-benchmark`: stand-alone training of sampled architectures
        "archs": 200,  # stratified sample size (one per op-count composition, then uniform; + NB201 optimum)
        "sample_seed": 0,  # seed of the sample (not of training)
        "seeds": 2,  # training seeds 0..seeds-1 per architecture
        "C": 8,  # stand-alone network width and depth (small for CPU)
        "N": 1,
        "epochs": 8,
        "batch_size": 64,
        "lr": 0.1,  # SGD, Nesterov momentum 0.9, linear warm-up then cosine to 0
        "warmup": 0.15,  # fraction of steps spent warming up
        "weight_decay": 0.0005,
        "workers": 2,  # parallel processes, one CPU thread each
    },
}

# The one list of split criteria's names: naslid/method/criteria.py registers a criterion for each
# (`none` aside, which does not split) and checks at import that the two agree.
CRITERION_NAMES = ("lid", "lid-pearson", "gradient", "exhaustive", "nonlinear-count", "random", "none")

CHOICES = {
    "device": ("cpu", "cuda"),
    "space.name": ("nb201", "proxyless"),
    "data.dataset": ("proxy", "cifar10", "cifar100", "imagenet16-120", "imagenet"),
    "supernet.sampling": ("uniform", "switch"),
    "lid.similarity": ("euclidean", "pearson", "cosine"),
    "finetune.init": ("inherit", "scratch"),
    "split.criterion": CRITERION_NAMES,
    "split.edge_rule": ("partition-score", "official-code"),
    "benchmark.kind": ("csv", "nas-bench-201", "nats-tss", "none"),
    "evaluate.bn": ("batch", "recalibrate"),
    "workflow.profile_jobs": ("edge", "sub-supernet"),
}
OPTIONAL_STR = {
    "data.root",
    "benchmark.path",
    "benchmark.reference",
    "workflow.container",
    "final.dataset",
    "final.root",
}  # keys whose default None stands for "not set"
OPTIONAL_INT = {"data.limit"}
PROXYLESS_LISTS = ("widths", "depths", "strides", "kernels", "expansions")
CHECKED_BELOW = {"rank.percent", "workflow.criteria", "workflow.seeds", "final.stem_stride", "final.strides"} | {
    f"space.proxyless.{k}" for k in PROXYLESS_LISTS
}  # keys whose rule is not a plain type (validated at the end of `validate`)
NON_NEGATIVE = {
    "train.epochs",
    "train.curriculum_epochs",
    "finetune.epochs",
    "train.weight_decay",
    "train.grad_clip",
    "train.eval_batches",
    "split.epochs_between_rounds",
    "train.momentum",
    "threads",
    "seed",
    "build_benchmark.sample_seed",
    "build_benchmark.weight_decay",
    "build_benchmark.warmup",
    "final.weight_decay",
    "final.warmup",
    "final.label_smoothing",
}
POSITIVE = {
    "final.epochs",
    "final.batch_size",
    "final.lr",
    "space.proxyless.stem_width",
    "space.proxyless.first_width",
    "space.proxyless.last_width",
    "space.C",
    "space.N",
    "train.batch_size",
    "train.lr",
    "finetune.lr",
    "lid.k",
    "lid.batches",
    "lid.batch_size",
    "lid.eps",
    "split.rounds",
    "split.exhaustive_rounds",
    "build_benchmark.archs",
    "build_benchmark.seeds",
    "build_benchmark.C",
    "build_benchmark.N",
    "build_benchmark.epochs",
    "build_benchmark.batch_size",
    "build_benchmark.lr",
    "build_benchmark.workers",
    "evaluate.batches",
    "evaluate.batch_size",
    "evolve.generations",
    "evolve.parents",
    "evolve.best",
    "gradient.batches",
    "gradient.batch_size",
    "workflow.resources.train.threads",
    "workflow.resources.profile.threads",
    "workflow.resources.search.threads",
    "workflow.resources.light.threads",
}
NON_NEGATIVE |= {
    f"workflow.resources.{group}.{key}"
    for group in ("train", "profile", "search", "light")
    for key in ("mem_mb", "runtime", "gpu")
}
NON_NEGATIVE |= {
    "evaluate.recalibration_batches",
    "evolve.mutations",
    "evolve.crossovers",
    "evolve.randoms",
    "evolve.mutation_prob",
    "evolve.crossover_prob",
}


def load_config(
    paths: str | Path | list | None = None, overrides: dict | None = None, source: str = "overrides"
) -> dict:
    """Defaults, then the YAML file(s) at `paths` in order, then `overrides`; validated."""
    config = copy.deepcopy(DEFAULTS)
    for path in [paths] if isinstance(paths, (str, Path)) else paths or []:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"config file {path} does not exist; "
                "pass --config with the path of a YAML file such as config/config.yaml"
            )
        try:
            user = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise ConfigError(
                f"config file {path} is not valid YAML{where}: "
                f"{getattr(err, 'problem', None) or str(err).splitlines()[0]}"
            ) from None
        _merge(config, user, prefix="", source=str(path))
    if overrides:
        _merge(config, overrides, prefix="", source=source)
    validate(config)
    return config


def _merge(base: dict, user: dict, prefix: str, source: str) -> None:
    if not isinstance(user, dict):
        raise ConfigError(
            f"{source}: {prefix.rstrip('.') or 'the config'} must be a mapping, got {type(user).__name__}"
        )
    for key, value in user.items():
        dotted = prefix + str(key)
        if key not in base:
            known = ", ".join(prefix + k for k in base)
            raise ConfigError(f"{source}: unknown config key '{dotted}'; known keys here: {known}")
        if isinstance(base[key], dict):
            _merge(base[key], value, dotted + ".", source)
        else:
            base[key] = value


def flat_items(config: dict, prefix: str = ""):
    """("section.key", value) for every leaf of a (nested) config."""
    for key, value in config.items():
        if isinstance(value, dict):
            yield from flat_items(value, prefix + key + ".")
        else:
            yield prefix + key, value


def validate(config: dict) -> None:
    defaults = dict(flat_items(DEFAULTS))
    for key, value in flat_items(config):
        expected = defaults[key]
        if key in CHECKED_BELOW:
            continue
        if key in OPTIONAL_STR:
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"config key '{key}' must be a path string or null, got {value!r}")
            continue
        if key in OPTIONAL_INT:
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
                raise ConfigError(f"config key '{key}' must be a positive integer or null, got {value!r}")
            continue
        if isinstance(expected, bool):
            ok = isinstance(value, bool)
        elif isinstance(expected, int):
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif isinstance(expected, float):
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, type(expected))
        if not ok:
            raise ConfigError(f"config key '{key}' must be of type {type(expected).__name__}, got {value!r}")
        if key in CHOICES and value not in CHOICES[key]:
            raise ConfigError(f"config key '{key}' must be one of {', '.join(CHOICES[key])}, got {value!r}")
        if key in NON_NEGATIVE and value < 0:
            raise ConfigError(f"config key '{key}' must be >= 0, got {value!r}")
        if key in POSITIVE and value <= 0:
            raise ConfigError(f"config key '{key}' must be > 0, got {value!r}")
    if config["lid"]["k"] >= config["lid"]["batch_size"]:
        raise ConfigError(
            f"config key 'lid.k' ({config['lid']['k']}) must be smaller than 'lid.batch_size' "
            f"({config['lid']['batch_size']}): each sample needs k other samples as neighbours"
        )
    if config["train"]["lr_min"] > config["train"]["lr"]:
        raise ConfigError("config key 'train.lr_min' must not exceed 'train.lr'")
    if config["train"]["curriculum_epochs"] > config["train"]["epochs"]:
        raise ConfigError(
            f"config key 'train.curriculum_epochs' ({config['train']['curriculum_epochs']}) must not "
            f"exceed 'train.epochs' ({config['train']['epochs']})"
        )
    for key in ("mutation_prob", "crossover_prob"):
        if config["evolve"][key] > 1:
            raise ConfigError(f"config key 'evolve.{key}' is a probability, at most 1, got {config['evolve'][key]!r}")
    if config["evolve"]["mutations"] + config["evolve"]["crossovers"] + config["evolve"]["randoms"] == 0:
        raise ConfigError(
            "config keys 'evolve.mutations', 'evolve.crossovers' and 'evolve.randoms' are all 0: "
            "the population would be empty"
        )
    criteria, seeds = config["workflow"]["criteria"], config["workflow"]["seeds"]
    if not isinstance(criteria, list) or not criteria or any(c not in CHOICES["split.criterion"] for c in criteria):
        raise ConfigError(
            f"config key 'workflow.criteria' must be a non-empty list of "
            f"{', '.join(CHOICES['split.criterion'])}; got {criteria!r}"
        )
    if (
        not isinstance(seeds, list)
        or not seeds
        or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in seeds)
    ):
        raise ConfigError(f"config key 'workflow.seeds' must be a non-empty list of integers >= 0, got {seeds!r}")
    percent, top_k = config["rank"]["percent"], config["rank"]["top_k"]
    if percent is not None and (
        isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 < percent <= 100
    ):
        raise ConfigError(f"config key 'rank.percent' must be a number in (0, 100] or null, got {percent!r}")
    if not top_k or not all(isinstance(k, int) and not isinstance(k, bool) and k > 1 for k in top_k):
        raise ConfigError(f"config key 'rank.top_k' must be a list of integers > 1, got {top_k!r}")
    _validate_proxyless(config["space"]["proxyless"])
    if config["space"]["name"] == "proxyless" and config["benchmark"]["kind"] != "none":
        raise ConfigError(
            "config key 'benchmark.kind' must be none with space.name proxyless: no benchmark tabulates "
            "this space, its searched architectures are trained from scratch (`naslid train-final`)"
        )
    if config["benchmark"]["kind"] == "none" and config["evolve"]["within_benchmark"]:
        raise ConfigError(
            "config key 'evolve.within_benchmark' needs a benchmark; set it to false with benchmark.kind none"
        )
    if config["final"]["dataset"] is not None and config["final"]["dataset"] not in CHOICES["data.dataset"]:
        raise ConfigError(
            f"config key 'final.dataset' must be null or one of {', '.join(CHOICES['data.dataset'])}, "
            f"got {config['final']['dataset']!r}"
        )
    f = config["final"]
    if (f["stem_stride"], f["strides"]) != (None, None):
        if config["space"]["name"] != "proxyless":
            raise ConfigError("config keys 'final.stem_stride' and 'final.strides' apply to space.name proxyless only")
        strides = f["strides"] if f["strides"] is not None else config["space"]["proxyless"]["strides"]
        _validate_proxyless(
            {
                **config["space"]["proxyless"],
                "strides": strides,
                "stem_stride": f["stem_stride"]
                if f["stem_stride"] is not None
                else config["space"]["proxyless"]["stem_stride"],
            }
        )
    if config["final"]["warmup"] >= 1 or config["final"]["label_smoothing"] >= 1:
        raise ConfigError("config keys 'final.warmup' and 'final.label_smoothing' are fractions, below 1")
    if config["build_benchmark"]["warmup"] >= 1:
        raise ConfigError("config key 'build_benchmark.warmup' must be a fraction of the steps, below 1")


def _validate_proxyless(p: dict) -> None:
    for key in PROXYLESS_LISTS:
        value = p[key]
        if (
            not isinstance(value, list)
            or not value
            or any(isinstance(x, bool) or not isinstance(x, int) or x < 1 for x in value)
        ):
            raise ConfigError(
                f"config key 'space.proxyless.{key}' must be a non-empty list of positive integers, got {value!r}"
            )
    if not len(p["widths"]) == len(p["depths"]) == len(p["strides"]):
        raise ConfigError(
            "config keys 'space.proxyless.widths', 'depths' and 'strides' give one value per stage and "
            f"must have the same length, got {len(p['widths'])}, {len(p['depths'])}, {len(p['strides'])}"
        )
    if any(s not in (1, 2) for s in p["strides"] + [p["stem_stride"]]):
        raise ConfigError("config keys 'space.proxyless.strides' and 'stem_stride' must be 1 or 2")
    if any(k % 2 == 0 for k in p["kernels"]):
        raise ConfigError(f"config key 'space.proxyless.kernels' must hold odd kernel sizes, got {p['kernels']!r}")
    if len(set(p["kernels"])) != len(p["kernels"]) or len(set(p["expansions"])) != len(p["expansions"]):
        raise ConfigError("config keys 'space.proxyless.kernels' and 'expansions' must not repeat a value")


def json_schema() -> dict:
    """The JSON schema of the config, derived from DEFAULTS and the rules above.

    The workflow validates its config with it (workflow/schemas/config.schema.yaml, regenerated by
    `python -m naslid.config > workflow/schemas/config.schema.yaml`; a test keeps the two equal).
    """

    def node(value, dotted: str) -> dict:
        if isinstance(value, dict):
            return {
                "type": "object",
                "additionalProperties": False,
                "properties": {k: node(v, f"{dotted}.{k}".lstrip(".")) for k, v in value.items()},
            }
        if dotted in OPTIONAL_STR:
            return {"type": ["string", "null"]}
        if dotted in OPTIONAL_INT:
            return {"type": ["integer", "null"], "exclusiveMinimum": 0}
        if dotted == "final.stem_stride":
            return {"enum": [1, 2, None]}
        if dotted == "final.strides":
            return {"type": ["array", "null"], "items": {"enum": [1, 2]}, "minItems": 1}
        if dotted == "rank.percent":
            return {"type": ["number", "null"], "exclusiveMinimum": 0, "maximum": 100}
        if isinstance(value, list):
            item = (
                {"type": "integer", "minimum": 0}
                if dotted == "workflow.seeds"
                else {"type": "integer", "minimum": 1}
                if dotted.startswith("space.proxyless.")
                else {"enum": list(CHOICES["split.criterion"])}
                if dotted == "workflow.criteria"
                else {"type": "integer", "minimum": 2}
            )
            return {"type": "array", "items": item, "minItems": 1}
        schema = {
            "type": "boolean"
            if isinstance(value, bool)
            else "integer"
            if isinstance(value, int)
            else "number"
            if isinstance(value, float)
            else "string"
        }
        if dotted in CHOICES:
            schema["enum"] = list(CHOICES[dotted])
        if dotted in NON_NEGATIVE:
            schema["minimum"] = 0
        if dotted in POSITIVE:
            schema["exclusiveMinimum"] = 0
        return schema

    schema = node(DEFAULTS, "")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["description"] = "naslid config (generated from naslid/config.py; do not edit by hand)"
    return schema


if __name__ == "__main__":
    print(yaml.safe_dump(json_schema(), sort_keys=False), end="")
