"""naslid's SGD and schedules are torch.optim's arithmetic, bit for bit on CPU, without its start-up cost."""

import math
import subprocess
import sys

import pytest
import torch

from naslid.runtime.sgd import SGD, CosinePerEpoch, WarmupCosine


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3), torch.nn.Linear(3, 3))


def _train(model, optimizer, scheduler, per_step: bool, steps: int = 24, epoch_every: int = 4, start: int = 0):
    """Steps `start`..`steps - 1` on seeded batches (a resumed run sees the batches an uninterrupted one
    sees after `start`); the last layer is skipped every third step (no gradient: an op the sampled
    path did not use), as RSPS does. Returns the learning rates used."""
    generator = torch.Generator().manual_seed(1)
    lrs = []
    for step in range(steps):
        x, y = torch.randn(5, 6, generator=generator), torch.randint(0, 3, (5,), generator=generator)
        if step < start:
            continue
        optimizer.zero_grad()
        hidden = model[2](model[1](model[0](x)))
        logits = hidden if step % 3 == 0 else model[3](hidden)
        torch.nn.functional.cross_entropy(logits, y).backward()
        optimizer.step()
        lrs.append(optimizer.param_groups[0]["lr"])
        if per_step or (step + 1) % epoch_every == 0:
            scheduler.step()
    return lrs


@pytest.mark.parametrize("momentum, nesterov, weight_decay", [(0.9, True, 5e-4), (0.9, False, 0.0), (0.0, False, 1e-3)])
def test_sgd_with_the_per_epoch_cosine_is_torchs_bit_for_bit(momentum, nesterov, weight_decay):
    ours, theirs = _model(0), _model(0)
    settings = {"lr": 0.1, "momentum": momentum, "nesterov": nesterov, "weight_decay": weight_decay}
    optimizer = SGD(ours.parameters(), **settings)
    reference = torch.optim.SGD(theirs.parameters(), **settings)
    our_lrs = _train(ours, optimizer, CosinePerEpoch(optimizer, t_max=5, eta_min=0.001), per_step=False)
    their_lrs = _train(
        theirs, reference, torch.optim.lr_scheduler.CosineAnnealingLR(reference, T_max=5, eta_min=0.001), per_step=False
    )
    assert our_lrs == their_lrs  # the same floats, past the end of the cosine too (24 steps, 6 epochs > 5)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)


def test_warmup_cosine_is_torchs_lambda_schedule_bit_for_bit():
    ours, theirs = _model(2), _model(2)
    optimizer = SGD(ours.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    reference = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    first, steps = 3, 20

    def factor(t):
        return (t + 1) / first if t < first else 0.5 * (1 + math.cos(math.pi * (t - first) / (steps - first)))

    our_lrs = _train(ours, optimizer, WarmupCosine(optimizer, steps, first / steps), per_step=True, steps=steps)
    their_lrs = _train(
        theirs, reference, torch.optim.lr_scheduler.LambdaLR(reference, factor), per_step=True, steps=steps
    )
    assert our_lrs == their_lrs
    assert all(torch.equal(a, b) for a, b in zip(ours.parameters(), theirs.parameters()))


def test_a_run_resumed_from_the_state_dicts_equals_an_uninterrupted_one():
    whole, resumed = _model(3), _model(3)
    optimizer = SGD(whole.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    _train(whole, optimizer, CosinePerEpoch(optimizer, 6, 0.0), per_step=False, steps=24)

    first = SGD(resumed.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    schedule = CosinePerEpoch(first, 6, 0.0)
    _train(resumed, first, schedule, per_step=False, steps=12)
    saved = {"optimizer": first.state_dict(), "schedule": schedule.state_dict(), "model": resumed.state_dict()}
    again = _model(99)
    again.load_state_dict(saved["model"])
    second = SGD(again.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    second.load_state_dict(saved["optimizer"])
    later = CosinePerEpoch(second, 6, 0.0)
    later.load_state_dict(saved["schedule"])
    _train(again, second, later, per_step=False, steps=24, start=12)
    assert all(torch.equal(a, b) for a, b in zip(whole.parameters(), again.parameters()))


def test_a_pretraining_job_imports_no_torch_dynamo(tmp_path):
    """torch.optim's optimisers import torch._dynamo on first use (about 2 s at the start of every
    training job); naslid's training must not. One epoch of `naslid pretrain` on the tiny config."""
    config = tmp_path / "c.yaml"
    config.write_text(
        "space: {C: 4, N: 1}\ndata: {limit: 64, augment: false}\n"
        "train: {epochs: 1, batch_size: 32, eval_batches: 1}\nthreads: 1\n"
    )
    script = (
        "import sys\nfrom naslid.cli import main\n"
        f"code = main(['pretrain', '--config', '{config}', '--out', '{tmp_path}/s.pt',"
        f" '--metrics', '{tmp_path}/m.json'])\n"
        "assert code == 0\nprint('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False", "torch._dynamo was imported by a pretraining job"
