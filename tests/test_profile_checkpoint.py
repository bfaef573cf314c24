"""A profile job's resume file (`naslid.method.profile.Checkpoint`): a finished edge is kept as its
table, not its state, and a large state is written only while writing stays a small share of the
time, at once on SIGTERM. At ProxylessNAS's shape, gradient matching's state is 777 MiB an edge: the
paper check found the file at 7.7 GB after ten of 21 edges, rewritten after every batch group."""

import os
import signal

import pandas as pd
import pytest
import torch

from naslid.config import load_config
from naslid.method.profile import Checkpoint
from naslid.runtime import preempt

STATE_MB = 40


def large_state() -> dict[int, torch.Tensor]:
    """Five ops' summed gradients, 40 MB: writing it takes tens of milliseconds."""
    return {o: torch.zeros(STATE_MB * 2**20 // 8 // 5, dtype=torch.float64) for o in range(5)}


def checkpoint(tmp_path) -> Checkpoint:
    supernet = tmp_path / "supernet.pt"
    if not supernet.exists():
        supernet.write_bytes(b"the supernet's weights")  # the fingerprint reads the file
    return Checkpoint(tmp_path / "profile.csv.resume", load_config(None), supernet)


def saved(tmp_path) -> dict:
    return torch.load(tmp_path / "profile.csv.resume", weights_only=False)["state"]


def test_a_finished_edge_is_kept_as_its_table_not_its_state(tmp_path):
    table = pd.DataFrame({"id": [""], "edge": ["1<-0"], "op_i": ["none"], "op_j": ["skip"], "similarity": [0.5]})
    first = checkpoint(tmp_path)
    first.save(0, 4, large_state())
    assert (tmp_path / "profile.csv.resume").stat().st_size > STATE_MB * 2**20
    first.edge_done(0, table)
    state = saved(tmp_path)
    assert state["edges"] == {} and list(state["finished"]) == [0]
    assert (tmp_path / "profile.csv.resume").stat().st_size < 2**20  # the table, not 40 MB of gradient sums

    again = checkpoint(tmp_path)  # the job restarted
    assert again.table(0).equals(table) and again.table(1) is None


def test_a_large_state_is_written_while_writing_is_a_small_share_of_the_time_and_at_once_on_sigterm(
    tmp_path, monkeypatch
):
    profile = checkpoint(tmp_path)
    writes = []
    write = profile.file.save
    monkeypatch.setattr(profile.file, "save", lambda state: (writes.append(1), write(state)))
    state = large_state()
    for batch in range(1, 51):  # batch groups that take no time: writing would be all of it
        profile.save(0, batch, state)
    assert 1 <= len(writes) <= 5, len(writes)

    previous = signal.getsignal(signal.SIGTERM)
    try:
        preempt.install()
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(preempt.Preempted):
            profile.save(0, 51, state)
    finally:
        preempt.install()  # clears the request this test made
        signal.signal(signal.SIGTERM, previous)
    assert saved(tmp_path)["edges"][0][0] == 51  # written before stopping: a rerun resumes at batch 52
