"""ScoreConfig: everything `dpbench score` was asked to do, resolved (CLI > recipe [score] > defaults)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_METRICS = ("rouge", "meteor", "bleu", "bertscore")
DEFAULT_FORMATS = ("md", "csv", "json", "html")  # names of dpbench.leaderboard.FORMATS


@dataclass(frozen=True)
class JudgeConfig:
    """The optional LLM judge (DPL's 0-10 rubric); reached through the run command's backends."""

    model: str
    backend: str = "openai"  # "openai" | "local"
    base_urls: tuple[str, ...] = ()
    api_key_env: str | None = None
    concurrency: int = 4
    timeout_s: float = 120.0
    max_retries: int = 3
    device: str | None = None
    max_tokens: int = 16
    use_cache: bool = True
    backend_object: Any = field(default=None, repr=False, compare=False)  # a ready Backend (tests, library use)


@dataclass(frozen=True)
class ScoreConfig:
    metrics: tuple[str, ...] = DEFAULT_METRICS
    stemmer: bool = False  # papers: no stemmer
    bertscore_model: str = "minilm-l6"
    bertscore_layer: int | None = None  # None = 6 for minilm-l6, bert-score's default layer otherwise
    bertscore_batch_size: int = 64
    device: str | None = None  # torch device for BERTScore (None = cuda if available, else cpu)
    meteor_without_wordnet: bool = False  # report `meteor_nowordnet` instead of refusing
    bootstrap_resamples: int = 1000
    bootstrap_seed: int = 0
    ci: float = 0.95
    baseline: str | None = None  # method name whose runs the others are tested against
    default_baseline: str | None = "nonpersonal"  # used when `baseline` is None and such a run is present
    data: Path | None = None  # overrides manifest.data_path
    out: Path | None = None  # where leaderboard.* go (None = the scanned folder, or the runs' parent)
    formats: tuple[str, ...] = DEFAULT_FORMATS
    write_files: bool = True
    workers: int = 0  # processes for ROUGE/METEOR/BLEU over large runs (0 = one per core, ≥1000 pairs each)
    judge: JudgeConfig | None = None
    health_threshold: float = 0.10  # share of degenerate outputs above which a run is flagged unhealthy
    references: tuple[str, ...] = ()  # published numbers to show beside ours (dpbench/leaderboard/published.toml)

    @classmethod
    def from_recipe(cls, recipe_score: Any = None, **overrides: Any) -> ScoreConfig:
        """Recipe [score] section (dpbench.recipes.ScoreRecipe) first, then non-None overrides."""
        base = cls()
        if recipe_score is not None:
            base = replace(base, metrics=tuple(recipe_score.metrics), stemmer=recipe_score.stemmer,
                           bertscore_model=recipe_score.bertscore_model,
                           bertscore_layer=recipe_score.bertscore_layer,
                           bootstrap_resamples=recipe_score.bootstrap_resamples,
                           bootstrap_seed=recipe_score.bootstrap_seed, ci=recipe_score.ci,
                           health_threshold=recipe_score.health_threshold)
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    def with_(self, **changes: Any) -> ScoreConfig:
        return replace(self, **changes)


def settings_of(cfg: ScoreConfig) -> dict[str, Any]:
    """The statistics settings written beside every number."""
    return {"bootstrap_resamples": cfg.bootstrap_resamples, "bootstrap_seed": cfg.bootstrap_seed, "ci": cfg.ci}


