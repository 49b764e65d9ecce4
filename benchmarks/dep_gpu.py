"""DEP's device check: bf16 training, checkpoint reload and batched generation on one machine.

Run it through benchmarks/dep_gpu.sh. It needs only torch, transformers (with tokenizers and
safetensors) and numpy, plus this repository: the LLM is a random Llama built from a config in
code, the tokenizer is trained in code on synthetic words, slot vectors are random unit vectors.
Nothing is downloaded, so it fits any upload. Random weights: plumbing and speed, never quality.

Checks, each printed as PASS/FAIL (exit 1 on any FAIL, 2 when the device cannot be used):
  train_finite_and_dropping  train_dep for --steps steps on one fixed batch at --dtype: every logged
                             loss finite, and the batch's CE after training below its CE before
  llm_bit_identical          every LLM tensor equal to a copy taken before training, none trainable
  checkpoint_reload          save_module -> load_module: the same greedy generations, token for token
  batched_generation         one batch of prompts of different lengths: an output per prompt, each
                             non-empty; batched == one at a time when the LLM computes in fp32 (in
                             bf16 padding changes rounding, so the agreement is reported, not required)
Metrics: train steps/s and tokens/s, generation tokens/s (batched and one at a time), peak memory.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import resource
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

HEADER = "Past products this user reviewed ( with the user's style and how they differ from other reviewers ) :"


@dataclass(frozen=True)
class Size:
    words: int  # tokenizer vocabulary (synthetic words w0, w1, ...)
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    init: float  # initializer_range: large enough that the soft prompts move the logits
    dim: int  # slot vector size D (MiniLM: 384)
    slots: int
    batch: int
    title_words: int  # words per past item's title
    target: int  # reference tokens per example
    new_tokens: int  # generated tokens per example


SIZES = {
    "tiny": Size(200, 64, 128, 2, 4, 2, 0.3, 16, 4, 4, 6, 12, 8),  # the CPU test: seconds
    "small": Size(32000, 576, 1536, 30, 9, 3, 0.05, 384, 8, 8, 20, 96, 64),  # SmolLM2-135M's shape
}


@dataclass
class Report:
    checks: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    env: dict = field(default_factory=dict)

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append({"name": name, "ok": bool(ok), "detail": detail})
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c["ok"] for c in self.checks)


def environment(device) -> dict:
    import numpy
    import torch
    import transformers

    from dpbench.methods.dep.precision import bf16_supported

    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "unknown")
    env = {"python": platform.python_version(), "torch": torch.__version__, "torch_cuda": torch.version.cuda,
           "transformers": transformers.__version__, "numpy": numpy.__version__,
           "cuda_available": torch.cuda.is_available(), "device": str(device),
           "bf16_native": bf16_supported(device), "cpu_capability": capability(), "threads": torch.get_num_threads()}
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        env.update(device_name=p.name, capability=f"{p.major}.{p.minor}", memory_gib=round(p.total_memory / 2**30, 1),
                   cudnn=torch.backends.cudnn.version(), device_count=torch.cuda.device_count())
    else:
        env["device_name"] = cpu_name()
    return env


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def build_tokenizer(n_words: int):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    words = [f"w{i}" for i in range(n_words)] + [HEADER, "Product stars Write the review - . 1 2 3 4 5"]
    raw = Tokenizer(models.WordLevel(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    raw.train_from_iterator([" ".join(words)], trainers.WordLevelTrainer(special_tokens=["<pad>", "<unk>", "<eos>"]))
    return PreTrainedTokenizerFast(tokenizer_object=raw, pad_token="<pad>", unk_token="<unk>", eos_token="<eos>")


def build_llm(size: Size, vocab: int, device, dtype):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=size.hidden, intermediate_size=size.intermediate,
                      num_hidden_layers=size.layers, num_attention_heads=size.heads, num_key_value_heads=size.kv_heads,
                      max_position_embeddings=2048, pad_token_id=0, bos_token_id=2, eos_token_id=2,
                      tie_word_embeddings=False, initializer_range=size.init)
    llm = LlamaForCausalLM(cfg)
    with torch.no_grad():  # logit 0 for pad and eos: generations run to their token budget
        llm.lm_head.weight[[cfg.pad_token_id, cfg.eos_token_id]] = 0
    return llm.to(device=device, dtype=dtype).eval()


def synthetic_items(tok, placeholder_ids, size: Size, n: int, seed: int):
    """DepItems shaped like DEP's prompt: past items each followed by their HIS and DIFF tokens, the
    later slots of some rows masked, prompts of different lengths."""
    import numpy as np

    from dpbench.methods.dep.batches import DepItem
    from dpbench.methods.dep.inputs import DepInputs
    from dpbench.methods.dep.model import placeholder_tokens
    from dpbench.methods.dep.prompts import EncodedPrompt

    rng = np.random.default_rng(seed)
    ph = placeholder_tokens(size.slots)
    items = []
    for i in range(n):
        def words(k: int) -> str:
            return " ".join(f"w{j}" for j in rng.integers(0, size.words, k))

        lines = [HEADER]  # the shared prefix DEP's trainer caches (prefix.py)
        for k in range(size.slots):
            title = words(int(rng.integers(size.title_words // 2, size.title_words + 1)))
            lines.append(f"- {title} ( {int(rng.integers(1, 6))} stars ) : {ph[2 * k]}{ph[2 * k + 1]}")
        lines.append(f"Product : {words(size.title_words)} . Write the review :")
        ids = tok(" ".join(lines))["input_ids"]
        mask = np.ones(size.slots, dtype=bool)
        mask[size.slots - int(rng.integers(0, size.slots // 2 + 1)):] = False
        vec = rng.standard_normal((2, size.slots, size.dim)).astype(np.float32)
        vec /= np.linalg.norm(vec, axis=-1, keepdims=True)
        vec[:, ~mask] = 0
        target = tok(words(size.target))["input_ids"] + [tok.eos_token_id]
        inputs = DepInputs(f"S{i}", vec[0], vec[1], mask)
        items.append(DepItem(EncodedPrompt(f"S{i}", ids, [bool(m) for m in mask], False, f"h{i}"), inputs, target))
    assert all(t in it.prompt.prompt_ids for it in items for t in placeholder_ids)
    return items


def sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def peak_memory_mib(device) -> float:
    import torch

    if device.type == "cuda":
        return round(torch.cuda.max_memory_allocated(device) / 2**20, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # process peak RSS


def check_training(rep: Report, args, llm, tok, ph, items, device, work: Path):
    import torch

    from dpbench.methods.dep.batches import LossWeights
    from dpbench.methods.dep.model import DepModule, DepModuleConfig
    from dpbench.methods.dep.train import TrainSettings, evaluate_loss, train_dep

    size = SIZES[args.size]
    batch = size.batch
    torch.manual_seed(0)
    module = DepModule(DepModuleConfig(dim=size.dim, hidden=llm.config.hidden_size, n_slots=size.slots)).to(device)
    fixed = items[:batch]
    weights = LossWeights()
    before_llm = {k: v.detach().clone() for k, v in llm.state_dict().items()}
    before = evaluate_loss(module, llm, fixed, tok.pad_token_id, ph, weights, batch, device, dtype=args.dtype)
    settings = TrainSettings(epochs=args.steps, lr=args.lr, batch_size=batch, warmup_ratio=0.0, dtype=args.dtype,
                             eval_every_steps=args.steps, save_every_steps=args.steps)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    res = train_dep(module, llm, fixed, fixed, tok.pad_token_id, ph, settings, work / "ck", work, device)
    sync(device)
    rep.metrics["train_peak_memory_mib"] = peak_memory_mib(device)
    after = evaluate_loss(module, llm, fixed, tok.pad_token_id, ph, weights, batch, device, dtype=args.dtype)
    rows = [json.loads(line) for line in res.log_path.read_text().splitlines()]
    train_rows = [r for r in rows if r["kind"] == "train"]
    finite = all(math.isfinite(r[k]) for r in train_rows for k in ("loss", "ce", "recon", "kl", "grad_norm"))
    dropped = after["ce"] < before["ce"] - args.min_ce_drop
    rep.check("train_finite_and_dropping", finite and dropped and res.steps == args.steps,
              f"{res.steps} steps in {res.dtype}; CE on the fixed batch {before['ce']:.4f} -> {after['ce']:.4f} "
              f"(needs a drop > {args.min_ce_drop}); all logged losses finite: {finite}")
    diff = [k for k, v in llm.state_dict().items() if not torch.equal(v, before_llm[k])]
    trainable = [n for n, p in llm.named_parameters() if p.requires_grad]
    rep.check("llm_bit_identical", not diff and not trainable,
              f"{len(before_llm)} tensors compared, {len(diff)} changed {diff[:3]}, {len(trainable)} trainable")
    # steps/s from the log's timestamps, leaving out the first step (kernel selection, allocator warm-up)
    ts = [r["t"] for r in train_rows]
    span = ts[-1] - ts[0] if len(ts) > 1 else ts[0]
    steps_per_s = (len(ts) - 1) / span if len(ts) > 1 and span > 0 else float("nan")
    tokens = sum(len(it.prompt.prompt_ids) + len(it.target_ids) for it in fixed)
    rep.metrics.update(train_dtype=res.dtype, train_batch=batch, train_tokens_per_step=tokens,
                       train_steps_per_s=round(steps_per_s, 3), train_tokens_per_s=round(steps_per_s * tokens, 1),
                       ce_before=round(before["ce"], 4), ce_after=round(after["ce"], 4))
    return module


def check_generation(rep: Report, args, module, llm, tok, ph, items, device, work: Path) -> None:
    import torch

    from dpbench.llm.base import Sampling
    from dpbench.methods.dep.generate import generate_batch
    from dpbench.methods.dep.model import load_module, save_module
    from dpbench.methods.dep.precision import llm_dtype

    s = Sampling(max_tokens=SIZES[args.size].new_tokens)
    gen = items[: args.gen_batch]
    save_module(module, work / "reload")
    reloaded, _ = load_module(work / "reload", str(device))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    generate_batch(module, llm, tok, gen[:2], ph, s, device)  # warm-up
    sync(device)
    t0 = time.perf_counter()
    batched = generate_batch(module, llm, tok, gen, ph, s, device)
    sync(device)
    dt_batched = time.perf_counter() - t0
    again = generate_batch(reloaded, llm, tok, gen, ph, s, device)
    same = [(o.text, o.completion_tokens) for o in batched] == [(o.text, o.completion_tokens) for o in again]
    rep.check("checkpoint_reload", same, f"{len(gen)} greedy generations after save/load: "
              f"{'identical' if same else 'DIFFERENT'} ({sum(o.completion_tokens for o in again)} tokens)")
    t0 = time.perf_counter()
    alone = [generate_batch(module, llm, tok, [it], ph, s, device)[0] for it in gen]
    sync(device)
    dt_alone = time.perf_counter() - t0
    agree = sum(a.text == b.text for a, b in zip(batched, alone)) / len(gen)
    fp32 = llm_dtype(llm) == torch.float32
    n_tok = sum(o.completion_tokens for o in batched)
    ok = len(batched) == len(gen) and all(o.completion_tokens > 0 and o.text for o in batched)
    rep.check("batched_generation", ok and (agree == 1.0 or not fp32),
              f"{len(batched)} outputs for {len(gen)} prompts of {min(len(i.prompt.prompt_ids) for i in gen)}-"
              f"{max(len(i.prompt.prompt_ids) for i in gen)} tokens, {n_tok} tokens; batched == one at a time for "
              f"{agree:.0%} ({'required: fp32' if fp32 else 'reported only: ' + str(llm_dtype(llm))})")
    rep.metrics.update(gen_batch=len(gen), gen_tokens=n_tok, gen_tokens_per_s_batched=round(n_tok / dt_batched, 1),
                       gen_tokens_per_s_one_at_a_time=round(sum(o.completion_tokens for o in alone) / dt_alone, 1),
                       gen_batched_agreement=agree, gen_peak_memory_mib=peak_memory_mib(device))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    ap.add_argument("--size", choices=sorted(SIZES), help="model/prompt sizes (default: small on cuda, tiny on cpu)")
    ap.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16"], help="TrainSettings.dtype")
    ap.add_argument("--llm-dtype", choices=["float32", "bfloat16"],
                    help="the LLM's weights (default as dpbench.models.load_causal_lm: bf16 on cuda, fp32 on cpu)")
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--min-ce-drop", type=float, default=0.05)
    ap.add_argument("--gen-batch", type=int, default=8)
    ap.add_argument("--json", type=Path, help="also write the report here")
    args = ap.parse_args(argv)
    rep = Report()
    try:
        import torch

        device = torch.device(args.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"--device {args.device} but torch {torch.__version__} sees no CUDA device "
                               f"(torch.version.cuda={torch.version.cuda})")
        args.size = args.size or ("small" if device.type == "cuda" else "tiny")
        rep.env = environment(device)
        for k, v in rep.env.items():
            print(f"env {k}: {v}", flush=True)
        llm_dtype = getattr(torch, args.llm_dtype or ("bfloat16" if device.type == "cuda" else "float32"))
        from dpbench.methods.dep.model import add_placeholder_tokens, freeze

        size = SIZES[args.size]
        tok = build_tokenizer(size.words)
        vocab = len(tok)  # before the placeholders: the LLM is never resized (model.py)
        ph = add_placeholder_tokens(tok, size.slots)
        llm = build_llm(size, vocab, device, llm_dtype)
        freeze(llm)
        items = synthetic_items(tok, ph, size, max(args.gen_batch, size.batch), seed=1)
        rep.env.update(size=args.size, llm_dtype=str(llm_dtype), llm_params_m=round(sum(p.numel() for p in llm.parameters()) / 1e6, 2))
        print(f"env model: {args.size}, {rep.env['llm_params_m']}M params in {llm_dtype}", flush=True)
    except Exception as e:  # a machine that cannot run the checks at all
        print(f"FAIL setup: {type(e).__name__}: {e}", flush=True)
        traceback.print_exc()
        _write(args.json, rep, setup_error=f"{type(e).__name__}: {e}")
        return 2
    with tempfile.TemporaryDirectory(prefix="dep_gpu_") as tmp:
        module = None
        try:
            module = check_training(rep, args, llm, tok, ph, items, device, Path(tmp))
        except Exception as e:
            rep.check("train_finite_and_dropping", False, f"{type(e).__name__}: {e}")
            traceback.print_exc()
        if module is not None:
            try:
                check_generation(rep, args, module, llm, tok, ph, items, device, Path(tmp))
            except Exception as e:
                rep.check("batched_generation", False, f"{type(e).__name__}: {e}")
                traceback.print_exc()
    for k, v in rep.metrics.items():
        print(f"metric {k}: {v}", flush=True)
    print(("ALL PASSED" if rep.ok else "SOME CHECKS FAILED") + f" ({sum(c['ok'] for c in rep.checks)}/{len(rep.checks)})")
    _write(args.json, rep)
    return 0 if rep.ok else 1


def _write(path: Path | None, rep: Report, setup_error: str | None = None) -> None:
    if path is not None:
        path.write_text(json.dumps({"ok": rep.ok and setup_error is None, "setup_error": setup_error, "env": rep.env,
                                    "checks": rep.checks, "metrics": rep.metrics}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
