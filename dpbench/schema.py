"""Typed records at the boundaries between commands: run manifest, prediction lines, scores.

Every record declares every field and refuses unknown ones when it is written (a typo in a field name
fails loudly instead of landing in a file nobody reads). Each carries `schema_version`; readers accept
the previous version (`migrate_manifest`, `migrate_scores`) so run directories written by an older
release stay readable.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 2

RunStatus = Literal["running", "complete", "incomplete", "interrupted"]
"""running: a process holds the run; complete: every example has a line without error; incomplete:
the process ended with examples missing or failed (a rerun retries them); interrupted: the manifest
says running but no process holds the run any more (killed) — a rerun resumes it."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Usage(_Record):
    """Model usage, summed per call, per example and per run.

    `requests` counts every HTTP request (or local batch slot) that reached a model, retries and
    failed attempts included, so it matches what a server or a bill counts; `retries` is how many of
    those were repeats; `cached` counts calls answered from the response cache (no request)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    cached: int = 0
    retries: int = 0
    failed_calls: int = 0  # calls that gave up (retries exhausted or refused): their requests still count
    # answered requests per pool member (URL without credentials): how a pool shared the load
    by_server: dict[str, int] = Field(default_factory=dict)

    def add(self, other: Usage) -> Usage:
        counts = {k: getattr(self, k) + getattr(other, k) for k in Usage.model_fields if k != "by_server"}
        servers = dict(self.by_server)
        for url, n in other.by_server.items():
            servers[url] = servers.get(url, 0) + n
        return Usage(**counts, by_server=servers)


class Holder(_Record):
    """Who holds a running run: a crashed holder leaves status `running` behind, and readers tell
    it from a live one by the run directory's lock (dpbench.run.lock)."""

    pid: int
    host: str
    started_at: str
    heartbeat_at: str


class DepSummary(_Record):
    """What DEP's training (or the checkpoint it loaded) measured, kept in the manifest."""

    train_steps: int | None = None
    train_wall_s: float | None = None
    best_val_ce: float | None = None
    control: Literal["trained-zero", "eval-zero"] | None = None  # how control_val_ce was measured
    control_val_ce: float | None = None
    control_train_steps: int | None = None
    checkpoint: str | None = None
    val: dict[str, float] | None = None  # val losses of a loaded checkpoint
    world_size: int = 1
    param_checksum: str | None = None  # the trained module's parameters (equal on every rank)
    dtype: str | None = None  # what the frozen LLM computed in during training ("float32", "bfloat16")


class RunSpec(_Record):
    """manifest.json of a run directory. Never holds a secret (API keys are read from env only)."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    method: str
    model: str
    backend: str
    split: Literal["train", "val", "test"]
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
    method_args: dict[str, Any] = Field(default_factory=dict)  # run-level choices that change outputs (DEP ablation...)
    method_settings: dict[str, Any] = Field(default_factory=dict)  # the recipe settings the method read
    backend_args: dict[str, Any] = Field(default_factory=dict)  # how it was served (never part of the run's identity)
    model_file: dict[str, Any] = Field(default_factory=dict)  # the exact weights: file, format, quantization
    versions: dict[str, str] = Field(default_factory=dict)
    git_revision: dict[str, Any] = Field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""
    status: RunStatus = "running"
    abort_reason: str | None = None
    holder: Holder | None = None
    usage: Usage = Field(default_factory=Usage)
    n_done: int = 0
    n_errors: int = 0
    dep: DepSummary | None = None


class PredictionRecord(_Record):
    """One line of predictions.jsonl."""

    schema_version: int = SCHEMA_VERSION
    example_id: str
    prediction: str = ""
    raw: str = ""
    error: str | None = None
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    prompt_hash: str | None = None
    attempts: int = 0
    finish_reason: str | None = None  # of the generation call: "stop", "length" (cut at max_tokens), ...
    trace: dict[str, Any] = Field(default_factory=dict)  # the method's intermediates


class MetricValue(_Record):
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    note: str | None = None


class PairedValue(_Record):
    baseline_run_id: str
    delta: float | None
    p_value: float | None
    n_shared: int
    test: str = "approximate randomization"
    resamples: int = 0


class ScoreRecord(_Record):
    """scores.json of a run directory."""

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
    benchmark: str = ""  # readable name: the benchmark folder
    data_path: str = ""
    shards: list[str] = Field(default_factory=list)  # the run directories merged
    n_missing: int = 0
    n_errors: int = 0
    flags: list[str] = Field(default_factory=list)  # "incomplete", "unhealthy", ...
    bad_lines: dict[str, int] = Field(default_factory=dict)  # malformed, unknown_ids, duplicates
    scored_at: str = ""
    missing_policy: str = "missing examples are scored as empty predictions"
    extra: dict[str, dict[str, Any]] = Field(default_factory=dict)  # per metric, e.g. judge: n_unparsable
    paired: dict[str, PairedValue] = Field(default_factory=dict)  # per metric, against the baseline run
    health: dict[str, Any] = Field(default_factory=dict)  # output-health rates (dpbench.metrics.health)


# Fields that version 1 wrote outside its declared schema (extra="allow"), by their v2 home.
_V1_MANIFEST_MOVES = {"abort_reason", "method_settings", "dep"}


def migrate_manifest(raw: dict[str, Any]) -> dict[str, Any]:
    """A manifest dict of any readable version → the current schema (raises ValueError otherwise)."""
    version = int(raw.get("schema_version", 1))
    if version > SCHEMA_VERSION:
        raise ValueError(f"written by a newer dpbench (schema_version {version}; this one reads up to "
                         f"{SCHEMA_VERSION}): upgrade dpbench")
    if version == SCHEMA_VERSION:
        return raw
    out = {k: v for k, v in raw.items() if k in RunSpec.model_fields}
    dropped = sorted(set(raw) - set(out) - _V1_MANIFEST_MOVES)
    if raw.get("method") == "dep":  # v1 DEP kept its run-level choices among the serving arguments
        ba = dict(raw.get("backend_args") or {})
        out["method_args"] = {k: ba.pop(k) for k in ("embedder", "ablate", "checkpoint", "epochs") if k in ba}
        out["backend_args"] = ba
        if isinstance(raw.get("dep"), dict):
            out["dep"] = {k: v for k, v in raw["dep"].items() if k in DepSummary.model_fields}
    if dropped:
        out.setdefault("method_settings", {})["_v1_unknown_fields"] = dropped
    out["schema_version"] = SCHEMA_VERSION
    return out


def migrate_prediction(raw: dict[str, Any]) -> dict[str, Any]:
    """A prediction line of any readable version → the current schema (v1 allowed extra keys: they
    move into the trace, so nothing a method wrote is lost)."""
    if int(raw.get("schema_version", 1)) >= SCHEMA_VERSION:
        return raw
    out = {k: v for k, v in raw.items() if k in PredictionRecord.model_fields}
    extra = {k: v for k, v in raw.items() if k not in PredictionRecord.model_fields}
    if extra:
        out["trace"] = {**(out.get("trace") or {}), **extra}
    out["schema_version"] = SCHEMA_VERSION
    return out
