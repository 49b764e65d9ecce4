"""The run loop of the prompt methods (nonpersonal, rag, pag, dpl): `run_prompt_method(cfg) -> run dir`.

Examples flow from the benchmark (read in chunks through dpbench/data/examples.py) to at most
`concurrency` workers; each finished example is appended to predictions.jsonl at once (run/store.py),
so a killed run resumes where it stopped. Failure policy:
- BackendError (auth, unreachable server, unknown model, a pool with every member down): the run
  stops with that message, keeping what is done (status "incomplete");
- any other exception on one example (RetriesExhausted, a rejected request, a method bug) becomes
  that example's `error` (prediction ""), the run goes on, and a rerun retries only those examples.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from dpbench.data.examples import connect, load_examples
from dpbench.errors import BackendError
from dpbench.llm.base import Backend, sampling_from_recipe
from dpbench.llm.cache import ResponseCache
from dpbench.llm.client import LLM
from dpbench.llm.redact import redact
from dpbench.methods import get_method
from dpbench.methods.base import MethodContext, TextEncoder
from dpbench.methods.prompts import prompts_hash
from dpbench.run.config import RunConfig
from dpbench.run.plan import RunPlan, plan_run
from dpbench.run.progress import RunProgress
from dpbench.run.store import RunStore
from dpbench.schema import PredictionRecord, Usage

CHUNK = 64  # examples loaded from DuckDB at a time (peers can be large)
HEARTBEAT_S = 2.0


def plan_prompt_run(cfg: RunConfig, method) -> RunPlan:
    args = {"embedder": cfg.embedder} if method.uses_embedder(cfg.recipe) else {}
    if cfg.backend == "local" and cfg.dtype is not None:
        args["dtype"] = cfg.weights_dtype()
    return plan_run(
        cfg, backend=cfg.backend, prompt_hash=prompts_hash(), method_args=args,
        method_settings=method.describe(cfg.recipe),
        backend_args={"base_urls": list(cfg.base_urls), "api_key_env": cfg.api_key_env,
                      "concurrency": cfg.concurrency, "timeout_s": cfg.recipe.generation.request_timeout_s,
                      "call_timeout_s": cfg.recipe.generation.call_timeout_s,
                      "max_retries": cfg.recipe.generation.max_retries, "device": cfg.device,
                      "cache": not cfg.no_cache},
        model_file=model_file_of(cfg))


def model_file_of(cfg: RunConfig) -> dict:
    from dpbench.models import describe_model_file

    return describe_model_file(cfg.model, cfg.backend, cfg.weights_dtype() if cfg.backend == "local" else None)


def build_backend(cfg: RunConfig) -> Backend:
    from dpbench.llm.factory import BackendSettings, make_backend

    g = cfg.recipe.generation
    return make_backend(cfg.backend, BackendSettings(
        model=cfg.model, base_urls=tuple(cfg.base_urls), api_key_env=cfg.api_key_env, concurrency=cfg.concurrency,
        timeout_s=g.request_timeout_s, call_timeout_s=g.call_timeout_s, max_retries=g.max_retries,
        device=cfg.device, dtype=cfg.weights_dtype()))


def build_embedder(cfg: RunConfig) -> TextEncoder:
    from dpbench.embed import Embedder

    return Embedder(cfg.embedder, device=cfg.device)


def run_prompt_method(cfg: RunConfig, console=None, *, backend: Backend | None = None,
                      embedder: TextEncoder | None = None, cache: ResponseCache | None = None) -> Path:
    """Run (or resume) a prompt method; returns the run directory. `backend`, `embedder` and `cache`
    are for tests and embedding programs; by default they come from cfg."""
    return asyncio.run(run_prompt_method_async(cfg, console, backend=backend, embedder=embedder, cache=cache))


async def run_prompt_method_async(cfg: RunConfig, console=None, *, backend: Backend | None = None,
                                  embedder: TextEncoder | None = None, cache: ResponseCache | None = None) -> Path:
    method = get_method(cfg.method)
    plan = plan_prompt_run(cfg, method)
    store = RunStore.open(plan.run_dir, wait=cfg.wait)
    try:
        todo = store.begin(plan.spec, plan.example_ids)
    except BaseException:
        store.close()
        raise
    progress = RunProgress(console, total=len(plan.example_ids), done=len(plan.example_ids) - len(todo),
                           label=f"{cfg.method} examples")
    llm: LLM | None = None
    aborted: BaseException | None = None
    try:
        if todo:
            backend = backend or build_backend(cfg)
            if cache is None and not cfg.no_cache:
                cache = ResponseCache()
            llm = LLM(backend, sampling_from_recipe(cfg.recipe.generation), cache=None if cfg.no_cache else cache)
            ctx = MethodContext(llm=llm, recipe=cfg.recipe)
            try:
                await backend.check()
                fields = getattr(backend, "request_fields", None)
                if fields is not None:  # exactly what each request sends (refuses controls the engine lacks)
                    store.spec.backend_args = {**store.spec.backend_args, "engine": getattr(backend, "engine", None)
                                               or backend.name, "request": fields(llm.sampling)}
                    store.write_manifest()
                if method.uses_embedder(cfg.recipe):
                    ctx.embedder = embedder or build_embedder(cfg)
                with progress:
                    await run_examples(cfg, method, ctx, store, todo, progress)
            finally:
                await backend.aclose()
    except BaseException as e:  # BackendError, Ctrl-C, cancellation: keep what is done, say incomplete
        aborted = e
        raise
    finally:
        spec = store.finish(llm.stats if llm is not None else Usage(), aborted)
    progress.report_finished(store.path, spec)
    return store.path


async def run_examples(cfg: RunConfig, method, ctx: MethodContext, store: RunStore, todo: list[str],
                       progress: RunProgress) -> None:
    concurrency = cfg.concurrency
    queue: asyncio.Queue = asyncio.Queue(maxsize=max(CHUNK, 2 * concurrency))
    last_beat = [time.monotonic()]

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
            record = await predict_one(method, ex, ctx.for_example())
            store.append(record)
            progress.advance_example(ctx.llm.stats, error=record.error is not None)
            if time.monotonic() - last_beat[0] > HEARTBEAT_S:
                last_beat[0] = time.monotonic()
                store.heartbeat(ctx.llm.stats)

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
        msg = redact(str(e).strip()) or "(no message)"
        return PredictionRecord(example_id=example.example_id, error=f"{type(e).__name__}: {msg}",
                                usage=ctx.calls.usage, attempts=ctx.calls.attempts,
                                latency_s=round(time.perf_counter() - t0, 3))
    return PredictionRecord(
        example_id=example.example_id, prediction=res.prediction, raw=res.raw, usage=res.calls.usage,
        latency_s=round(time.perf_counter() - t0, 3), prompt_hash=res.prompt_hash, attempts=res.calls.attempts,
        finish_reason=res.finish_reason, trace=res.trace,
    )
