"""Supernet training throughput (images/s: forward + backward + SGD step, one sampled path per step)
of naslid's NB201 supernet vs the NB201 authors' RSPS supernet (xautodl's `RANDOM` search model),
same C, N, batch, input size and ops, measured alternately in this process.

    pip install --no-deps xautodl==1.0.0     # its pinned old numpy does not build on Python 3.11
    python benchmarks/train_throughput.py [--C 16 --N 5 --batch 64 --size 32 --steps 40 --rounds 5 --device cpu]
"""

from __future__ import annotations

import argparse
import random
import time

import torch

from _record import record
from naslid.spaces.nb201.encoding import OPS
from naslid.spaces.nb201.network import Supernet


def xautodl_supernet(C, N, num_classes):
    from xautodl.models import get_cell_based_tiny_net

    return get_cell_based_tiny_net(
        {
            "name": "RANDOM",
            "C": C,
            "N": N,
            "max_nodes": 4,
            "num_classes": num_classes,
            "space": list(OPS),
            "affine": False,
            "track_running_stats": True,
        }
    )


def steps_per_second(model, step, batches, device, steps) -> float:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.025, momentum=0.9, nesterov=True, weight_decay=5e-4)
    model.train()
    for i in range(3):  # warm-up (allocator, kernels)
        step(model, optimizer, *batches[i % len(batches)])
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(steps):
        step(model, optimizer, *batches[i % len(batches)])
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def naslid_step(generator):
    def step(model, optimizer, images, labels):
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(model(images, model.sample_arch(generator)), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5)
        optimizer.step()

    return step


def xautodl_step(model, optimizer, images, labels):
    optimizer.zero_grad(set_to_none=True)
    model.random_genotype(True)
    _, logits = model(images)
    torch.nn.functional.cross_entropy(logits, labels).backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5)
    optimizer.step()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--C", type=int, default=16)
    p.add_argument("--N", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--rounds", type=int, default=5, help="alternate the two models this many times; medians are kept")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = p.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    random.seed(0)
    batches = [
        (
            torch.randn(args.batch, 3, args.size, args.size, device=device),
            torch.randint(0, 10, (args.batch,), device=device),
        )
        for _ in range(4)
    ]
    ours, theirs = Supernet(args.C, args.N, 10).to(device), xautodl_supernet(args.C, args.N, 10).to(device)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters()), (
        "not the same supernet"
    )
    generator = torch.Generator().manual_seed(0)
    rates = {"naslid": [], "xautodl": []}
    for _ in range(args.rounds):
        rates["naslid"].append(steps_per_second(ours, naslid_step(generator), batches, device, args.steps) * args.batch)
        rates["xautodl"].append(steps_per_second(theirs, xautodl_step, batches, device, args.steps) * args.batch)
    median = {k: sorted(v)[len(v) // 2] for k, v in rates.items()}
    ratio = median["naslid"] / median["xautodl"]
    print(
        f"| supernet | images/s ({device.type}, C={args.C}, N={args.N}, batch {args.batch}, {args.size}px) |\n|---|---|"
    )
    for k in rates:
        print(f"| {k} | {median[k]:.1f} |")
    print(f"ratio naslid / xautodl: {ratio:.3f}")
    key = f"train_throughput_ratio_{'gpu' if device.type == 'cuda' else 'cpu'}"
    goal = 2.0 if device.type == "cuda" else 1.3
    record(
        f"train_throughput_{device.type}",
        {"args": vars(args), "images_per_second": rates, "median": median, "ratio": ratio},
        {key: (round(ratio, 3), goal, "x (images/s ratio, naslid / xautodl RSPS)")},
    )


if __name__ == "__main__":
    main()
