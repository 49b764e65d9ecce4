"""The local (transformers) backend: batching, determinism, seeded sampling, usage, per-request errors."""

from __future__ import annotations

import asyncio

import pytest

from dpbench.llm.base import ChatRequest, Sampling
from dpbench.llm.client import LLM
from dpbench.llm.factory import make_backend
from dpbench.llm.local import LocalBackend, PromptTooLong
from tests.llm.tiny_lm import make_tiny_lm

PROMPTS = ["the blender is loud", "I love it", "great story never", "one star"]
GREEDY = Sampling(temperature=0.0, max_tokens=12)
SAMPLED = Sampling(temperature=0.8, top_p=0.95, max_tokens=12, seed=42)


@pytest.fixture(scope="module")
def tiny():
    return make_tiny_lm()


def req(text: str, sampling: Sampling = GREEDY, sample_index: int = 0) -> ChatRequest:
    return ChatRequest(({"role": "user", "content": text},), sampling, sample_index)


def one_at_a_time(backend, requests):
    async def go():
        try:
            return [await backend.generate(r) for r in requests]
        finally:
            await backend.aclose()

    return asyncio.run(go())


def together(backend, requests):
    async def go():
        try:
            return await asyncio.gather(*(backend.generate(r) for r in requests), return_exceptions=True)
        finally:
            await backend.aclose()

    return asyncio.run(go())


def test_greedy_is_deterministic_and_counts_tokens(tiny):
    b = LocalBackend("tiny", loaded=tiny)
    first, second = one_at_a_time(b, [req("the blender"), req("the blender")])
    assert first.text and first.text == second.text
    # "<|user|> the blender <|end|> <|assistant|> " -> 5 word-level tokens
    assert first.prompt_tokens == 5
    assert first.completion_tokens == len(first.text.split()) == 12 and first.finish_reason == "length"


def test_batch_of_four_equals_one_at_a_time(tiny):
    b = LocalBackend("tiny", loaded=tiny, max_batch=4)
    alone = one_at_a_time(b, [req(p) for p in PROMPTS])
    batched = together(b, [req(p) for p in PROMPTS])
    assert b.batch_sizes == [1, 1, 1, 1, 4]  # the gathered calls really shared one batch
    assert [r.text for r in batched] == [r.text for r in alone]
    assert [r.prompt_tokens for r in batched] == [r.prompt_tokens for r in alone]
    assert len({r.text for r in alone}) == 4  # different prompts, different outputs


def test_batches_never_exceed_max_batch(tiny):
    b = LocalBackend("tiny", loaded=tiny, max_batch=3)
    out = together(b, [req(p) for p in PROMPTS * 2])
    assert sorted(b.batch_sizes) == [2, 3, 3] and all(r.text for r in out)


def test_seeded_sampling_is_independent_of_the_batch(tiny):
    b = LocalBackend("tiny", loaded=tiny, max_batch=4)
    alone = one_at_a_time(b, [req(PROMPTS[0], SAMPLED)])[0]
    mixed = together(b, [req(PROMPTS[1], GREEDY), req(PROMPTS[0], SAMPLED), req(PROMPTS[2], SAMPLED),
                         req(PROMPTS[0], SAMPLED, sample_index=1)])
    assert mixed[1].text == alone.text
    other_seed = one_at_a_time(b, [req(PROMPTS[0], Sampling(temperature=0.8, top_p=0.95, max_tokens=12, seed=7))])
    greedy = one_at_a_time(b, [req(PROMPTS[0])])[0]
    # another seed, another sample index or greedy decoding each change the text
    assert len({alone.text, other_seed[0].text, mixed[3].text, greedy.text}) == 4


def test_each_row_keeps_its_own_max_tokens(tiny):
    b = LocalBackend("tiny", loaded=tiny)
    short, long_ = together(b, [req(PROMPTS[0], Sampling(max_tokens=3)), req(PROMPTS[0], Sampling(max_tokens=10))])
    assert (short.completion_tokens, long_.completion_tokens) == (3, 10)
    assert long_.text.split()[:3] == short.text.split()


def test_stop_token_ends_a_row(tiny, monkeypatch):
    b = LocalBackend("tiny", loaded=tiny)
    full = one_at_a_time(b, [req(PROMPTS[1])])[0].text.split()
    stop_word = full[2]
    cut = full.index(stop_word)
    _, tok = tiny
    monkeypatch.setattr("dpbench.llm.local.stop_token_ids", lambda m, t: {tok.convert_tokens_to_ids(stop_word)})
    stopped = one_at_a_time(b, [req(PROMPTS[1])])[0]
    assert stopped.text.split() == full[:cut] and stopped.finish_reason == "stop"
    assert stopped.completion_tokens == cut


def test_too_long_prompt_fails_alone_in_its_batch(tiny):
    b = LocalBackend("tiny", loaded=tiny)
    out = together(b, [req("the " * 300), req(PROMPTS[0])])
    assert isinstance(out[0], PromptTooLong) and "exceeds tiny's context of 256 tokens" in str(out[0])
    assert out[1].text


def test_event_loop_keeps_running_while_decoding(tiny):
    b = LocalBackend("tiny", loaded=tiny)
    ticks = []

    async def go():
        async def ticker():
            while True:
                ticks.append(1)
                await asyncio.sleep(0.001)

        t = asyncio.create_task(ticker())
        await asyncio.gather(*(b.generate(req(p, Sampling(max_tokens=60))) for p in PROMPTS))
        t.cancel()
        await b.aclose()

    asyncio.run(go())
    assert len(ticks) > 5


def test_cache_through_llm_wrapper(tiny, response_cache):
    b = LocalBackend("tiny", loaded=tiny)

    async def go():
        llm = LLM(b, GREEDY, response_cache)
        first = await llm.chat([{"role": "user", "content": "I love it"}])
        second = await llm.chat([{"role": "user", "content": "I love it"}])
        await b.aclose()
        return first, second, llm.stats

    first, second, stats = asyncio.run(go())
    assert second.cached and second.text == first.text and (stats.requests, stats.cached) == (1, 1)


def test_factory_builds_a_lazy_local_backend():
    b = make_backend("local", "smollm2-135m", concurrency=8)
    assert isinstance(b, LocalBackend) and b._loaded is None  # nothing loaded yet
    assert b.identity() == {"backend": "local", "model": "smollm2-135m"} and b.max_concurrency == 8


@pytest.mark.slow
def test_smollm2_greedy_is_deterministic_alone_and_batched():
    b = make_backend("local", "smollm2-135m", concurrency=2, device="cpu")
    prompts = [req("What is the capital of France?", Sampling(max_tokens=10)),
               req("Name a color.", Sampling(max_tokens=10))]
    alone = one_at_a_time(b, prompts)
    batched = together(b, prompts)
    assert alone[0].text and [r.text for r in batched] == [r.text for r in alone]
    assert "Paris" in alone[0].text
    assert alone[0].prompt_tokens > 10 and alone[0].completion_tokens <= 10
