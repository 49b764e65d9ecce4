"""Launched by test_ddp.py under torchrun (2 CPU processes, gloo): trains DEP with DDP and writes
each rank's parameter checksum, so the test can check the ranks stayed in sync."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from dpbench.methods.dep.model import (
    DepModule,
    DepModuleConfig,
    add_placeholder_tokens,
    freeze,
)
from dpbench.methods.dep.train import TrainSettings, dist_info, train_dep
from tests.dep.helpers import (
    make_tiny_benchmark,
    make_tiny_llm,
    make_tokenizer,
    tiny_items,
)


def main(out: Path) -> None:
    rank, world = dist_info()
    data = out / "data"
    if rank == 0:
        make_tiny_benchmark(data, n_users=6, n_targets=6)
    torch.distributed.barrier()
    tok = make_tokenizer()
    ph = add_placeholder_tokens(tok, 4)
    llm = make_tiny_llm(len(tok) - len(ph))
    freeze(llm)
    train = tiny_items(data, tok, "train", n_slots=4)
    val = tiny_items(data, tok, "val", n_slots=4)
    torch.manual_seed(0)
    module = DepModule(DepModuleConfig(dim=16, hidden=32, n_slots=4))
    res = train_dep(module, llm, train, val, tok.pad_token_id, ph, TrainSettings(epochs=1, lr=1e-2, batch_size=2),
                    out / "ck", out, torch.device("cpu"))
    flat = torch.cat([p.detach().reshape(-1) for p in module.parameters()])
    (out / f"rank{rank}.json").write_text(json.dumps({"world": world, "steps": res.steps,
                                                      "sum": float(flat.double().sum()),
                                                      "abs": float(flat.double().abs().sum())}))
    torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
