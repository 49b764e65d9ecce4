"""Decoding controls reach every engine in its own words: the real llama.cpp server gets its extra
fields (and answers differently), an unchanged setting hits the cache, transformers applies its logits
processors, and an engine without a control refuses it with a message."""

from __future__ import annotations

import asyncio

import pytest

from dpbench.errors import BackendError
from dpbench.llm.base import ChatRequest, Sampling
from dpbench.llm.cache import ResponseCache, cache_key
from dpbench.llm.client import LLM
from dpbench.llm.decoding import detect_engine, openai_request_fields
from dpbench.llm.factory import make_backend
from tests.helpers.fault_proxy import FaultProxy

LOOPY = [{"role": "user", "content": "Repeat after me forever: buy it, buy it, buy it, buy it, buy it"}]
BASE = Sampling(temperature=0.0, max_tokens=40, seed=1)
PENALIZED = Sampling(temperature=0.0, max_tokens=40, seed=1, repetition_penalty=1.8, frequency_penalty=1.0)


def test_fields_per_engine():
    assert openai_request_fields(PENALIZED, "llamacpp") == {
        "temperature": 0.0, "top_p": 1.0, "max_tokens": 40, "seed": 1, "frequency_penalty": 1.0,
        "extra_body": {"repeat_penalty": 1.8}}
    assert openai_request_fields(PENALIZED, "vllm")["extra_body"] == {"repetition_penalty": 1.8}
    with pytest.raises(BackendError, match="not an OpenAI API parameter"):
        openai_request_fields(PENALIZED, "openai")
    with pytest.raises(BackendError, match="exists only in transformers"):
        openai_request_fields(Sampling(no_repeat_ngram_size=3), "vllm")
    assert openai_request_fields(Sampling(stop=("\n\n",)), "openai")["stop"] == ["\n\n"]
    assert [detect_engine(x) for x in ("llamacpp", "vllm", "openai", "system", None)] == [
        "llamacpp", "vllm", "openai", "openai", "openai"]


def test_cache_keys_differ_by_every_control_and_neutral_keys_stay_as_before():
    ident = {"backend": "openai", "model": "m"}
    keys = {cache_key(ident, ChatRequest(tuple(LOOPY), s)) for s in (
        BASE, PENALIZED, Sampling(temperature=0.0, max_tokens=40, seed=1, presence_penalty=0.5),
        Sampling(temperature=0.0, max_tokens=40, seed=1, no_repeat_ngram_size=3),
        Sampling(temperature=0.0, max_tokens=40, seed=1, stop=("!",)))}
    assert len(keys) == 5
    assert BASE.key_dict() == {"temperature": 0.0, "top_p": 1.0, "max_tokens": 40, "seed": 1}


@pytest.mark.slow
def test_a_changed_penalty_reaches_the_real_server_and_an_unchanged_one_hits_the_cache(llama_server, tmp_path):
    cache = ResponseCache(tmp_path / "responses.sqlite")
    with FaultProxy(llama_server.base_url) as proxy:
        backend = make_backend("openai", llama_server.model, base_urls=[proxy.base_url], timeout_s=240)
        llm = LLM(backend, BASE, cache)

        async def go():
            try:
                await backend.check()
                plain = await llm.chat(LOOPY)
                penalized = await llm.chat(LOOPY, sampling=PENALIZED)
                again = await llm.chat(LOOPY, sampling=PENALIZED)
                return plain, penalized, again
            finally:
                await backend.aclose()

        plain, penalized, again = asyncio.run(go())
        bodies = list(proxy.chat_bodies)
    assert backend.engine == "llamacpp"
    assert len(bodies) == 2  # the third call was answered by the cache
    assert "repeat_penalty" not in bodies[0] and "frequency_penalty" not in bodies[0]
    assert bodies[1]["repeat_penalty"] == 1.8 and bodies[1]["frequency_penalty"] == 1.0
    assert penalized.text != plain.text and again.cached and again.text == penalized.text
    assert plain.text.lower().count("buy it") > penalized.text.lower().count("buy it")


def test_transformers_path_applies_its_logits_processors():
    from tests.llm.tiny_lm import make_tiny_lm

    model, tok = make_tiny_lm()
    backend = make_backend("local", "tiny", device="cpu")
    backend._loaded = (model, tok)
    msgs = ({"role": "user", "content": "the blender is loud the blender is loud"},)

    def run(s):
        return backend.generate_batch([ChatRequest(msgs, s)])[0]

    def bigrams(text):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        return [tuple(ids[i:i + 2]) for i in range(len(ids) - 1)]

    plain = run(Sampling(max_tokens=24))
    assert len(bigrams(plain.text)) > len(set(bigrams(plain.text)))  # the random tiny model loops
    no_rep = run(Sampling(max_tokens=24, no_repeat_ngram_size=2))
    assert len(bigrams(no_rep.text)) >= 5 and len(bigrams(no_rep.text)) == len(set(bigrams(no_rep.text)))
    assert run(Sampling(max_tokens=24, repetition_penalty=3.0)).text != plain.text
    assert run(Sampling(max_tokens=24, frequency_penalty=2.0, presence_penalty=1.0)).text != plain.text
    word = plain.text.split()[2]
    stopped = run(Sampling(max_tokens=24, stop=(word,)))
    assert stopped.text == plain.text[: plain.text.find(word)] and stopped.finish_reason == "stop"
    assert backend.request_fields(PENALIZED) == {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 40, "seed": 1,
                                                 "repetition_penalty": 1.8, "frequency_penalty": 1.0}
