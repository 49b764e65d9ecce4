"""The precision of DEP's passes through the frozen LLM: "auto" | "float32" | "bfloat16".

bf16 runs under autocast: the LLM's weights are never converted (each op casts what it reads), so
the frozen model stays bit-identical, and DEP's module, its SAE losses and the CE stay fp32. On a
CPU with native bf16 dot products (AVX512_BF16 or AMX) a training step takes about 2.3x less
time than fp32 (benchmarks/dep.py); without them bf16 is emulated and slower, so "auto" keeps
fp32 there. On CUDA "auto" means bf16 where the GPU supports it (the paper's setting). An LLM
loaded in bf16/fp16 computes in its own dtype whatever is asked.
"""

from __future__ import annotations

import torch

from dpbench.llm.precision import bf16_supported, cpu_has_native_bf16  # noqa: F401  (shared with the local backend)

DTYPES = ("auto", "float32", "bfloat16")


def llm_dtype(llm) -> torch.dtype:
    p = next(llm.parameters(), None)
    return p.dtype if p is not None else torch.float32


def resolve_dtype(setting: str, device, llm=None) -> torch.dtype:
    """The dtype the frozen LLM computes in for this setting, device and (optionally) model."""
    if setting not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {setting!r}")
    if llm is not None and llm_dtype(llm) != torch.float32:
        return llm_dtype(llm)  # weights already reduced: nothing to choose
    if setting == "float32":
        return torch.float32
    if setting == "bfloat16":
        return torch.bfloat16
    return torch.bfloat16 if bf16_supported(device) else torch.float32


def autocast(device, dtype: torch.dtype):
    """bf16 autocast for `dtype` bfloat16, a no-op context otherwise."""
    device_type = torch.device(device).type
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=dtype == torch.bfloat16)


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")
