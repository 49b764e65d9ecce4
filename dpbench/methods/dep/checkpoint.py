"""Checkpoint files that load without running code: tensors as safetensors, everything else JSON.

Run directories are shared between people and machines, so a checkpoint must never be unpickled:
a planted pickle's `__reduce__` runs whatever it names. Weights and optimizer moments go into
`.safetensors` (a JSON header plus raw buffers), the rest of a state (step counts, param groups,
scheduler fields) into JSON, with tensors referenced by key. Files written by dpbench 0.1
(`dep_module.pt`, `trainer.pt`) are read only through torch's tensors-only unpickler
(`weights_only=True`). Anything else is refused with a DpbenchError naming the file.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch

from dpbench.errors import DpbenchError

STATE_FORMAT = "dpbench-dep-state/1"
_TENSOR, _TUPLE, _ITEMS = "$tensor", "$tuple", "$items"


def _refuse(path: Path, why: str) -> DpbenchError:
    return DpbenchError(
        f"refusing to load {path}: {why}. dpbench loads checkpoints as tensors and JSON only and never runs "
        "code from a run directory; if this checkpoint is yours, delete its checkpoints/ folder and rerun "
        "`dpbench run --method dep` to retrain")


def save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Write `tensors` (CPU copies) as safetensors, atomically (temp file, then rename)."""
    from safetensors.torch import save_file

    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    save_file({k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}, str(tmp),
              metadata={"format": "pt"})
    os.replace(tmp, path)


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A safetensors file's tensors on CPU; DpbenchError when the file is not one."""
    from safetensors.torch import load_file

    path = Path(path)
    try:
        return load_file(str(path), device="cpu")
    except Exception as e:  # SafetensorError, OSError, ...: a bad file, never a traceback
        raise _refuse(path, f"not a valid safetensors file ({type(e).__name__}: {e})") from None


def load_legacy(path: Path) -> Any:
    """A dpbench 0.1 `.pt` file through torch's tensors-only unpickler: a pickle that names any
    callable outside tensors and plain containers is refused before anything runs."""
    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # UnpicklingError for a hostile or foreign pickle, others for damage
        # torch's own text goes on to suggest weights_only=False, the one thing not to do here
        found = re.search(r"(?:WeightsUnpickler error: |^)([^\n]*(?:GLOBAL|Unsupported)[^\n]*)", str(e), re.M)
        lines = str(e).strip().splitlines()
        why = found.group(1).strip() if found else (lines[0] if lines else type(e).__name__)
        raise _refuse(path, f"not a tensors-only checkpoint ({why[:200]})") from None


def encode_state(obj: Any, tensors: dict[str, torch.Tensor], path: str = "") -> Any:
    """A JSON-able skeleton of a nested state; tensors move into `tensors`, keyed by their path."""
    if isinstance(obj, torch.Tensor):
        key = path or "t"
        tensors[key] = obj
        return {_TENSOR: key}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, tuple):
        return {_TUPLE: [encode_state(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode_state(v, tensors, f"{path}.{i}") for i, v in enumerate(obj)]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: encode_state(v, tensors, f"{path}.{k}") for k, v in obj.items()}
        if all(isinstance(k, (str, int)) and not isinstance(k, bool) for k in obj):
            return {_ITEMS: [[k, encode_state(v, tensors, f"{path}.{k}")] for k, v in obj.items()]}
    raise TypeError(f"cannot store {type(obj).__name__} at {path or '<root>'} in a checkpoint")


def decode_state(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of encode_state; ValueError on any node it did not write."""
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [decode_state(v, tensors) for v in node]
    if not isinstance(node, dict):
        raise ValueError(f"unexpected {type(node).__name__} node")
    special = [k for k in node if k.startswith("$")]
    if not special:
        return {k: decode_state(v, tensors) for k, v in node.items()}
    if len(node) != 1:
        raise ValueError(f"malformed node with keys {sorted(node)[:4]}")
    kind, val = special[0], node[special[0]]
    if kind == _TENSOR:
        if not isinstance(val, str) or val not in tensors:
            raise ValueError(f"reference to a missing tensor {val!r}")
        return tensors[val]
    if kind == _TUPLE and isinstance(val, list):
        return tuple(decode_state(v, tensors) for v in val)
    if kind == _ITEMS and isinstance(val, list):
        out = {}
        for pair in val:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], (str, int))):
                raise ValueError("malformed item pair")
            out[pair[0]] = decode_state(pair[1], tensors)
        return out
    raise ValueError(f"unknown node kind {kind!r}")


def save_state(directory: Path, stem: str, state: dict) -> None:
    """state → directory/stem.safetensors (its tensors) + directory/stem.json (everything else).
    The JSON is written last and names the tensor file, so it marks a complete pair."""
    directory = Path(directory)
    tensors: dict[str, torch.Tensor] = {}
    skeleton = encode_state(state, tensors)
    save_tensors(directory / f"{stem}.safetensors", tensors)
    tmp = directory / f"{stem}.json.tmp-{os.getpid()}"
    tmp.write_text(json.dumps({"format": STATE_FORMAT, "tensors": f"{stem}.safetensors", "state": skeleton}))
    os.replace(tmp, directory / f"{stem}.json")


def load_state(directory: Path, stem: str) -> dict:
    """The state save_state wrote; DpbenchError naming the file for anything else."""
    directory = Path(directory)
    meta_path = directory / f"{stem}.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _refuse(meta_path, f"not a readable JSON file ({type(e).__name__}: {e})") from None
    if not isinstance(meta, dict) or meta.get("format") != STATE_FORMAT or meta.get("tensors") != f"{stem}.safetensors":
        raise _refuse(meta_path, f"not a {STATE_FORMAT} file")
    tensors = load_tensors(directory / meta["tensors"])
    try:
        state = decode_state(meta["state"], tensors)
    except (ValueError, KeyError, RecursionError) as e:
        raise _refuse(meta_path, f"malformed state ({e})") from None
    if not isinstance(state, dict):
        raise _refuse(meta_path, "the state is not a mapping")
    return state
