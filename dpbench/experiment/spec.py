"""An experiment file (TOML): the whole grid of a paper table in one place.

    name = "cpu-small"
    recipe = "quickstart"                 # for every cell (a name or a .toml path)
    sets = ["generation.max_tokens=64"]   # --set overrides, as on the command line
    split = "test"
    limit = 8
    methods = ["nonpersonal", "rag", "pag", "dpl", "dep"]
    baseline = "nonpersonal"
    metrics = ["rouge", "meteor", "bleu", "bertscore"]
    references = ["dep-2025"]             # published rows beside ours (optional)
    out = "outputs/experiments/cpu-small"

    [[benchmarks]]
    name = "sample"
    data = "data/sample"
    build = { sources = ["sample"], recipe = "sample" }   # built first when data/ has no benchmark

    [[models]]
    name = "smollm2"
    model = "smollm2-135m"
    backend = "openai"                    # prompt methods through an OpenAI-compatible server...
    serve = true                          # ...that the experiment starts (`dpbench serve`), or base_urls
    # base_urls = ["http://gpu1:8000/v1", "http://gpu2:8000/v1"]
    # dep_model = "Qwen/Qwen2.5-7B-Instruct"   # what DEP trains against (default: model)

Unknown fields are errors, like in recipes.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dpbench.errors import RecipeError


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BuildSpec(_Spec):
    sources: list[str] = Field(default_factory=lambda: ["sample"])
    recipe: str = "sample"
    categories: list[str] = Field(default_factory=list)


class BenchmarkSpec(_Spec):
    name: str
    data: Path
    build: BuildSpec | None = None


class ModelSpec(_Spec):
    name: str
    model: str = "smollm2-135m"
    backend: Literal["local", "openai"] = "openai"
    serve: bool = False  # start a llama.cpp server (`dpbench serve`) for this model's prompt methods
    base_urls: list[str] = Field(default_factory=list)
    api_key_env: str | None = None
    concurrency: int | None = Field(None, ge=1)
    dep_model: str | None = None  # what DEP trains against; default: `model`
    device: str | None = None
    dtype: Literal["auto", "float32", "bfloat16"] | None = None  # local backend and DEP weights (None: float32)


class ExperimentSpec(_Spec):
    name: str
    description: str = ""
    recipe: str = "sample"
    sets: list[str] = Field(default_factory=list)
    split: Literal["train", "val", "test"] = "test"
    limit: int | None = Field(None, ge=1)
    methods: list[str]
    baseline: str | None = "nonpersonal"
    metrics: list[str] | None = None  # default: the recipe's [score] metrics
    references: list[str] = Field(default_factory=list)
    out: Path = Path("outputs/experiments")
    benchmarks: list[BenchmarkSpec] = Field(min_length=1)
    models: list[ModelSpec] = Field(min_length=1)

    @field_validator("methods")
    @classmethod
    def _known_methods(cls, v: list[str]) -> list[str]:
        from dpbench.errors import DpbenchError
        from dpbench.methods import METHODS

        for m in v:
            try:
                METHODS.check_name(m, "methods")
            except DpbenchError as e:
                raise ValueError(str(e)) from None
        return v

    @field_validator("references")
    @classmethod
    def _known_references(cls, v: list[str]) -> list[str]:
        from dpbench.leaderboard.published import reference_names

        bad = [r for r in v if r not in reference_names()]
        if bad:
            raise ValueError(f"unknown reference {bad[0]!r}; choose from {', '.join(reference_names())}")
        return v


def load_experiment(path: Path, **overrides) -> ExperimentSpec:
    """Read and validate an experiment file; `overrides` (limit, out, sets) come from the command line."""
    path = Path(path)
    if not path.exists():
        raise RecipeError(f"experiment file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"{path} is not valid TOML: {e}") from None
    raw.setdefault("name", path.stem)
    for key, value in overrides.items():
        if value is None:
            continue
        raw[key] = raw.get("sets", []) + list(value) if key == "sets" else value
    try:
        return ExperimentSpec.model_validate(raw)
    except ValidationError as e:
        lines = [f"invalid experiment {path}:"]
        for err in e.errors():
            where = ".".join(str(x) for x in err["loc"]) or "(top level)"
            lines.append(f"  - {where}: {err['msg']}")
        raise RecipeError("\n".join(lines)) from None
