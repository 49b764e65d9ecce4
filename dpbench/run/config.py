"""RunConfig: everything `dpbench run` was asked to do, resolved once (flags > recipe > defaults).

Flags that change outputs (--epochs, --embedder, --set) become recipe overrides, so the resolved recipe
(and its hash, part of the run's identity) records them; flags that only change how the run is served
(--concurrency, URLs, device) stay here. After construction no field is None where the recipe has a
value: the run loops read `cfg.concurrency`, never "flag or recipe".
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from dpbench.errors import DpbenchError
from dpbench.recipes import Recipe

SPLITS = ("train", "val", "test")
ABLATIONS = ("none", "diff", "his", "both")


@dataclass(frozen=True)
class RunConfig:
    method: str  # a name of dpbench.methods.METHODS
    data: Path  # data/NAME (folder holding benchmark.duckdb)
    recipe: Recipe  # resolved: recipe file + --epochs/--embedder/--set overrides
    split: Literal["train", "val", "test"] = "test"
    limit: int | None = None
    backend: str = "local"  # a name of dpbench.llm.BACKENDS (DEP always runs in-process)
    model: str = "smollm2-135m"
    base_urls: tuple[str, ...] = ()
    api_key_env: str | None = None  # name of the env var holding the key; the key is never stored
    concurrency: int | None = None  # None → recipe.generation.concurrency (resolved in __post_init__)
    out: Path = Path("outputs")
    run_id: str | None = None
    shard: str | None = None  # "I/N"
    no_cache: bool = False
    wait: bool = False  # wait for another process holding the run directory instead of refusing
    # DEP only
    checkpoint: Path | None = None
    ablate: Literal["none", "diff", "his", "both"] = "none"
    device: str | None = None
    # local backend and DEP: the weights' dtype (None = fp32 on CPU, bf16 on CUDA; "auto" = bf16 where
    # the device has native bf16). It changes outputs, so it is part of the run's identity.
    dtype: Literal["auto", "float32", "bfloat16"] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.concurrency is None:
            object.__setattr__(self, "concurrency", self.recipe.generation.concurrency)
        object.__setattr__(self, "data", Path(self.data))
        object.__setattr__(self, "out", Path(self.out))

    def weights_dtype(self) -> str | None:
        """The dtype actually loaded: "auto" resolved on this device, None left to the loader's default."""
        if self.dtype != "auto":
            return self.dtype
        from dpbench.llm.precision import bf16_supported

        return "bfloat16" if bf16_supported(self.device or "cpu") else "float32"

    @property
    def embedder(self) -> str:
        return self.recipe.dep.embedder if self.method == "dep" else self.recipe.dpl.embedder

    def with_(self, **changes: Any) -> RunConfig:
        return replace(self, **changes)

    @classmethod
    def from_flags(cls, *, method: str, data: Path, recipe: str = "sample", split: str = "test",
                   limit: int | None = None, backend: str = "local", model: str = "smollm2-135m",
                   base_url: list[str] | None = None, api_key_env: str | None = None,
                   concurrency: int | None = None, out: Path = Path("outputs"), run_id: str | None = None,
                   shard: str | None = None, no_cache: bool = False, wait: bool = False,
                   embedder: str | None = None, checkpoint: Path | None = None, epochs: float | None = None,
                   ablate: str = "none", device: str | None = None, sets: list[str] | None = None,
                   decoding: dict[str, Any] | None = None, dtype: str | None = None) -> RunConfig:
        """The CLI's flags (None = not given), validated against the registries, into one RunConfig."""
        from dpbench.llm import BACKENDS
        from dpbench.methods import METHODS
        from dpbench.recipes import load_recipe
        from dpbench.run.identity import check_run_id

        if method not in METHODS.names():
            METHODS.get(method)  # raises with the choices and a suggestion
        if backend not in BACKENDS.names():
            BACKENDS.get(backend)
        if split not in SPLITS:
            raise DpbenchError(f"--split {split!r}: choose {', '.join(SPLITS)}")
        if ablate not in ABLATIONS:
            raise DpbenchError(f"--ablate {ablate!r}: choose {', '.join(ABLATIONS)}")
        for name, value in (("limit", limit), ("concurrency", concurrency)):
            if value is not None and value < 1:
                raise DpbenchError(f"--{name} must be >= 1 (got {value})")
        if base_url and backend != "openai":
            raise DpbenchError("--base-url needs --backend openai")
        if run_id is not None:
            check_run_id(run_id)
        if dtype not in (None, "auto", "float32", "bfloat16"):
            raise DpbenchError(f"--dtype {dtype!r}: choose auto, float32 or bfloat16")
        overrides: dict[str, Any] = {}
        if epochs is not None:
            overrides["dep.epochs"] = epochs
        if embedder is not None:
            overrides["dep.embedder" if method == "dep" else "dpl.embedder"] = embedder
        for name, value in (decoding or {}).items():  # --repetition-penalty etc.: they change outputs
            if value not in (None, [], ()):
                overrides[f"generation.{name}"] = list(value) if name == "stop" else value
        overrides.update(parse_sets(sets))
        return cls(method=method, data=Path(data), recipe=load_recipe(recipe, overrides=overrides or None),
                   split=split, limit=limit, backend=backend, model=model, base_urls=tuple(base_url or ()),
                   api_key_env=api_key_env, concurrency=concurrency, out=Path(out), run_id=run_id, shard=shard,
                   no_cache=no_cache, wait=wait, checkpoint=checkpoint, ablate=ablate, device=device, dtype=dtype)


def parse_sets(values: list[str] | None) -> dict[str, Any]:
    """`--set section.field=value` (repeatable) → recipe overrides, typed and checked by the recipe model."""
    from dpbench.recipes import parse_set_options

    return parse_set_options(values) if values else {}
