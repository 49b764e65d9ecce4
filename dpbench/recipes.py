"""Typed recipes: every threshold and setting of a benchmark build, a run and a score.

A recipe is a TOML file (recipes/NAME.toml) with optional sections [data], [generation], [rag],
[dpl], [dep], [score]. Unknown fields are errors; CLI flags override fields with dotted keys
(`apply_overrides(recipe, {"data.categories": ["Books"]})`), and `--set section.field=value`
(`parse_set_options`) overrides any field, typed and validated like the file. The resolved recipe
(after overrides) is what builds and runs record, with its hash. docs/benchmark.md describes the
data fields.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dpbench.errors import RecipeError
from dpbench.paths import recipes_dirs


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# A DuckDB memory size: a number and a unit (2GB, 512MiB, 1.5GB); nothing else reaches SET memory_limit.
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|[KMGT]i?B)", re.IGNORECASE)


class DataRecipe(_Section):
    """How raw reviews become the benchmark (docs/benchmark.md). Defaults are the sample recipe."""

    categories: list[str] = Field(default_factory=list, description="empty = every category found")
    # "paper": DPL's order (filter with dedup-for-counting, then dedup); "simple": dedup first, then filter.
    semantics: Literal["paper", "simple"] = "simple"
    # 1. items
    require_metadata: bool = True  # False: reviews of items without metadata are kept (title/description "")
    desc_min_chars: int = Field(0, ge=0)
    desc_max_chars: int | None = Field(None, ge=0)
    require_item_title: bool = False
    require_item_categories: bool = False
    require_rating_number: bool = False  # not applied to releases without the field (2018, 2014)
    # Markup in metadata titles/descriptions: "strip" tags and decode entities (markup.py) or keep it raw.
    strip_markup: bool = True
    # Which text desc_min_chars / desc_max_chars measure: the cleaned description or the raw one.
    desc_length_on: Literal["cleaned", "raw"] = "cleaned"
    # 2. reviews
    min_text_chars: int = Field(1, ge=1)
    require_review_title: bool = False
    # 3. core loop (fixpoint)
    item_min_users: int = Field(2, ge=1)
    user_min_reviews: int = Field(5, ge=1)
    user_max_reviews: int | None = Field(None, ge=1)
    # 5. targets: the last n_targets reviews per user; the last two are val and test
    n_targets: int = Field(3, ge=3)
    # Every example needs at least this many history reviews (strictly before its target); users whose
    # first target has fewer are removed, inside the fixpoint loop, so the thresholds still hold.
    min_history: int = Field(1, ge=0)
    # Reviews at the same time as a target (day-resolution 2014/2018 timestamps): "exclude" leaves them
    # out of the history and of the peers (only strictly earlier reviews are before the target);
    # "drop_user" also removes users whose targets share their time with another of their reviews.
    tie_rule: Literal["exclude", "drop_user"] = "exclude"
    # 6. profile loop (paper: 5 and 8; 0 disables)
    profile_item_min_users: int = Field(0, ge=0)
    profile_min_reviews: int = Field(0, ge=0)
    # peers: leak-free (peer_ts < target_ts) co-reviewers of history items
    max_peers_per_item: int | None = Field(None, ge=1, description="None = all; most recent kept first")
    duckdb_memory_limit: str = Field("2GB", description="a size: 2GB, 512MiB, ...")
    duckdb_threads: int | None = Field(None, ge=1)

    @field_validator("duckdb_memory_limit")
    @classmethod
    def _size(cls, v: str) -> str:
        if not _SIZE.fullmatch(v.strip()):
            raise ValueError("must be a memory size such as 2GB, 512MiB or 1.5GB")
        return v.strip()

    @model_validator(mode="after")
    def _check(self) -> DataRecipe:
        if self.desc_max_chars is not None and self.desc_max_chars < self.desc_min_chars:
            raise ValueError("desc_max_chars must be >= desc_min_chars")
        if self.user_max_reviews is not None and self.user_max_reviews < self.user_min_reviews:
            raise ValueError("user_max_reviews must be >= user_min_reviews")
        return self


class GenerationRecipe(_Section):
    """Sampling for every LLM call of a run (paper: 0.8 / 0.95 / 2048, seed 42)."""

    temperature: float = Field(0.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(128, ge=1)
    seed: int = 42
    # Decoding controls against loops (neutral defaults; each backend gets them natively, see
    # docs/health.md): transformers and llama.cpp/vLLM take repetition_penalty, every OpenAI-compatible
    # engine frequency/presence penalties, transformers alone no_repeat_ngram_size.
    repetition_penalty: float = Field(1.0, gt=0.0, le=3.0)
    frequency_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    presence_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    no_repeat_ngram_size: int = Field(0, ge=0)
    stop: list[str] = Field(default_factory=list, max_length=4)
    # Prompts are cut to this many characters per review/description so they fit small contexts;
    # the truncation is recorded in each trace. None = no truncation (paper).
    # "published": DPL's field layout ("[Item Title]: ... [Review]:"); "chat": the same facts as plain
    # instructions with the task last, which small models answer instead of continuing (docs/health.md).
    prompt_style: Literal["published", "chat"] = "published"
    max_review_chars: int | None = Field(600, ge=50)
    max_description_chars: int | None = Field(400, ge=50)
    request_timeout_s: float = Field(300.0, gt=0, description="per attempt")
    call_timeout_s: float | None = Field(900.0, gt=0, description="all attempts of one call together")
    max_retries: int = Field(6, ge=0)
    concurrency: int = Field(4, ge=1)


class RagRecipe(_Section):
    k: int = Field(8, ge=1)
    retriever: Literal["bm25", "recency", "dense"] = "bm25"


class DplRecipe(_Section):
    n_items: int = Field(8, ge=1, description="N history items chosen by BM25")
    min_peers: int = Field(4, ge=1, description="items need at least this many leak-free peers")
    k_peers: int = Field(4, ge=1, description="K representative peers (KMeans with K+1 clusters)")
    embedder: str = "minilm-l6"


class DepRecipe(_Section):
    embedder: str = "minilm-l6"
    n_slots: int = Field(8, ge=1, description="history items with peers per example (HIS+DIFF each)")
    epochs: float = Field(1.0, gt=0)
    lr: float = Field(1e-3, gt=0)
    batch_size: int = Field(4, ge=1)
    grad_accum: int = Field(1, ge=1)
    warmup_ratio: float = Field(0.1, ge=0, le=1)
    max_grad_norm: float = Field(1.0, gt=0)
    weight_decay: float = Field(0.01, ge=0)
    sae_rho: float = Field(0.05, gt=0, lt=1)
    recon_weight: float = Field(100.0, ge=0)
    kl_weight: float = Field(1e-3, ge=0)
    max_prompt_tokens: int = Field(512, ge=16)
    max_target_tokens: int = Field(96, ge=4)
    max_train_examples: int | None = Field(None, ge=1)
    max_val_examples: int | None = Field(64, ge=1)
    eval_every_steps: int = Field(0, ge=0, description="0 = once per epoch")
    peer_temperature: float = Field(1.0, gt=0)
    max_peers_per_item: int | None = Field(64, ge=1, description="most recent leak-free peers embedded per item")
    gen_batch_size: int = Field(8, ge=1, description="examples per batched generate() call")
    # The evidence that DEP uses the user: "trained-zero" trains the same module a second time with the
    # user vectors zeroed (the honest control), "eval-zero" zeroes them for the trained module at val.
    control: Literal["none", "trained-zero", "eval-zero"] = "none"
    dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto", description="the frozen LLM's training precision: auto = bf16 autocast where the CPU/GPU has native bf16")


class ScoreRecipe(_Section):
    metrics: list[Literal["rouge", "meteor", "bleu", "bertscore", "judge"]] = Field(
        default_factory=lambda: ["rouge", "meteor", "bleu", "bertscore"]
    )
    stemmer: bool = False
    bertscore_model: str = "minilm-l6"
    bertscore_layer: int | None = None
    bootstrap_resamples: int = Field(1000, ge=10)
    bootstrap_seed: int = 0
    ci: float = Field(0.95, gt=0, lt=1)
    health_threshold: float = Field(0.10, ge=0, le=1, description="a run with more degenerate outputs "
                                    "(empty, loop or echo) than this share is flagged unhealthy")


class Recipe(_Section):
    name: str = "custom"
    description: str = ""
    data: DataRecipe = Field(default_factory=DataRecipe)
    generation: GenerationRecipe = Field(default_factory=GenerationRecipe)
    rag: RagRecipe = Field(default_factory=RagRecipe)
    dpl: DplRecipe = Field(default_factory=DplRecipe)
    dep: DepRecipe = Field(default_factory=DepRecipe)
    score: ScoreRecipe = Field(default_factory=ScoreRecipe)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def hash(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def section_hash(self, *sections: str) -> str:
        d = self.to_dict()
        blob = json.dumps({s: d[s] for s in sections}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _format_error(err: ValidationError, where: str) -> str:
    lines = [f"invalid recipe {where}:"]
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            section = e["loc"][0] if len(e["loc"]) > 1 else None
            model = Recipe.model_fields[section].annotation if section in Recipe.model_fields else Recipe
            allowed = ", ".join(getattr(model, "model_fields", {}).keys())
            msg = f"unknown field; allowed fields here: {allowed}"
        elif "input" in e and e["type"] not in ("missing",):
            msg = f"{msg} (got {e['input']!r})"
        lines.append(f"  - {field}: {msg}")
    return "\n".join(lines)


# A recipe name is a bare identifier (recipes/NAME.toml, looked up in the recipe folders only);
# anything else must be a path: ending in .toml or holding a path separator.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def is_recipe_path(name_or_path: str | Path) -> bool:
    text = str(name_or_path)
    return isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or "\\" in text


def find_recipe(name_or_path: str | Path) -> Path:
    """recipes/NAME.toml for a name, the file itself for a path; a name never resolves to a file or
    folder of the working directory (`--recipe sample` with a ./sample folder is still the recipe)."""
    if is_recipe_path(name_or_path):
        p = Path(name_or_path).expanduser()
        if not p.is_file():
            raise RecipeError(f"recipe file not found: {p}" + (" (it is a directory)" if p.is_dir() else ""))
        return p
    name = str(name_or_path)
    if _NAME.fullmatch(name):
        for d in recipes_dirs():
            cand = d / f"{name}.toml"
            if cand.is_file():
                return cand
    known = sorted({f.stem for d in recipes_dirs() if d.exists() for f in d.glob("*.toml")})
    raise RecipeError(f"unknown recipe {name!r}; known recipes: {', '.join(known)} (or pass a path ending in .toml)")


def load_recipe(name_or_path: str | Path = "sample", overrides: dict[str, Any] | None = None) -> Recipe:
    """Load a recipe by name (recipes/NAME.toml) or path, then apply dotted-key overrides."""
    path = find_recipe(name_or_path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise RecipeError(f"recipe {path} is not valid TOML: {e}") from None
    raw.setdefault("name", path.stem)
    given = [k for k, v in (overrides or {}).items() if v is not None]
    where = f"{path} with overrides {', '.join(given)}" if given else str(path)
    return recipe_from_dict(raw, where=where, overrides=overrides)


def recipe_from_dict(raw: dict[str, Any], where: str = "<dict>", overrides: dict[str, Any] | None = None) -> Recipe:
    raw = json.loads(json.dumps(raw))  # deep copy
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        parts = key.split(".")
        node = raw
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    try:
        return Recipe.model_validate(raw)
    except ValidationError as e:
        raise RecipeError(_format_error(e, where)) from None


def apply_overrides(recipe: Recipe, overrides: dict[str, Any]) -> Recipe:
    return recipe_from_dict(recipe.to_dict(), where=f"{recipe.name} + CLI flags", overrides=overrides)


_TOP_FIELDS = ("name", "description")


def parse_set_options(values: list[str] | None) -> dict[str, Any]:
    """`--set KEY=VALUE` flags → dotted-key overrides for `load_recipe(overrides=)` / `apply_overrides`.

    KEY is `section.field` (data.min_history) or a top-level field (name, description). VALUE is read
    as a TOML value (false, 8, 0.5, "text", ["Books", "CDs_and_Vinyl"]); anything that is not valid
    TOML is taken as a plain string (2GB, Books). Types and ranges are then checked by the recipe
    model exactly as for the file. Unknown keys, a missing `=` and a key given twice are errors."""
    out: dict[str, Any] = {}
    for raw in values or []:
        key, sep, text = raw.partition("=")
        key = key.strip()
        if not sep or not key:
            raise RecipeError(f"--set {raw!r}: expected KEY=VALUE, e.g. --set data.require_rating_number=false")
        check_set_key(key, raw)
        if key in out:
            raise RecipeError(f"--set {key} is given twice")
        out[key] = parse_set_value(text.strip())
    return out


def check_set_key(key: str, raw: str) -> None:
    parts = key.split(".")
    sections = {k: f.annotation for k, f in Recipe.model_fields.items() if k not in _TOP_FIELDS}
    if len(parts) == 1 and parts[0] in _TOP_FIELDS:
        return
    if len(parts) != 2 or parts[0] not in sections:
        raise RecipeError(f"--set {raw!r}: the key must be SECTION.FIELD with SECTION one of "
                          f"{', '.join(sections)} (or {', '.join(_TOP_FIELDS)})")
    fields = sections[parts[0]].model_fields
    if parts[1] not in fields:
        raise RecipeError(f"--set {raw!r}: [{parts[0]}] has no field {parts[1]!r}; its fields: {', '.join(fields)}")


def parse_set_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
