"""DEP speed and memory (not a test): train steps/s and peak RSS at the quickstart's lengths (fp32,
fp32 + shared-prefix cache and bf16 + prefix cache side by side, with their CE agreement), val CE
after the same few steps trained in fp32 and in bf16, generation tokens/s batched vs one example at
a time, and embedding throughput with and without the cache.

    .venv/bin/python benchmarks/dep.py --data data/sample [--recipe quickstart] [--device cpu] [--json out.json]
    .venv/bin/python benchmarks/dep.py --section train --steps 4      # one section, printed as JSON
    .venv/bin/python benchmarks/dep.py --ablation-run outputs/RUN_ID   # val loss: trained vs zeroed embeddings

Each section runs in its own process so its peak RSS is its own. Prompts and texts come from the
benchmark (real lengths); the training batch is padded to the recipe's full max_prompt_tokens +
max_target_tokens, the quickstart's worst case.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_llm(args, n_slots: int):
    from dpbench.methods.dep.model import add_placeholder_tokens, freeze
    from dpbench.models import load_causal_lm

    llm, tok = load_causal_lm(args.model, device=args.device)
    freeze(llm)
    return llm, tok, add_placeholder_tokens(tok, n_slots)


def real_items(args, recipe, tok, n: int, split: str = "test"):
    from dpbench.data.examples import connect, select_example_ids
    from dpbench.embed import Embedder
    from dpbench.run.config import RunConfig
    from dpbench.run.dep import build_items

    cfg = RunConfig(method="dep", data=Path(args.data), recipe=recipe)
    con = connect(args.data)
    return build_items(con, select_example_ids(con, split, n), tok, Embedder(recipe.dep.embedder), cfg, True)


TRAIN_VARIANTS = {  # name: (TrainSettings.dtype, prefix cache)
    "fp32": ("float32", False),  # dpbench 0.1's step
    "fp32+prefix": ("float32", True),
    "bf16": ("bfloat16", False),
    "bf16+prefix": ("bfloat16", True),
}


def _worst_case_items(recipe, tok, base):
    """Every prompt/target padded to the recipe's maximum: the worst-case step."""
    from dpbench.methods.dep.batches import DepItem
    from dpbench.methods.dep.prompts import EncodedPrompt

    d = recipe.dep
    items = []
    for it in base:
        p = it.prompt.prompt_ids + [tok.eos_token_id] * (d.max_prompt_tokens - len(it.prompt.prompt_ids))
        t = (it.target_ids * d.max_target_tokens)[: d.max_target_tokens]
        items.append(DepItem(EncodedPrompt(it.prompt.example_id, p, it.prompt.slot_mask, False, ""), it.inputs, t))
    return items


def _grads(module, llm, batch, ph, weights, dtype, prefix):
    """(CE, the module's flattened gradient) of one batch."""
    import torch

    from dpbench.methods.dep.batches import batch_loss

    module.zero_grad()
    loss, parts = batch_loss(module, llm, batch, ph, weights, dtype=dtype, prefix=prefix)
    loss.backward()
    g = torch.cat([p.grad.flatten() for p in module.parameters() if p.grad is not None])
    module.zero_grad()
    return parts["ce"], g


def bench_train(args, recipe) -> dict:
    """Step time of each TRAIN_VARIANTS entry on one fixed worst-case batch, the variants taking
    turns step by step so a busy shared machine slows them alike; min (the least disturbed step) and
    median both reported, speed-ups from the min. Precision: each variant's CE and gradient against
    fp32's, from the same initial module, on the real (unpadded) batch."""
    import statistics

    import torch

    from dpbench.methods.dep.batches import LossWeights, batch_loss, collate_train
    from dpbench.methods.dep.model import DepModule, DepModuleConfig
    from dpbench.methods.dep.precision import bf16_supported
    from dpbench.methods.dep.prefix import PrefixCache

    d = recipe.dep
    llm, tok, ph = load_llm(args, d.n_slots)
    real = real_items(args, recipe, tok, d.batch_size, "train")
    items = _worst_case_items(recipe, tok, real)
    batch = collate_train(items, tok.pad_token_id, ph, args.device)
    weights = LossWeights(d.recon_weight, d.kl_weight)
    prefix = PrefixCache.from_items(items, ph)
    runs = {}
    for name, (dtype, use_prefix) in TRAIN_VARIANTS.items():
        torch.manual_seed(0)
        module = DepModule(DepModuleConfig(items[0].inputs.his.shape[1], llm.config.hidden_size, d.n_slots))
        module.to(args.device)
        runs[name] = {"module": module, "opt": torch.optim.AdamW(module.parameters(), lr=d.lr), "dtype": dtype,
                      "prefix": prefix if use_prefix else None, "wall": [], "cpu": []}
    for i in range(args.steps + 1):
        for r in runs.values():
            t0, c0 = time.perf_counter(), time.process_time()
            loss, _ = batch_loss(r["module"], llm, batch, ph, weights, dtype=r["dtype"], prefix=r["prefix"])
            loss.backward()
            r["opt"].step()
            r["opt"].zero_grad()
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            if i:  # the first step warms up allocators, kernels and the prefix cache
                r["wall"].append(time.perf_counter() - t0)
                r["cpu"].append(time.process_time() - c0)
    torch.manual_seed(0)
    fresh = DepModule(DepModuleConfig(items[0].inputs.his.shape[1], llm.config.hidden_size, d.n_slots)).to(args.device)
    real_batch = collate_train(real, tok.pad_token_id, ph, args.device)
    real_prefix = PrefixCache.from_items(real, ph)
    ce32, g32 = _grads(fresh, llm, real_batch, ph, weights, "float32", None)
    base = runs["fp32"]
    out = {"batch": d.batch_size, "seq_tokens": d.max_prompt_tokens + d.max_target_tokens,
           "real_seq_tokens_mean": round(sum(len(it.prompt.prompt_ids) + len(it.target_ids) for it in real) / len(real), 1),
           "prefix_tokens": len(prefix) if prefix else 0, "bf16_native": bf16_supported(args.device),
           "steps_timed": args.steps, "variants": {}}
    for name, r in runs.items():
        ce, g = _grads(fresh, llm, real_batch, ph, weights, r["dtype"], real_prefix if r["prefix"] else None)
        wall, cpu = min(r["wall"]), min(r["cpu"])
        out["variants"][name] = {
            "s_per_step_min": round(wall, 3), "s_per_step_median": round(statistics.median(r["wall"]), 3),
            "steps_per_s": round(1 / wall, 4),
            # CPU seconds (all threads): on a busy shared machine wall time says more about the neighbours
            "cpu_s_per_step_min": round(cpu, 3), "cpu_s_per_step_median": round(statistics.median(r["cpu"]), 3),
            "speedup_vs_fp32": round(min(base["wall"]) / wall, 2),
            "cpu_speedup_vs_fp32": round(min(base["cpu"]) / cpu, 2),
            "real_batch_ce_diff_vs_fp32": round(ce - ce32, 5),
            "real_batch_grad_cos_vs_fp32": round(float(torch.nn.functional.cosine_similarity(
                g.double(), g32.double(), dim=0)), 5)}
    out["peak_rss_mb"] = round(peak_rss_mb())
    return out


def bench_agreement(args, recipe) -> dict:
    """Val CE after the same few training steps (same init, data and batch order) in fp32 and in
    bf16, each checkpoint evaluated at both precisions: whether bf16 training learns the same."""
    import dataclasses
    import tempfile

    import torch

    from dpbench.methods.dep.batches import LossWeights
    from dpbench.methods.dep.model import DepModule, DepModuleConfig
    from dpbench.methods.dep.train import TrainSettings, evaluate_loss, train_dep

    d = recipe.dep
    llm, tok, ph = load_llm(args, d.n_slots)
    train = real_items(args, recipe, tok, d.batch_size * args.agree_steps, "train")
    val = real_items(args, recipe, tok, d.max_val_examples or 8, "val")
    weights = LossWeights(d.recon_weight, d.kl_weight)
    base = TrainSettings(epochs=1, lr=d.lr, batch_size=d.batch_size, warmup_ratio=d.warmup_ratio,
                         weights=weights, max_steps=args.agree_steps)
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    out = {"train_examples": len(train), "val_examples": len(val), "steps": args.agree_steps}

    def fresh():
        torch.manual_seed(0)
        return DepModule(DepModuleConfig(train[0].inputs.his.shape[1], llm.config.hidden_size, d.n_slots))

    out["untrained_val_ce_fp32"] = round(evaluate_loss(fresh(), llm, val, pad, ph, weights, d.batch_size,
                                                       args.device, dtype="float32")["ce"], 4)
    # fp32 without the prefix cache differs from fp32 with it by float rounding only: how far that
    # alone moves val CE after these steps is the floor against which bf16's difference is read
    for name, dtype, use_prefix in (("fp32_noprefix", "float32", False), ("float32", "float32", True),
                                    ("bfloat16", "bfloat16", True)):
        module = fresh()
        settings = dataclasses.replace(base, dtype=dtype, prefix_cache=use_prefix)
        with tempfile.TemporaryDirectory() as tmp:
            t0, c0 = time.perf_counter(), time.process_time()
            res = train_dep(module, llm, train, [], pad, ph, settings, Path(tmp) / "ck", Path(tmp),
                            torch.device(args.device))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        row = {"train_s": round(wall, 1), "train_cpu_s": round(cpu, 1), "steps": res.steps}
        for ev in ("float32", "bfloat16"):
            row[f"val_ce_eval_{ev}"] = round(evaluate_loss(module, llm, val, pad, ph, weights, d.batch_size,
                                                           args.device, dtype=ev)["ce"], 4)
        out[f"trained_{name}"] = row
        print(name, json.dumps(row), file=sys.stderr, flush=True)
    ce = {k: out[f"trained_{k}"]["val_ce_eval_float32"] for k in ("fp32_noprefix", "float32", "bfloat16")}
    out["val_ce_diff_bf16_vs_fp32"] = round(ce["bfloat16"] - ce["float32"], 4)
    out["val_ce_diff_rounding_floor"] = round(ce["float32"] - ce["fp32_noprefix"], 4)
    out["val_ce_gain_fp32"] = round(out["untrained_val_ce_fp32"] - ce["float32"], 4)
    return out


def bench_generate(args, recipe) -> dict:
    from dpbench.llm.base import Sampling
    from dpbench.methods.dep.generate import generate_batch
    from dpbench.methods.dep.model import DepModule, DepModuleConfig

    d = recipe.dep
    llm, tok, ph = load_llm(args, d.n_slots)
    items = real_items(args, recipe, tok, d.gen_batch_size)
    module = DepModule(DepModuleConfig(items[0].inputs.his.shape[1], llm.config.hidden_size, d.n_slots)).to(args.device)
    s = Sampling(max_tokens=args.new_tokens)
    out = {}
    for label, groups in (("one_at_a_time", [[it] for it in items]), ("batched", [items])):
        t0, c0 = time.perf_counter(), time.process_time()
        n_tok = sum(o.completion_tokens for g in groups for o in generate_batch(module, llm, tok, g, ph, s, args.device))
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        out[label] = {"examples": len(items), "tokens": n_tok, "s": round(dt, 2), "tokens_per_s": round(n_tok / dt, 2),
                      "cpu_s": round(cpu, 2)}
    out["peak_rss_mb"] = round(peak_rss_mb())
    return out


def bench_embed(args, recipe) -> dict:
    import duckdb

    from dpbench.data.examples import benchmark_path
    from dpbench.embed import Embedder

    con = duckdb.connect(str(benchmark_path(args.data)), read_only=True)
    texts = [r[0] for r in con.execute("SELECT text FROM reviews ORDER BY review_id LIMIT ?", [args.texts]).fetchall()]
    with tempfile.TemporaryDirectory() as tmp:
        emb = Embedder(recipe.dep.embedder, device=args.device, cache_root=Path(tmp))
        emb.encode(["warm up the model"])
        t0, c0 = time.perf_counter(), time.process_time()
        emb.encode(texts)
        cold, cold_cpu = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        emb.encode(texts)
        warm = time.perf_counter() - t0
    words = sum(len(t.split()) for t in texts) / max(1, len(texts))
    return {"texts": len(texts), "mean_words": round(words, 1), "no_cache_texts_per_s": round(len(texts) / cold, 1),
            "no_cache_cpu_s": round(cold_cpu, 1),
            "cached_texts_per_s": round(len(texts) / warm, 1), "peak_rss_mb": round(peak_rss_mb())}


def ablation_table(run_dir: Path, device: str = "cpu", split: str = "val", checkpoint: str = "best",
                   limit: int | None = None) -> dict:
    """Val loss of a trained DEP run's best checkpoint, then of the same checkpoint with its history,
    difference or both embeddings zeroed (the evidence that the module uses the user's signal)."""
    import dataclasses

    from dpbench.data.examples import connect, select_example_ids
    from dpbench.embed import Embedder
    from dpbench.methods.dep.model import load_module
    from dpbench.methods.dep.train import evaluate_loss
    from dpbench.recipes import recipe_from_dict
    from dpbench.run.config import RunConfig
    from dpbench.run.dep import build_items, train_settings
    from dpbench.run.store import read_manifest

    spec = read_manifest(run_dir)
    recipe = recipe_from_dict(spec.recipe)
    args = argparse.Namespace(model=spec.model, device=device)
    llm, tok, ph = load_llm(args, recipe.dep.n_slots)
    module, meta = load_module(run_dir / "checkpoints" / checkpoint, device)
    con = connect(spec.data_path)
    ids = select_example_ids(con, split, limit or recipe.dep.max_val_examples)
    base = RunConfig(method="dep", data=Path(spec.data_path), recipe=recipe, model=spec.model)
    embedder = Embedder(recipe.dep.embedder)
    out = {"run": str(run_dir), "checkpoint": checkpoint, "split": split, "examples": len(ids), "step": meta.get("step")}
    pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    for ablate in ("none", "his", "diff", "both"):
        cfg = dataclasses.replace(base, ablate=ablate)
        items = build_items(con, ids, tok, embedder, cfg, True)
        out[ablate] = evaluate_loss(module, llm, items, pad, ph, train_settings(cfg).weights, recipe.dep.batch_size,
                                    device)
        print(ablate, json.dumps(out[ablate]), flush=True)
    return out


SECTIONS = {"train": bench_train, "agreement": bench_agreement, "generate": bench_generate, "embed": bench_embed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="data/sample")
    ap.add_argument("--recipe", default="quickstart")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=3, help="timed steps per train variant")
    ap.add_argument("--agree-steps", type=int, default=8, help="training steps of the fp32/bf16 agreement section")
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--texts", type=int, default=256)
    ap.add_argument("--section", choices=sorted(SECTIONS))
    ap.add_argument("--json", type=Path)
    ap.add_argument("--ablation-run", type=Path, help="a trained DEP run dir: print its val-loss ablation table")
    ap.add_argument("--ablation-checkpoint", default="best", help="best | last")
    ap.add_argument("--ablation-limit", type=int, help="val examples (default: the recipe's max_val_examples)")
    args = ap.parse_args()
    if args.ablation_run:
        res = ablation_table(args.ablation_run, args.device, checkpoint=args.ablation_checkpoint,
                             limit=args.ablation_limit)
        print(json.dumps(res, indent=2))
        if args.json:
            args.json.write_text(json.dumps(res, indent=2))
        return
    from dpbench.recipes import load_recipe

    recipe = load_recipe(args.recipe)
    if args.section:  # one section in this process
        print(json.dumps(SECTIONS[args.section](args, recipe)))
        return
    results = {"device": args.device, "model": args.model, "recipe": args.recipe}
    for name in ("embed", "train", "agreement", "generate"):
        cmd = [sys.executable, __file__, "--section", name] + [
            a for k, v in vars(args).items() if k not in ("section", "json") and not k.startswith("ablation") and v is not None
            for a in (f"--{k.replace('_', '-')}", str(v))]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            results[name] = {"error": proc.stderr[-2000:]}
        else:
            results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        results[name]["section_wall_s"] = round(time.perf_counter() - t0, 1)
        print(name, json.dumps(results[name]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
