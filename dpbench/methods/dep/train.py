"""Train DEP's module against a frozen LLM: AdamW, linear warmup/decay, gradient accumulation and
clipping, seeded batch order, per-step loss log + plot, checkpoint selection on val CE, and resume
from checkpoints/last after a kill (safetensors + JSON, never a pickle: see checkpoint.py). Under
torchrun/accelerate (WORLD_SIZE > 1) the module is wrapped in DistributedDataParallel (gloo on CPU,
nccl on GPU); rank 0 alone writes logs and checkpoints.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from dpbench.errors import DpbenchError
from dpbench.methods.dep.batches import DepItem, LossWeights, batch_loss, collate_train
from dpbench.methods.dep.checkpoint import load_legacy, load_state, save_state
from dpbench.methods.dep.model import DepModule, load_into, load_weights, save_module
from dpbench.methods.dep.precision import dtype_name, resolve_dtype
from dpbench.methods.dep.prefix import PrefixCache

LOG_FILE = "train_log.jsonl"
PLOT_FILE = "train_loss.png"
TRAINER_STEM = "trainer"  # trainer.json (plain data) + trainer.safetensors (optimizer moments)
TRAINER_JSON = TRAINER_STEM + ".json"
LEGACY_TRAINER_FILE = "trainer.pt"  # dpbench 0.1 (a pickle): read tensors-only, never written
DONE_FILE = "DONE"


@dataclass(frozen=True)
class TrainSettings:
    epochs: float = 1.0
    lr: float = 1e-3
    batch_size: int = 4
    grad_accum: int = 1
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    weight_decay: float = 0.01
    eval_every_steps: int = 0  # 0 = once per epoch
    save_every_steps: int = 0  # 0 = about 20 saves per run
    seed: int = 42
    weights: LossWeights = field(default_factory=LossWeights)
    max_steps: int | None = None  # stop early (tests, benchmarks)
    dtype: str = "auto"  # the frozen LLM's precision: auto (bf16 where native) | float32 | bfloat16
    prefix_cache: bool = True  # reuse the shared prompt prefix's keys/values (prefix.py)


@dataclass
class TrainResult:
    steps: int
    best_val_ce: float | None
    best_dir: Path
    last_dir: Path
    log_path: Path
    wall_s: float
    dtype: str = "float32"  # what the LLM computed in (settings.dtype resolved on this device)


def dist_info() -> tuple[int, int]:
    """(rank, world size); initializes the process group when launched by torchrun/accelerate."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def _barrier(world: int) -> None:
    if world > 1:
        import torch.distributed as dist

        dist.barrier()


def rank_batches(n: int, batch_size: int, rank: int, world: int, seed: int, epoch: int) -> list[list[int]]:
    """This rank's micro-batches of one epoch: a seeded permutation cut into global batches of
    batch_size*world, each rank taking its own slice (the same on every rank, every resume)."""
    perm = np.random.default_rng(seed + epoch).permutation(n).tolist()
    g = batch_size * world
    out = []
    for start in range(0, n, g):
        chunk = perm[start: start + g]
        mine = chunk[rank * batch_size: (rank + 1) * batch_size] or chunk[:batch_size]
        out.append(mine)
    return out


def lr_factor(step: int, total: int, warmup: int) -> float:
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


@torch.no_grad()
def evaluate_loss(module, llm, items: list[DepItem], pad_id: int, placeholder_ids: list[int],
                  weights: LossWeights, batch_size: int, device, *, dtype: str = "auto",
                  prefix_cache: bool | PrefixCache = True) -> dict[str, float]:
    """Token-weighted CE and example-weighted recon/KL/total over `items`.

    dtype as TrainSettings.dtype (compare CEs measured at the same precision); prefix_cache: True
    builds one from `items`, or pass the trainer's."""
    was_training = module.training
    module.eval()
    prefix = PrefixCache.from_items(items, placeholder_ids) if prefix_cache is True else (prefix_cache or None)
    tot = {"ce": 0.0, "recon": 0.0, "kl": 0.0, "loss": 0.0}
    n_tok = n_ex = 0
    for i in range(0, len(items), batch_size):
        chunk = items[i: i + batch_size]
        _, parts = batch_loss(module, llm, collate_train(chunk, pad_id, placeholder_ids, device),
                              placeholder_ids, weights, dtype=dtype, prefix=prefix)
        tot["ce"] += parts["ce"] * parts["n_tokens"]
        n_tok += parts["n_tokens"]
        for k in ("recon", "kl", "loss"):
            tot[k] += parts[k] * len(chunk)
        n_ex += len(chunk)
    module.train(was_training)
    return {"ce": tot["ce"] / max(1, n_tok), "recon": tot["recon"] / max(1, n_ex),
            "kl": tot["kl"] / max(1, n_ex), "loss": tot["loss"] / max(1, n_ex), "n_tokens": n_tok}


def plot_log(log_path: Path, out_png: Path) -> None:
    """The loss plot; skipped where matplotlib is not installed (a bare GPU image): the log stays."""
    try:
        import matplotlib
    except ImportError:
        return

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    tr = [r for r in rows if r.get("kind") == "train"]
    va = [r for r in rows if r.get("kind") == "val"]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if tr:
        ax.plot([r["step"] for r in tr], [r["ce"] for r in tr], label="train CE", lw=1)
        ax.plot([r["step"] for r in tr], [r["loss"] for r in tr], label="train total", lw=1, alpha=0.6)
    if va:
        ax.plot([r["step"] for r in va], [r["ce"] for r in va], "o-", label="val CE")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)


def _save_last(out_dir: Path, module: DepModule, opt, sched, step: int, best: float | None) -> None:
    """out_dir/last = module + trainer state of one step. Written into a fresh folder that then
    replaces `last`, so a kill never leaves weights of one step beside optimizer moments of another."""
    last, old = out_dir / "last", out_dir / "last.old"
    tmp = out_dir / f"last.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    save_module(module, tmp, {"step": step})
    state = {"optimizer": opt.state_dict(), "scheduler": sched.state_dict(), "step": step, "best_val_ce": best}
    save_state(tmp, TRAINER_STEM, state)
    if last.exists():
        shutil.rmtree(old, ignore_errors=True)
        last.rename(old)
    tmp.rename(last)
    shutil.rmtree(old, ignore_errors=True)


def resume_dir(out_dir: Path) -> Path | None:
    """The checkpoint to resume from: last, or last.old when a kill fell between the two renames."""
    for d in (out_dir / "last", out_dir / "last.old"):
        if (d / TRAINER_JSON).exists() or (d / LEGACY_TRAINER_FILE).exists():
            return d
    return None


def load_trainer_state(ckpt: Path) -> dict:
    """trainer.json + trainer.safetensors, or a dpbench 0.1 trainer.pt through the tensors-only
    loader (its optimizer and LambdaLR states hold only tensors, numbers and lists)."""
    if (ckpt / TRAINER_JSON).exists():
        state = load_state(ckpt, TRAINER_STEM)
        path = ckpt / TRAINER_JSON
    else:
        path = ckpt / LEGACY_TRAINER_FILE
        state = load_legacy(path)
    if not (isinstance(state, dict) and {"optimizer", "scheduler", "step", "best_val_ce"} <= set(state)
            and isinstance(state["step"], int) and isinstance(state["optimizer"], dict)
            and isinstance(state["scheduler"], dict)):
        raise DpbenchError(f"refusing to load {path}: not a DEP trainer state")
    return state


def _restore(ckpt: Path, module: DepModule, opt, sched) -> tuple[int, float | None]:
    state = load_trainer_state(ckpt)
    load_into(module, load_weights(ckpt), ckpt)
    try:
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
    except (KeyError, ValueError, TypeError, RuntimeError) as e:
        raise DpbenchError(f"{ckpt}: the optimizer state does not fit this run ({e}); delete {ckpt.parent} "
                           "to retrain from scratch") from None
    best = state["best_val_ce"]
    return int(state["step"]), (float(best) if best is not None else None)


def truncate_log(path: Path, step: int) -> None:
    """Drop log rows past the resumed step (written after the last checkpoint, before a kill)."""
    if not path.exists():
        return
    rows = [line for line in path.read_text().splitlines() if line.strip()]
    keep = [line for line in rows if json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in keep))


def _append_log(path: Path, row: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def train_dep(module: DepModule, llm, train_items: list[DepItem], val_items: list[DepItem], pad_id: int,
              placeholder_ids: list[int], settings: TrainSettings, out_dir: Path, log_dir: Path,
              device, on_step: Callable[[int, int, dict], None] | None = None) -> TrainResult:
    """Train in place; checkpoints go to out_dir/{last,best}, the log and plot to log_dir.

    Resumes from out_dir/last when it exists (the same batches follow, since the batch order
    depends only on the seed and the epoch)."""
    t0 = time.time()
    rank, world = dist_info()
    out_dir, log_dir = Path(out_dir), Path(log_dir)
    log_path = log_dir / LOG_FILE
    if rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
    module.to(device).train()
    model = module
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)
    opt = torch.optim.AdamW(module.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    micro_per_epoch = math.ceil(len(train_items) / (settings.batch_size * world))
    steps_per_epoch = max(1, math.ceil(micro_per_epoch / settings.grad_accum))
    total = max(1, math.ceil(settings.epochs * steps_per_epoch))
    if settings.max_steps is not None:
        total = min(total, settings.max_steps)
    warmup = int(settings.warmup_ratio * total)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, total, warmup))
    eval_every = settings.eval_every_steps or steps_per_epoch
    compute = dtype_name(resolve_dtype(settings.dtype, device, llm))
    prefix = PrefixCache.from_items(train_items + val_items, placeholder_ids) if settings.prefix_cache else None
    save_every = settings.save_every_steps or max(1, total // 20)

    step, best = 0, None
    ckpt = resume_dir(out_dir)
    if ckpt is not None:
        step, best = _restore(ckpt, module, opt, sched)
        if rank == 0:
            truncate_log(log_path, step)

    def run_eval() -> None:
        nonlocal best
        if not val_items or rank != 0:
            return
        v = evaluate_loss(module, llm, val_items, pad_id, placeholder_ids, settings.weights,
                          settings.batch_size, device, dtype=settings.dtype, prefix_cache=prefix or False)
        _append_log(log_path, {"kind": "val", "step": step, **v})
        if best is None or v["ce"] < best:
            best = v["ce"]
            save_module(module, out_dir / "best", {"step": step, "val": v, "dtype": compute})

    micro_done = step * settings.grad_accum
    epoch = micro_done // max(1, micro_per_epoch)
    while step < total:
        batches = rank_batches(len(train_items), settings.batch_size, rank, world, settings.seed, epoch)
        skip = micro_done - epoch * micro_per_epoch
        accum, parts_acc = 0, []
        for idx in batches[skip:]:
            batch = collate_train([train_items[i] for i in idx], pad_id, placeholder_ids, device)
            loss, parts = batch_loss(model, llm, batch, placeholder_ids, settings.weights, dtype=settings.dtype,
                                     prefix=prefix)
            (loss / settings.grad_accum).backward()
            parts_acc.append(parts)
            accum += 1
            micro_done += 1
            if accum < settings.grad_accum and micro_done % micro_per_epoch != 0:
                continue
            gnorm = float(torch.nn.utils.clip_grad_norm_(module.parameters(), settings.max_grad_norm))
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            row = {k: float(np.mean([p[k] for p in parts_acc])) for k in ("loss", "ce", "recon", "kl")}
            row.update(kind="train", step=step, epoch=epoch, lr=sched.get_last_lr()[0], grad_norm=gnorm,
                       t=round(time.time() - t0, 3))
            accum, parts_acc = 0, []
            if rank == 0:
                _append_log(log_path, row)
                if on_step:
                    on_step(step, total, row)
                if step % eval_every == 0 or step == total:
                    run_eval()
                if step % save_every == 0 or step == total:
                    _save_last(out_dir, module, opt, sched, step, best)
            if step >= total:
                break
        epoch += 1
    wall = time.time() - t0  # the training's own time, recorded for a later run that reloads it
    if rank == 0:
        if not (out_dir / "best").exists():
            save_module(module, out_dir / "best", {"step": step, "val": None})
        (out_dir / DONE_FILE).write_text(json.dumps({"steps": step, "best_val_ce": best, "dtype": compute,
                                                     "wall_s": round(wall, 1)}))
        plot_log(log_path, log_dir / PLOT_FILE)
    _barrier(world)
    return TrainResult(step, best, out_dir / "best", out_dir / "last", log_path, wall, compute)
