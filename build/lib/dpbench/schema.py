"""Typed records at the boundaries between commands: run manifest, prediction lines, scores.

Each carries `schema_version` so readers can refuse or migrate files written by other versions.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Usage(BaseModel):
    """Token usage, summed per call, per example and per run."""

    model_config = ConfigDict(extra="ignore")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    cached: int = 0
    retries: int = 0

    def add(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            requests=self.requests + other.requests,
            cached=self.cached + other.cached,
            retries=self.retries + other.retries,
        )


class RunSpec(BaseModel):
    """manifest.json of a run directory. Never holds a secret (API keys are read from env only)."""

    model_config = ConfigDict(extra="allow")
    schema_version: int = SCHEMA_VERSION
    run_id: str
    method: str
    model: str
    backend: str
    split: str
    data_path: str
    benchmark_fingerprint: str
    recipe: dict[str, Any]
    recipe_hash: str
    sampling: dict[str, Any]
    seed: int
    prompt_hash: str | None = None
    limit: int | None = None
    shard: str | None = None  # "I/N"
    n_expected: int = 0  # examples this run (this shard) covers; ids in example_ids.txt
    n_expected_all: int = 0  # examples all shards together cover (= n_expected without --shard)
    backend_args: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    git_revision: dict[str, Any] = Field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""
    status: str = "running"  # running | complete | incomplete
    usage: Usage = Field(default_factory=Usage)
    n_done: int = 0
    n_errors: int = 0


class PredictionRecord(BaseModel):
    """One line of predictions.jsonl."""

    model_config = ConfigDict(extra="allow")
    schema_version: int = SCHEMA_VERSION
    example_id: str
    prediction: str = ""
    raw: str = ""
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    prompt_hash: str | None = None
    attempts: int = 0
    trace: dict[str, Any] = Field(default_factory=dict)


class MetricValue(BaseModel):
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None


class ScoreRecord(BaseModel):
    """scores.json of a run directory."""

    model_config = ConfigDict(extra="allow")
    schema_version: int = SCHEMA_VERSION
    run_id: str
    method: str
    model: str
    backend: str
    split: str
    benchmark_fingerprint: str
    metrics: dict[str, MetricValue]
    n_scored: int
    n_expected: int
    empty_rate: float
    error_rate: float
    coverage: float
    warnings: list[str] = Field(default_factory=list)
