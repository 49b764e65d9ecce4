"""Whether bf16 arithmetic is native on a device (shared by the local backend and DEP).

On a CPU with AVX512_BF16 or AMX, bf16 matmuls run about twice as fast as fp32; without them torch
emulates bf16 and it is slower, so "auto" settings pick bf16 only where it is native.
"""

from __future__ import annotations


def cpu_has_native_bf16() -> bool:
    """AVX512_BF16 or AMX tiles, as torch's own CPU probe reports them."""
    import torch

    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(torch.cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except RuntimeError:  # a probe unavailable in this build: not evidence either way
            continue
    return False


def bf16_supported(device) -> bool:
    """Whether bf16 is native (fast) on this device."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return cpu_has_native_bf16()
    return False
