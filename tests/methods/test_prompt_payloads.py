"""Each method's exact prompt payload for a known tiny-benchmark example (user u0, test target i6)."""

from __future__ import annotations

import asyncio

from dpbench.llm.base import Sampling
from dpbench.llm.client import LLM
from dpbench.methods import get_method
from dpbench.methods.base import MethodContext
from dpbench.methods.prompts import (
    DPL_DIFF_TASK,
    DPL_SUMMARY_TASK,
    PAG_SUMMARY_TASK,
    SYSTEM,
)
from dpbench.recipes import load_recipe
from tests.helpers.fake_backend import FakeBackend, FakeEmbedder

TASK = ("Given the title and description of an item, the rating and title of the review, {context}write the review "
        "text that this user would write for the item. Only output the review text, without any explanation.")
TARGET_U0 = ("## Target\n[Item Title]: Model 6 Steamer\n"
             "[Item Description]: A bamboo food steamer with two tiers for dumplings and vegetables.\n"
             "[Output Review Rating]: 2.0\n[Output Review Title]: steamer take 0\n[Review]:")
PAST_I2 = ("[Past Review 1]\n[Item Title]: Model 2 Toaster\n"
           "[Item Description]: A two slice toaster with wide slots for bagels and a defrost setting.\n"
           "[Rating]: 3.0\n[Review Title]: toaster take 0\n[Review]: Love it! Great toaster, works perfectly and "
           "looks amazing. Highly recommend to everyone! Review 24 of item 2.")


def predict(method_name, example, recipe=None, respond=None):
    recipe = recipe or load_recipe("sample")
    backend = FakeBackend(respond) if respond else FakeBackend()

    async def go():
        ctx = MethodContext(llm=LLM(backend, Sampling()), recipe=recipe, embedder=FakeEmbedder())
        return await get_method(method_name).predict(example, ctx)

    return asyncio.run(go()), backend


def test_nonpersonal_payload(test_examples):
    res, backend = predict("nonpersonal", test_examples["u0"])
    assert backend.messages_of(0) == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": TASK.format(context="") + "\n\n" + TARGET_U0},
    ]
    assert len(backend.requests) == 1
    assert res.raw.startswith("[Review]: fake review ") and res.prediction == res.raw[len("[Review]: "):]
    assert res.trace["truncation"]["reviews_truncated"] == 0


def test_rag_payload_top1(test_examples):
    recipe = load_recipe("sample", {"rag.k": 1})
    res, backend = predict("rag", test_examples["u0"], recipe)
    expected = TASK.format(context="and the user's past reviews, ") + "\n\n## Past reviews\n" + PAST_I2 + "\n\n" + TARGET_U0
    assert backend.messages_of(0)[1]["content"] == expected
    assert res.trace["retrieved"][0]["item_id"] == "i2" and res.trace["retrieved"][0]["position"] == 3


def test_rag_truncates_and_records_it(test_examples):
    recipe = load_recipe("sample", {"rag.k": 1, "generation.max_review_chars": 50})
    res, backend = predict("rag", test_examples["u0"], recipe)
    content = backend.messages_of(0)[1]["content"]
    assert "[Review]: Love it! Great toaster, works perfectly and...\n" in content  # cut at a word, marked
    assert res.trace["truncation"] == {"max_review_chars": 50, "max_description_chars": 300,
                                       "reviews_truncated": 1, "descriptions_truncated": 0,
                                       "prompt_style": "published"}


def test_pag_payload(test_examples):
    recipe = load_recipe("sample", {"rag.k": 1})

    def respond(req):
        return "  Likes gadgets.  " if req.messages[1]["content"].startswith(PAG_SUMMARY_TASK) else "Review: \"Nice.\""

    res, backend = predict("pag", test_examples["u0"], recipe, respond)
    assert len(backend.requests) == 2
    assert backend.messages_of(0)[1]["content"] == PAG_SUMMARY_TASK + "\n\n## Past reviews\n" + PAST_I2
    ctx_text = "the user's past reviews and a summary of the user's profile, "
    assert backend.messages_of(1)[1]["content"] == (
        TASK.format(context=ctx_text) + "\n\n## Past reviews\n" + PAST_I2 + "\n\n## User profile\nLikes gadgets.\n\n" + TARGET_U0)
    assert res.prediction == "Nice." and res.raw == "Review: \"Nice.\""
    assert res.trace["profile_summary"] == "Likes gadgets."


def test_dpl_payloads_and_call_count(test_examples):
    ex = test_examples["u0"]
    recipe = load_recipe("sample", {"dpl.n_items": 2, "rag.k": 1})

    def respond(req):
        text = req.messages[1]["content"]
        if text.startswith(DPL_DIFF_TASK):
            return "DIFF for " + text.split("[Item Title]: ")[1].split("\n")[0]
        if text.startswith(DPL_SUMMARY_TASK):
            return "SUMMARY"
        return "[Review]: final"

    res, backend = predict("dpl", ex, recipe, respond)
    assert len(backend.requests) == 2 + 2  # N difference calls + summary + generation
    items = res.trace["items"]
    assert [i["item_id"] for i in items] == ["i2", "i3"]  # BM25 order; both have >= 4 leak-free peers
    first = backend.messages_of(0)[1]["content"]
    assert first.startswith(DPL_DIFF_TASK + "\n\n## Item\n[Item Title]: Model 2 Toaster\n")
    assert "## This user's review\n[Rating]: 3.0\n[Review Title]: toaster take 0\n[Review]: Love it! Great toaster" in first
    for n, peer in enumerate(items[0]["peers"], 1):
        assert f"[Other User {n}]\n[Rating]: {peer['rating']:.1f}\n[Review Title]: {peer['title']}\n[Review]: {peer['text']}" in first
    summary = backend.messages_of(2)[1]["content"]
    assert summary.startswith(DPL_SUMMARY_TASK + "\n\n## Past reviews\n" + PAST_I2 + "\n\n[Past Review 2]")
    assert summary.endswith("## Differences from other users\n[Differences on \"Model 2 Toaster\"]\nDIFF for Model 2 "
                            "Toaster\n\n[Differences on \"Model 3 Mixer\"]\nDIFF for Model 3 Mixer")
    gen = backend.messages_of(3)[1]["content"]
    assert "## User profile\nSUMMARY\n\n" + TARGET_U0 in gen
    assert res.prediction == "final" and res.trace["summary"] == "SUMMARY"
    assert [i["difference"] for i in items] == ["DIFF for Model 2 Toaster", "DIFF for Model 3 Mixer"]


CHAT_TARGET_U0 = ("Now the customer rates \"Model 6 Steamer\" (A bamboo food steamer with two tiers for dumplings and "
                  "vegetables.) 2/5 and titles the review \"steamer take 0\".")


def test_chat_style_nonpersonal_payload(test_examples):
    from dpbench.methods import prompts_chat

    recipe = load_recipe("sample", {"generation.prompt_style": "chat"})
    res, backend = predict("nonpersonal", test_examples["u0"], recipe)
    assert backend.messages_of(0) == [
        {"role": "system", "content": prompts_chat.SYSTEM},
        {"role": "user", "content": CHAT_TARGET_U0 + "\n\nWrite the customer's review text: a few sentences of "
                                    "plain text, nothing else."},
    ]
    assert res.trace["truncation"]["prompt_style"] == "chat"


def test_chat_style_rag_carries_the_same_past_review(test_examples):
    recipe = load_recipe("sample", {"rag.k": 1, "generation.prompt_style": "chat"})
    _, backend = predict("rag", test_examples["u0"], recipe)
    content = backend.messages_of(0)[1]["content"]
    assert content.startswith("Reviews this customer wrote before:\n1. Model 2 Toaster (A two slice toaster with wide "
                              "slots for bagels and a defrost setting.): rated 3/5, titled \"toaster take 0\": Love it!")
    assert content.endswith("in the same voice as their earlier reviews: a few sentences of plain text, nothing else.")
    assert "[Item Title]" not in content
