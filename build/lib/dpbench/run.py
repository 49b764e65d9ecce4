"""The run loop of the prompt methods: `run_method(cfg) -> run dir`.

Examples flow from the benchmark (read in chunks through dpbench/data/examples.py) to at most
`concurrency` workers; each finished example is appended (flushed, fsynced) to predictions.jsonl at
once, so a killed run resumes where it stopped. Failure policy:
- BackendError (auth, unreachable server, unknown model): the run stops with that message, keeping
  what is done (status "incomplete");
- any other exception on one example (RetriesExhausted, a rejected request, a method bug) becomes
  that example's `error` (prediction ""), the run goes on, and a rerun retries only those examples.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from dpbench.data.examples import (
    benchmark_fingerprint,
    benchmark_path,
    connect,
    load_examples,
    parse_shard,
    select_example_ids,
)
from dpbench.errors import BackendError, DpbenchError
from dpbench.llm.base import Backend, Sampling
from dpbench.llm.cache import ResponseCache
from dpbench.llm.client import LLM
from dpbench.methods import get_method
from dpbench.methods.base import MethodContext, TextEncoder
from dpbench.methods.prompts import prompts_hash
from dpbench.run_config import RunConfig
from dpbench.run_progress import RunProgress
from dpbench.runs import (
    RunDir,
    default_run_id,
    git_revision,
    now_iso,
    open_run,
    package_versions,
)
from dpbench.schema import PredictionRecord, RunSpec, Usage

CHUNK = 64  # examples loaded from DuckDB at a time (peers can be large)
MANIFEST_EVERY_S = 2.0


@dataclass(frozen=True)
class RunPlan:
    """Everything resolved before the first request: ids, run dir, the manifest to write."""

    run_dir: Path
    example_ids: list[str]
    spec: RunSpec
    concurrency: int


def sampling_of(cfg: RunConfig) -> Sampling:
    g = cfg.recipe.generation
    return Sampling(temperature=g.temperature, top_p=g.top_p, max_tokens=g.max_tokens, seed=g.seed)


def data_name(data: Path) -> str:
    p = Path(data)
    return (p.parent if p.suffix == ".duckdb" else p).resolve().name


def redact_url(url: str) -> str:
    """Drop user:password@ from a URL before it is written anywhere."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


def run_key(cfg: RunConfig, fingerprint: str) -> dict:
    """What makes two runs the same run (→ the default run id). Not: URLs, concurrency, cache use."""
    return {"method": cfg.method, "model": cfg.model, "backend": cfg.backend, "split": cfg.split,
            "limit": cfg.limit, "recipe": cfg.recipe.hash(), "prompts": prompts_hash(), "data": fingerprint}


def plan_run(cfg: RunConfig, method) -> RunPlan:
    shard = parse_shard(cfg.shard)
    con = connect(cfg.data)
    try:
        fingerprint = benchmark_fingerprint(con)
        all_ids = select_example_ids(con, cfg.split, cfg.limit)
    finally:
        con.close()
    ids = select_example_ids_in_shard(all_ids, shard)
    run_id = cfg.run_id or default_run_id(cfg.method, cfg.model, cfg.split, data_name(cfg.data),
                                          run_key(cfg, fingerprint))
    dir_name = run_id if shard is None else f"{run_id}.shard{shard[0]}of{shard[1]}"
    concurrency = cfg.concurrency or cfg.recipe.generation.concurrency
    g = cfg.recipe.generation
    spec = RunSpec(
        run_id=run_id, method=cfg.method, model=cfg.model, backend=cfg.backend, split=cfg.split,
        data_path=str(benchmark_path(cfg.data)), benchmark_fingerprint=fingerprint, recipe=cfg.recipe.to_dict(),
        recipe_hash=cfg.recipe.hash(), sampling=sampling_of(cfg).to_dict(), seed=g.seed,
        prompt_hash=prompts_hash(), limit=cfg.limit, shard=cfg.shard if shard else None,
        n_expected=len(ids), n_expected_all=len(all_ids),
        backend_args={"base_urls": [redact_url(u) for u in cfg.base_urls], "api_key_env": cfg.api_key_env,
                      "concurrency": concurrency, "timeout_s": g.request_timeout_s, "max_retries": g.max_retries,
                      "device": cfg.device, "cache": not cfg.no_cache},
        versions=package_versions(), git_revision=git_revision(), created_at=now_iso(),
        method_settings=method.describe(cfg.recipe),
    )
    return RunPlan(Path(cfg.out) / dir_name, ids, spec, concurrency)


def select_example_ids_in_shard(ids: list[str], shard: tuple[int, int] | None) -> list[str]:
    from dpbench.data.examples import in_shard

    return [i for i in ids if in_shard(i, shard)]


def check_same_run(run: RunDir, spec: RunSpec, ids: list[str]) -> Usage:
    """On resume, refuse a directory that holds a different run; returns the usage already spent."""
    if not run.manifest_path.exists():
        return Usage()
    old = run.read_manifest()
    for field in ("method", "model", "backend", "split", "recipe_hash", "benchmark_fingerprint", "prompt_hash"):
        if getattr(old, field) != getattr(spec, field):
            raise DpbenchError(
                f"{run.path} already holds a run with {field}={getattr(old, field)!r} (this command: "
                f"{getattr(spec, field)!r}); pass another --run-id or --out, or delete that directory"
            )
    old_ids = run.read_example_ids()
    if old_ids is not None and old_ids != ids:
        raise DpbenchError(f"{run.path}: example_ids.txt lists other examples than this command selects "
                           "(different --limit or --shard?); pass another --run-id")
    spec.created_at = old.created_at or spec.created_at
    return old.usage


def drop_failed_lines(run: RunDir) -> int:
    """Remove error lines (and duplicate ids) so a rerun retries those examples and each id keeps one line."""
    p = run.predictions_path
    if not p.exists():
        return 0
    keep, seen, dropped = [], set(), 0
    for rec, _ in run.iter_predictions(strict=False):
        if rec is None or rec.error is not None or rec.example_id in seen:
            dropped += 1
            continue
        seen.add(rec.example_id)
        keep.append(rec.model_dump_json() + "\n")
    if dropped:
        tmp = p.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(keep), encoding="utf-8")
        os.replace(tmp, p)
    return dropped


def count_lines(run: RunDir, ids: list[str]) -> tuple[int, int, list[str]]:
    """(done without error, errored, first error messages) over this run's ids."""
    want, ok, errs, msgs = set(ids), set(), set(), []
    for rec, _ in run.iter_predictions(strict=False):
        if rec is None or rec.example_id not in want:
            continue
        if rec.error is None:
            ok.add(rec.example_id)
        else:
            errs.add(rec.example_id)
            if len(msgs) < 5:
                msgs.append(f"{rec.example_id}: {rec.error}")
    return len(ok), len(errs - ok), msgs


def build_backend(cfg: RunConfig, concurrency: int) -> Backend:
    from dpbench.llm.factory import make_backend

    g = cfg.recipe.generation
    return make_backend(cfg.backend, cfg.model, base_urls=list(cfg.base_urls), api_key_env=cfg.api_key_env,
                        concurrency=concurrency, timeout_s=g.request_timeout_s, max_retries=g.max_retries,
                        device=cfg.device)


def build_embedder(cfg: RunConfig) -> TextEncoder:
    from dpbench.embed import Embedder

    return Embedder(cfg.embedder or cfg.recipe.dpl.embedder, device=cfg.device)


def run_method(cfg: RunConfig, console=None, *, backend: Backend | None = None,
               embedder: TextEncoder | None = None, cache: ResponseCache | None = None) -> Path:
    """Run (or resume) a prompt method; returns the run directory. `backend`, `embedder` and `cache`
    are for tests and embedding programs; by default they come from cfg (dpbench.llm.factory,
    dpbench.embed, the shared response cache unless cfg.no_cache)."""
    return asyncio.run(run_method_async(cfg, console, backend=backend, embedder=embedder, cache=cache))


async def run_method_async(cfg: RunConfig, console=None, *, backend: Backend | None = None,
                           embedder: TextEncoder | None = None, cache: ResponseCache | None = None) -> Path:
    method = get_method(cfg.method)
    plan = plan_run(cfg, method)
    run, _ = open_run(plan.run_dir)
    previous_usage = check_same_run(run, plan.spec, plan.example_ids)
    drop_failed_lines(run)
    done = run.done_ids()
    run.write_example_ids(plan.example_ids)
    spec = plan.spec
    todo = [i for i in plan.example_ids if i not in done]
    progress = RunProgress(console, total=len(plan.example_ids), done=len(plan.example_ids) - len(todo))
    if not todo:
        finalize(run, spec, plan.example_ids, previous_usage, None)
        progress.report_finished(run.path, spec)
        return run.path
    backend = backend or build_backend(cfg, plan.concurrency)
    if cache is None and not cfg.no_cache:
        cache = ResponseCache()
    llm = LLM(backend, sampling_of(cfg), cache=None if cfg.no_cache else cache)
    ctx = MethodContext(llm=llm, recipe=cfg.recipe)
    spec.status = "running"
    run.write_manifest(spec)
    aborted: BaseException | None = None
    try:
        await backend.check()
        if method.uses_embedder(cfg.recipe):
            ctx.embedder = embedder or build_embedder(cfg)
        with progress:
            await run_examples(cfg, method, ctx, run, todo, plan.concurrency, progress,
                               lambda: write_progress(run, spec, previous_usage, llm))
    except BaseException as e:  # BackendError, Ctrl-C, cancellation: keep what is done, say incomplete
        aborted = e
        raise
    finally:
        finalize(run, spec, plan.example_ids, previous_usage.add(usage_of(llm)), aborted)
        await backend.aclose()
    progress.report_finished(run.path, spec)
    return run.path


async def run_examples(cfg: RunConfig, method, ctx: MethodContext, run: RunDir, todo: list[str],
                       concurrency: int, progress: RunProgress, on_progress) -> None:
    queue: asyncio.Queue = asyncio.Queue(maxsize=max(CHUNK, 2 * concurrency))
    last_write = [time.monotonic()]

    async def produce() -> None:
        con = connect(cfg.data)
        try:
            for start in range(0, len(todo), CHUNK):
                # off the event loop, so requests in flight keep going while peers load
                chunk = await asyncio.to_thread(
                    load_examples, con, todo[start : start + CHUNK], with_peers=method.needs_peers,
                    max_peers_per_item=cfg.recipe.data.max_peers_per_item)
                for ex in chunk:
                    await queue.put(ex)
        finally:
            con.close()
            for _ in range(concurrency):
                await queue.put(None)

    async def work() -> None:
        while (ex := await queue.get()) is not None:
            record = await predict_one(method, ex, ctx)
            run.append(record)
            progress.advance(ctx.llm.stats, error=record.error is not None)
            if time.monotonic() - last_write[0] > MANIFEST_EVERY_S:
                last_write[0] = time.monotonic()
                on_progress()

    try:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(produce())
            for _ in range(concurrency):
                tg.create_task(work())
    except* BackendError as group:
        raise group.exceptions[0] from None


async def predict_one(method, example, ctx: MethodContext) -> PredictionRecord:
    t0 = time.perf_counter()
    try:
        res = await method.predict(example, ctx)
    except BackendError:
        raise
    except Exception as e:  # recorded on the example; the run goes on
        msg = str(e).strip() or "(no message)"
        return PredictionRecord(example_id=example.example_id, error=f"{type(e).__name__}: {msg}",
                                latency_s=round(time.perf_counter() - t0, 3))
    return PredictionRecord(
        example_id=example.example_id, prediction=res.prediction, raw=res.raw, usage=res.calls.usage,
        latency_s=round(time.perf_counter() - t0, 3), prompt_hash=res.prompt_hash, attempts=res.calls.attempts,
        trace=res.trace,
    )


def usage_of(llm: LLM) -> Usage:
    s = llm.stats
    return Usage(prompt_tokens=s.prompt_tokens, completion_tokens=s.completion_tokens, requests=s.requests,
                 cached=s.cached, retries=s.retries)


def write_progress(run: RunDir, spec: RunSpec, previous: Usage, llm: LLM) -> None:
    spec.usage = previous.add(usage_of(llm))
    run.write_manifest(spec)


def finalize(run: RunDir, spec: RunSpec, ids: list[str], usage: Usage, aborted: BaseException | None) -> None:
    n_ok, n_err, _ = count_lines(run, ids)
    spec.usage = usage
    spec.n_done, spec.n_errors = n_ok, n_err
    spec.status = "complete" if n_ok == len(ids) and aborted is None else "incomplete"
    if aborted is not None:
        spec.abort_reason = f"{type(aborted).__name__}: {aborted}"[:500]
    run.write_manifest(spec)


def summarize(run_dir: Path) -> tuple[RunSpec, list[str]]:
    """The manifest and the first error messages (for the CLI's summary and exit code)."""
    run = RunDir(run_dir)
    spec = run.read_manifest()
    ids = run.read_example_ids() or []
    return spec, count_lines(run, ids)[2]
