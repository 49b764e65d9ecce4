"""`dpbench run --method dep`: train DEP's module (unless --checkpoint), then generate for a split.

Same run directory contract as the prompt methods (manifest.json, example_ids.txt, predictions.jsonl
appended per example and resumed by id), plus checkpoints/{last,best} (the trainable module and its
config only), train_log.jsonl and train_loss.png. Under torchrun every rank trains; rank 0 alone
writes the run directory and generates.
"""

from __future__ import annotations

import time
from pathlib import Path

from dpbench.errors import DpbenchError
from dpbench.run_config import RunConfig


def _say(console, msg: str) -> None:
    if console is not None:
        console.print(msg, highlight=False, markup=False)


def data_name(data: Path) -> str:
    p = Path(data)
    return p.parent.name if p.suffix == ".duckdb" else p.name


def resolve_device(cfg: RunConfig):
    import os

    import torch

    if cfg.device:
        return torch.device(cfg.device)
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def run_key(cfg: RunConfig) -> dict:
    r = cfg.recipe
    return {"recipe": r.hash(), "model": cfg.model, "embedder": cfg.embedder or r.dep.embedder,
            "ablate": cfg.ablate, "checkpoint": str(cfg.checkpoint) if cfg.checkpoint else None,
            "epochs": cfg.epochs, "limit": cfg.limit, "shard": cfg.shard}


def build_items(con, ids: list[str], tokenizer, embedder, cfg: RunConfig, with_targets: bool, progress=False):
    """DepItems (prompt ids, slot vectors, target ids) for these example ids."""
    from dpbench.data.examples import load_examples
    from dpbench.methods.dep.batches import DepItem, encode_target
    from dpbench.methods.dep.inputs import build_all_inputs
    from dpbench.methods.dep.prompts import encode_prompt

    dr, gen = cfg.recipe.dep, cfg.recipe.generation
    examples = load_examples(con, ids, with_peers=True, max_peers_per_item=dr.max_peers_per_item)
    inputs = build_all_inputs(examples, embedder, dr.n_slots, dr.peer_temperature, cfg.ablate, progress)
    items = []
    for ex, inp in zip(examples, inputs):
        prompt = encode_prompt(tokenizer, ex, inp, dr.n_slots, dr.max_prompt_tokens, gen.max_description_chars)
        target = encode_target(tokenizer, ex.reference, dr.max_target_tokens) if with_targets else []
        items.append(DepItem(prompt, inp, target))
    return items


def _start_manifest(run, cfg: RunConfig, con, ids: list[str], n_all: int, seed: int):
    from dpbench.data.examples import benchmark_fingerprint
    from dpbench.runs import git_revision, now_iso, package_versions
    from dpbench.schema import RunSpec

    g = cfg.recipe.generation
    if run.manifest_path.exists():
        spec = run.read_manifest()
        if spec.method != "dep":
            raise DpbenchError(f"{run.path} holds a {spec.method!r} run; choose another --run-id or --out")
        spec.status = "running"
        return spec
    spec = RunSpec(
        run_id=run.path.name, method="dep", model=cfg.model, backend="transformers", split=cfg.split,
        data_path=str(cfg.data), benchmark_fingerprint=benchmark_fingerprint(con), recipe=cfg.recipe.to_dict(),
        recipe_hash=cfg.recipe.hash(),
        sampling={"temperature": g.temperature, "top_p": g.top_p, "max_tokens": g.max_tokens, "seed": g.seed},
        seed=seed, limit=cfg.limit, shard=cfg.shard, n_expected=len(ids), n_expected_all=n_all,
        backend_args={"embedder": cfg.embedder or cfg.recipe.dep.embedder, "ablate": cfg.ablate,
                      "checkpoint": str(cfg.checkpoint) if cfg.checkpoint else None,
                      "epochs": cfg.epochs or cfg.recipe.dep.epochs, "device": cfg.device},
        versions=package_versions(), git_revision=git_revision(), created_at=now_iso(),
    )
    run.write_example_ids(ids)
    return spec


def train_settings(cfg: RunConfig):
    from dpbench.methods.dep.batches import LossWeights
    from dpbench.methods.dep.train import TrainSettings

    d = cfg.recipe.dep
    return TrainSettings(
        epochs=cfg.epochs or d.epochs, lr=d.lr, batch_size=d.batch_size, grad_accum=d.grad_accum,
        warmup_ratio=d.warmup_ratio, max_grad_norm=d.max_grad_norm, weight_decay=d.weight_decay,
        eval_every_steps=d.eval_every_steps, seed=cfg.recipe.generation.seed,
        weights=LossWeights(d.recon_weight, d.kl_weight),
    )


def obtain_module(cfg: RunConfig, con, llm, tok, embedder, ph_ids, run_path: Path, device, console):
    """The module to generate with: loaded from --checkpoint, or trained (resuming) into the run dir."""
    import torch

    from dpbench.data.examples import select_example_ids
    from dpbench.methods.dep.model import DepModule, DepModuleConfig, load_module
    from dpbench.methods.dep.train import DONE_FILE, train_dep

    dr = cfg.recipe.dep
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    if cfg.checkpoint is not None:
        ckpt = Path(cfg.checkpoint)
        if (ckpt / "best").is_dir():
            ckpt = ckpt / "best"
        if not (ckpt / "dep_config.json").exists():
            raise DpbenchError(f"--checkpoint {cfg.checkpoint}: no dep_config.json there; pass a run's "
                               "checkpoints/ (or checkpoints/best) folder written by `dpbench run --method dep`")
        module, meta = load_module(ckpt, str(device))
        m = meta["module"]
        if m["hidden"] != llm.config.hidden_size or m["n_slots"] != dr.n_slots:
            raise DpbenchError(f"{ckpt}: trained for hidden size {m['hidden']} and {m['n_slots']} slots, but "
                               f"--model {cfg.model} has {llm.config.hidden_size} and the recipe {dr.n_slots}")
        return module, None
    ckpt_dir = run_path / "checkpoints"
    if (ckpt_dir / DONE_FILE).exists():
        _say(console, f"training already finished; loading {ckpt_dir / 'best'}")
        return load_module(ckpt_dir / "best", str(device))[0], None
    train_ids = select_example_ids(con, "train", dr.max_train_examples)
    val_ids = select_example_ids(con, "val", dr.max_val_examples)
    _say(console, f"DEP: preparing {len(train_ids)} train and {len(val_ids)} val examples")
    train_items = build_items(con, train_ids, tok, embedder, cfg, True, progress=console is not None)
    val_items = build_items(con, val_ids, tok, embedder, cfg, True)
    dim = int(train_items[0].inputs.his.shape[1]) if train_items else embedder.dim
    torch.manual_seed(cfg.recipe.generation.seed)
    module = DepModule(DepModuleConfig(dim=dim, hidden=llm.config.hidden_size, n_slots=dr.n_slots, rho=dr.sae_rho))

    def on_step(step, total, row):
        if step == 1 or step % 10 == 0 or step == total:
            _say(console, f"  step {step}/{total}  loss {row['loss']:.3f}  ce {row['ce']:.3f}  ({row['t']:.0f}s)")

    res = train_dep(module, llm, train_items, val_items, pad_id, ph_ids, train_settings(cfg), ckpt_dir,
                    run_path, device, on_step)
    _say(console, f"DEP: trained {res.steps} steps in {res.wall_s:.0f}s; best val CE {res.best_val_ce}")
    return load_module(res.best_dir, str(device))[0], res


def run_dep(cfg: RunConfig, console=None) -> Path:
    """Train (or load) DEP, then generate predictions for cfg.split. Returns the run directory."""
    import torch

    from dpbench.data.examples import connect, parse_shard, select_example_ids
    from dpbench.embed import Embedder
    from dpbench.methods.dep.model import add_placeholder_tokens, freeze
    from dpbench.methods.dep.train import dist_info
    from dpbench.models import load_causal_lm
    from dpbench.runs import RunDir, default_run_id, open_run

    if cfg.ablate not in ("none", "diff", "his", "both"):
        raise DpbenchError(f"--ablate must be none, diff, his or both (got {cfg.ablate!r})")
    rank, _ = dist_info()
    con = connect(cfg.data)
    ids = select_example_ids(con, cfg.split, cfg.limit, parse_shard(cfg.shard))
    n_all = len(select_example_ids(con, cfg.split, cfg.limit))
    run_id = cfg.run_id or default_run_id("dep", cfg.model, cfg.split, data_name(cfg.data), run_key(cfg))
    run_path = Path(cfg.out) / run_id
    seed = cfg.recipe.generation.seed
    if rank == 0:
        run, done = open_run(run_path)
        spec = _start_manifest(run, cfg, con, ids, n_all, seed)
        run.write_manifest(spec)
    else:
        run, done = RunDir(run_path), set()
    device = resolve_device(cfg)
    torch.manual_seed(seed)
    llm, tok = load_causal_lm(cfg.model, device=str(device))
    freeze(llm)
    ph_ids = add_placeholder_tokens(tok, cfg.recipe.dep.n_slots)
    embedder = Embedder(cfg.embedder or cfg.recipe.dep.embedder)
    module, res = obtain_module(cfg, con, llm, tok, embedder, ph_ids, run_path, device, console)
    if rank != 0:
        return run_path
    if res is not None:
        spec.dep = {"train_steps": res.steps, "best_val_ce": res.best_val_ce, "train_wall_s": round(res.wall_s, 1)}
    elif cfg.checkpoint is not None:
        spec.dep = {"checkpoint": str(cfg.checkpoint), "val": evaluate_val(cfg, con, module, llm, tok, embedder, ph_ids, device)}
    run.write_manifest(spec)
    generate_all(cfg, con, run, spec, [i for i in ids if i not in done], module, llm, tok, embedder, ph_ids,
                 device, console)
    return run_path


def evaluate_val(cfg: RunConfig, con, module, llm, tok, embedder, ph_ids, device) -> dict:
    """Val loss of a loaded checkpoint under this run's ablation (the ablation evidence)."""
    from dpbench.data.examples import select_example_ids
    from dpbench.methods.dep.train import evaluate_loss

    dr = cfg.recipe.dep
    items = build_items(con, select_example_ids(con, "val", dr.max_val_examples), tok, embedder, cfg, True)
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    return evaluate_loss(module, llm, items, pad_id, ph_ids, train_settings(cfg).weights, dr.batch_size, device)


def generate_all(cfg: RunConfig, con, run, spec, todo: list[str], module, llm, tok, embedder, ph_ids, device,
                 console) -> None:
    """Generate in batches, appending one PredictionRecord per example as each batch finishes."""
    from dpbench.llm.base import Sampling
    from dpbench.methods.cleanup import clean_output
    from dpbench.methods.dep.generate import generate_batch
    from dpbench.schema import PredictionRecord, Usage

    g, dr = cfg.recipe.generation, cfg.recipe.dep
    settings = Sampling(g.temperature, g.top_p, g.max_tokens, g.seed)
    ckpt = str(cfg.checkpoint) if cfg.checkpoint else str(run.path / "checkpoints" / "best")
    bs = dr.gen_batch_size
    _say(console, f"DEP: generating {len(todo)} examples ({cfg.split}) in batches of {bs}")
    for start in range(0, len(todo), bs):
        chunk = todo[start: start + bs]
        items = build_items(con, chunk, tok, embedder, cfg, False)
        t0 = time.time()
        try:
            outs = generate_batch(module, llm, tok, items, ph_ids, settings, device)
            err = None
        except (RuntimeError, ValueError) as e:  # e.g. out of memory: recorded, the run goes on
            outs, err = [None] * len(items), f"{type(e).__name__}: {e}"
        dt = (time.time() - t0) / max(1, len(items))
        for it, o in zip(items, outs):
            usage = Usage(prompt_tokens=len(it.prompt.prompt_ids), completion_tokens=o.completion_tokens if o else 0,
                          requests=1)
            trace = {**it.inputs.trace(), "prompt_truncated": it.prompt.truncated, "checkpoint": ckpt,
                     "ablate": cfg.ablate, "batch_size": len(items)}
            rec = PredictionRecord(example_id=it.prompt.example_id, prediction=clean_output(o.text) if o else "",
                                   raw=o.text if o else "", error=err, usage=usage, latency_s=round(dt, 3),
                                   prompt_hash=it.prompt.prompt_hash, attempts=1, trace=trace)
            run.append(rec)
            spec.usage = spec.usage.add(usage)
            spec.n_done += 1
            spec.n_errors += err is not None
        run.write_manifest(spec)
        _say(console, f"  {min(start + bs, len(todo))}/{len(todo)} generated ({dt:.1f}s/example)")
    done = run.done_ids()
    spec.n_done = len(done)
    spec.status = "complete" if len(done) >= spec.n_expected else "incomplete"
    run.write_manifest(spec)
