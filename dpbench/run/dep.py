"""`dpbench run --method dep`: train DEP's module (unless --checkpoint), then generate for a split.

The run directory is the same store as every other method's (run/store.py: lock, same-run check,
failed examples retried, final status), plus checkpoints/{last,best} (the trainable module and its
config only), train_log.jsonl and train_loss.png.

Under torchrun/accelerate every rank trains (DistributedDataParallel keeps their parameters equal;
each rank prints its parameter checksum), and rank 0 alone opens the run directory and generates.
Rank 0's verdict on the run directory (refused, locked, nothing left to do) is broadcast first, so
all ranks stop together instead of one waiting forever at a collective.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.run.config import RunConfig
from dpbench.run.plan import RunPlan, plan_run
from dpbench.run.progress import Ticker
from dpbench.run.store import RunStore
from dpbench.schema import DepSummary, PredictionRecord, Usage


def say(console, msg: str) -> None:
    if console is not None:
        console.print(msg, highlight=False, markup=False, soft_wrap=True)


def resolve_device(cfg: RunConfig):
    import os

    import torch

    if cfg.device:
        return torch.device(cfg.device)
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def dep_prompt_hash() -> str:
    from dpbench.methods.dep import prompts

    return hashlib.sha256(Path(prompts.__file__).read_bytes()).hexdigest()[:16]


def plan_dep_run(cfg: RunConfig) -> RunPlan:
    from dpbench.models import describe_model_file

    method_args = {"ablate": cfg.ablate, "checkpoint": str(cfg.checkpoint) if cfg.checkpoint else None}
    if cfg.dtype is not None:
        method_args["dtype"] = cfg.weights_dtype()
    return plan_run(cfg, backend="transformers", prompt_hash=dep_prompt_hash(), method_args=method_args,
                    method_settings={"dep": cfg.recipe.dep.model_dump()}, backend_args={"device": cfg.device},
                    model_file=describe_model_file(cfg.model, "transformers", cfg.weights_dtype()))


def build_items(con, ids: list[str], tokenizer, embedder, cfg: RunConfig, with_targets: bool, progress=False,
                ablate: str | None = None):
    """DepItems (prompt ids, slot vectors, target ids) for these example ids."""
    from dpbench.data.examples import load_examples
    from dpbench.methods.dep.batches import DepItem, encode_target
    from dpbench.methods.dep.inputs import build_all_inputs
    from dpbench.methods.dep.prompts import encode_prompt

    dr, gen = cfg.recipe.dep, cfg.recipe.generation
    examples = load_examples(con, ids, with_peers=True, max_peers_per_item=dr.max_peers_per_item)
    inputs = build_all_inputs(examples, embedder, dr.n_slots, dr.peer_temperature, ablate or cfg.ablate, progress)
    items = []
    for ex, inp in zip(examples, inputs):
        prompt = encode_prompt(tokenizer, ex, inp, dr.n_slots, dr.max_prompt_tokens, gen.max_description_chars)
        target = encode_target(tokenizer, ex.reference, dr.max_target_tokens) if with_targets else []
        items.append(DepItem(prompt, inp, target))
    return items


def train_settings(cfg: RunConfig):
    from dpbench.methods.dep.batches import LossWeights
    from dpbench.methods.dep.train import TrainSettings

    d = cfg.recipe.dep
    return TrainSettings(
        epochs=d.epochs, lr=d.lr, batch_size=d.batch_size, grad_accum=d.grad_accum,
        warmup_ratio=d.warmup_ratio, max_grad_norm=d.max_grad_norm, weight_decay=d.weight_decay,
        eval_every_steps=d.eval_every_steps, seed=cfg.recipe.generation.seed,
        weights=LossWeights(d.recon_weight, d.kl_weight), dtype=d.dtype,
    )


def param_checksum(module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def broadcast_from_rank0(value, world: int):
    """rank 0's `value` on every rank (itself when not distributed)."""
    if world <= 1:
        return value
    import torch.distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


class DepSession:
    """What generation needs once the module exists: the frozen LLM, tokenizer, embedder, placeholders."""

    def __init__(self, cfg: RunConfig, console):
        import torch

        from dpbench.embed import Embedder
        from dpbench.methods.dep.model import add_placeholder_tokens, freeze
        from dpbench.models import load_causal_lm

        self.cfg, self.console = cfg, console
        self.device = resolve_device(cfg)
        torch.manual_seed(cfg.recipe.generation.seed)
        self.llm, self.tok = load_causal_lm(cfg.model, device=str(self.device), dtype=cfg.weights_dtype())
        freeze(self.llm)
        self.ph_ids = add_placeholder_tokens(self.tok, cfg.recipe.dep.n_slots)
        self.embedder = Embedder(cfg.embedder, device=cfg.device)
        self.pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else self.tok.eos_token_id

    def items(self, con, ids, with_targets: bool, progress=False, ablate: str | None = None):
        return build_items(con, ids, self.tok, self.embedder, self.cfg, with_targets, progress, ablate)


def load_checkpoint(cfg: RunConfig, s: DepSession):
    from dpbench.methods.dep.model import load_module

    ckpt = Path(cfg.checkpoint)
    if (ckpt / "best").is_dir():
        ckpt = ckpt / "best"
    if not (ckpt / "dep_config.json").exists():
        raise DpbenchError(f"--checkpoint {cfg.checkpoint}: no dep_config.json there; pass a run's "
                           "checkpoints/ (or checkpoints/best) folder written by `dpbench run --method dep`")
    module, meta = load_module(ckpt, str(s.device))
    m = meta["module"]
    if m["hidden"] != s.llm.config.hidden_size or m["n_slots"] != cfg.recipe.dep.n_slots:
        raise DpbenchError(f"{ckpt}: trained for hidden size {m['hidden']} and {m['n_slots']} slots, but "
                           f"--model {cfg.model} has {s.llm.config.hidden_size} and the recipe {cfg.recipe.dep.n_slots}")
    return module


def train_module(cfg: RunConfig, s: DepSession, con, ckpt_dir: Path, log_dir: Path, ablate: str, label: str):
    """Train a module (resuming from ckpt_dir/last) and return (best module, TrainResult or None when
    training had already finished)."""
    import torch

    from dpbench.data.examples import select_example_ids
    from dpbench.methods.dep.model import DepModule, DepModuleConfig, load_module
    from dpbench.methods.dep.train import DONE_FILE, train_dep

    dr = cfg.recipe.dep
    if (ckpt_dir / DONE_FILE).exists():
        say(s.console, f"{label}: training already finished; loading {ckpt_dir / 'best'}")
        import json

        done = json.loads((ckpt_dir / DONE_FILE).read_text())
        return load_module(ckpt_dir / "best", str(s.device))[0], FinishedTraining(
            done.get("steps", 0), done.get("best_val_ce"), done.get("wall_s", 0.0), done.get("dtype"))
    train_ids = select_example_ids(con, "train", dr.max_train_examples)
    val_ids = select_example_ids(con, "val", dr.max_val_examples)
    say(s.console, f"{label}: preparing {len(train_ids)} train and {len(val_ids)} val examples")
    train_items = s.items(con, train_ids, True, progress=s.console is not None, ablate=ablate)
    val_items = s.items(con, val_ids, True, ablate=ablate)
    dim = int(train_items[0].inputs.his.shape[1]) if train_items else s.embedder.dim
    torch.manual_seed(cfg.recipe.generation.seed)
    module = DepModule(DepModuleConfig(dim=dim, hidden=s.llm.config.hidden_size, n_slots=dr.n_slots, rho=dr.sae_rho))
    ticker: list[Ticker] = []

    def on_step(step, total, row):
        if not ticker:  # the first step of this session: its time counts in the rate
            ticker.append(Ticker(s.console, f"{label} steps", total, done=step - 1, elapsed_s=row["t"]).__enter__())
            ticker[0].start_done = step - 1
        ticker[0].advance(1, f"loss {row['loss']:.3f}  ce {row['ce']:.3f}")

    try:
        res = train_dep(module, s.llm, train_items, val_items, s.pad_id, s.ph_ids, train_settings(cfg), ckpt_dir,
                        log_dir, s.device, on_step)
    finally:
        if ticker:
            ticker[0].__exit__(None, None, None)
    say(s.console, f"{label}: trained {res.steps} steps in {res.wall_s:.0f}s; best val CE {res.best_val_ce}")
    return load_module(res.best_dir, str(s.device))[0], res


@dataclass
class FinishedTraining:
    """What an earlier (resumed or finished) training recorded in its DONE file."""

    steps: int
    best_val_ce: float | None
    wall_s: float
    dtype: str | None


def evaluate_val(cfg: RunConfig, s: DepSession, con, module, ablate: str | None = None) -> dict:
    """Val losses of a module under an ablation (the eval-zero control, and loaded checkpoints)."""
    from dpbench.data.examples import select_example_ids
    from dpbench.methods.dep.train import evaluate_loss

    dr = cfg.recipe.dep
    items = s.items(con, select_example_ids(con, "val", dr.max_val_examples), True, ablate=ablate)
    return evaluate_loss(module, s.llm, items, s.pad_id, s.ph_ids, train_settings(cfg).weights, dr.batch_size,
                         s.device, dtype=dr.dtype)


def obtain_module(cfg: RunConfig, s: DepSession, con, run_path: Path) -> tuple[object, DepSummary]:
    """The module to generate with (loaded from --checkpoint, or trained into the run dir), what its
    training measured, and the recipe's control: the same module trained with the user vectors zeroed
    (`trained-zero`, the honest control), or the trained module evaluated with them zeroed (`eval-zero`)."""
    from dpbench.methods.dep.train import dist_info

    _, world = dist_info()
    if cfg.checkpoint is not None:
        module = load_checkpoint(cfg, s)
        val = evaluate_val(cfg, s, con, module)
        return module, DepSummary(checkpoint=str(cfg.checkpoint), val=val, best_val_ce=val.get("ce"))
    module, res = train_module(cfg, s, con, run_path / "checkpoints", run_path, cfg.ablate, "DEP")
    summary = DepSummary(train_steps=res.steps, train_wall_s=round(res.wall_s, 1), best_val_ce=res.best_val_ce,
                         world_size=world, dtype=res.dtype)
    control = cfg.recipe.dep.control
    if control == "trained-zero" and cfg.ablate != "both":
        _, ctl = train_module(cfg, s, con, run_path / "control" / "checkpoints", run_path / "control", "both",
                              "DEP control (user vectors zeroed)")
        summary.control, summary.control_val_ce, summary.control_train_steps = control, ctl.best_val_ce, ctl.steps
    elif control == "eval-zero":
        summary.control, summary.control_val_ce = control, evaluate_val(cfg, s, con, module, ablate="both")["ce"]
    if summary.control_val_ce is not None and summary.best_val_ce is not None:
        gain = summary.control_val_ce - summary.best_val_ce
        say(s.console, f"DEP val CE {summary.best_val_ce:.4f} vs {summary.control_val_ce:.4f} for the control "
                       f"({control}): the user vectors {'lower' if gain > 0 else 'do not lower'} it by {gain:+.4f} nats")
    return module, summary


def run_dep(cfg: RunConfig, console=None) -> Path | None:
    """Train (or load) DEP, then generate predictions for cfg.split. Returns the run directory on rank 0
    and None on the other ranks of a distributed launch (they only train)."""
    from dpbench.data.examples import connect
    from dpbench.methods.dep.train import dist_info

    rank, world = dist_info()
    plan = plan_dep_run(cfg)
    store: RunStore | None = None
    verdict: str | None = None
    todo: list[str] = []
    if rank == 0:
        try:
            store = RunStore.open(plan.run_dir, wait=cfg.wait)
            todo = store.begin(plan.spec, plan.example_ids)
        except DpbenchError as e:
            if store is not None:
                store.close()
            verdict = str(e)
    verdict, n_todo = broadcast_from_rank0((verdict, len(todo)), world)
    if verdict is not None:
        raise DpbenchError(verdict if rank == 0 else f"rank {rank}: rank 0 refused the run: {verdict}")
    session_usage = Usage()
    aborted: BaseException | None = None
    try:
        if n_todo == 0:
            return store.path if store is not None else None
        con = connect(cfg.data)
        try:
            s = DepSession(cfg, console if rank == 0 else None)
            module, summary = obtain_module(cfg, s, con, plan.run_dir)
            summary.param_checksum = param_checksum(module)
            if world > 1 and console is not None:
                console.print(f"rank {rank}/{world}: trained module parameters sha256 {summary.param_checksum}",
                              highlight=False, markup=False)
            if rank != 0:
                return None
            store.spec.dep = summary
            store.write_manifest()
            session_usage = generate_all(cfg, s, con, store, todo, module)
        finally:
            con.close()
    except BaseException as e:
        aborted = e
        raise
    finally:
        if store is not None:
            store.finish(session_usage, aborted)
    return store.path


def generate_all(cfg: RunConfig, s: DepSession, con, store: RunStore, todo: list[str], module) -> Usage:
    """Generate in batches, appending one PredictionRecord per example as each batch finishes."""
    from dpbench.llm.base import sampling_from_recipe
    from dpbench.llm.redact import redact
    from dpbench.methods.cleanup import clean_output
    from dpbench.methods.dep.generate import generate_batch

    settings = sampling_from_recipe(cfg.recipe.generation)
    ckpt = str(cfg.checkpoint) if cfg.checkpoint else str(store.path / "checkpoints" / "best")
    bs = cfg.recipe.dep.gen_batch_size
    usage = Usage()
    with Ticker(s.console, f"DEP generate ({cfg.split})", len(todo)) as ticker:
        for start in range(0, len(todo), bs):
            items = s.items(con, todo[start: start + bs], False)
            t0 = time.time()
            try:
                outs = generate_batch(module, s.llm, s.tok, items, s.ph_ids, settings, s.device,
                                      dtype=cfg.recipe.dep.dtype)
                err = None
            except (RuntimeError, ValueError) as e:  # e.g. out of memory: recorded, a rerun retries them
                outs, err = [None] * len(items), redact(f"{type(e).__name__}: {e}")
            dt = (time.time() - t0) / max(1, len(items))
            for it, o in zip(items, outs):
                ex_usage = Usage(prompt_tokens=len(it.prompt.prompt_ids),
                                 completion_tokens=o.completion_tokens if o else 0, requests=1,
                                 failed_calls=int(o is None))
                trace = {**it.inputs.trace(), "prompt_truncated": it.prompt.truncated, "checkpoint": ckpt,
                         "ablate": cfg.ablate, "batch_size": len(items)}
                finish = None if o is None else ("length" if o.completion_tokens >= settings.max_tokens else "stop")
                store.append(PredictionRecord(
                    example_id=it.prompt.example_id, prediction=clean_output(o.text) if o else "",
                    raw=o.text if o else "", error=err, usage=ex_usage, latency_s=round(dt, 3),
                    prompt_hash=it.prompt.prompt_hash, attempts=1, finish_reason=finish, trace=trace))
                usage = usage.add(ex_usage)
            store.heartbeat(usage)
            ticker.advance(len(items), f"{dt:.1f}s/example")
    return usage
