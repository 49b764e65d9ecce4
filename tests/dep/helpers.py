"""Test fixtures for DEP: a tiny benchmark.duckdb (tables per ARCHITECTURE.md), a tiny random Llama
with a tokenizer trained in code, and a deterministic fake embedder. Plumbing only, never evidence."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import numpy as np

WORDS = ["great", "good", "bad", "fine", "love", "hate", "sound", "story", "plot", "book", "music", "song", "movie", "actor", "fun", "dull", "long", "short", "easy", "hard", "slow", "fast", "loud", "quiet", "warm", "cold", "bright", "dark", "clean", "cheap", "works", "broke", "again", "never", "always", "really", "very", "quite", "the", "a", "and", "but", "it", "is", "was", "this", "that", "i", "my", "for", "to", "of", "in", "with", "on", "not"]


class FakeEmbedder:
    """Hash-seeded unit vectors: identical texts give identical rows, like the real cache."""

    name = "fake"

    def __init__(self, dim: int = 16):
        self.dim = dim
        self.calls = 0

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        self.calls += 1
        rows = []
        for t in texts:
            seed = int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows) if rows else np.zeros((0, self.dim), np.float32)


def make_tokenizer():
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(special_tokens=["<pad>", "<unk>", "<eos>"])
    prompt_words = ("Past products this user reviewed Product Description Rating stars Review title "
                    "Write review text for the product with style how they differ from other reviewers ( ) : - . ,")
    corpus = [" ".join(WORDS), prompt_words]
    tk.train_from_iterator(corpus, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>", unk_token="<unk>", eos_token="<eos>")
    return tok


def make_tiny_llm(vocab_size: int, seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
                      pad_token_id=0, eos_token_id=2, bos_token_id=2, tie_word_embeddings=False,
                      initializer_range=0.3)  # large enough that inputs move the logits
    model = LlamaForCausalLM(cfg).eval()
    return model


def save_tiny_model(dir_: Path) -> Path:
    """A local model directory that dpbench.models.load_causal_lm(path) loads."""
    tok = make_tokenizer()
    model = make_tiny_llm(len(tok))
    model.save_pretrained(str(dir_))
    tok.save_pretrained(str(dir_))
    return dir_


def _text(rng: np.random.Generator, style: str, n: int = 8) -> str:
    return " ".join([style] + [WORDS[i] for i in rng.integers(0, len(WORDS), n)] + [style])


def make_tiny_benchmark(out_dir: Path, n_users: int = 6, n_items: int = 10, per_user: int = 7, seed: int = 0,
                        n_targets: int = 3) -> Path:
    """benchmark.duckdb with users who each repeat a style word; the last n_targets reviews per user
    are targets (the last two val and test, the others train); peers are other users' reviews of history items before the target."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "benchmark.duckdb"
    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    items = [(f"I{j}", f"item {WORDS[j]} {WORDS[j + 1]}", f"a {WORDS[j + 2]} thing", "Test") for j in range(n_items)]
    reviews = []
    for u in range(n_users):
        style = WORDS[u % 8]
        chosen = rng.choice(n_items, size=per_user, replace=False)
        for k, j in enumerate(chosen):
            ts = 1_000_000 + 1000 * (k * n_users + u)  # interleaved in time across users
            reviews.append((f"R{u}_{k}", f"U{u}", f"I{j}", float(1 + (u + k) % 5), f"{WORDS[k]} title",
                            _text(rng, style), ts))
    con.execute("CREATE TABLE items(item_id VARCHAR, title VARCHAR, description VARCHAR, category VARCHAR)")
    con.executemany("INSERT INTO items VALUES (?,?,?,?)", items)
    con.execute("CREATE TABLE reviews(review_id VARCHAR, user_id VARCHAR, item_id VARCHAR, rating DOUBLE, "
                "title VARCHAR, text VARCHAR, ts BIGINT)")
    con.executemany("INSERT INTO reviews VALUES (?,?,?,?,?,?,?)", reviews)
    con.execute(f"""
        CREATE TABLE ranked AS SELECT *, row_number() OVER (PARTITION BY user_id ORDER BY ts DESC) AS rn_desc
        FROM reviews;
        CREATE TABLE examples AS SELECT 'E' || review_id AS example_id,
            CASE rn_desc WHEN 1 THEN 'test' WHEN 2 THEN 'val' ELSE 'train' END AS split,
            user_id, item_id, review_id AS target_review_id, ts AS target_ts, rating,
            title AS review_title, text AS reference
        FROM ranked WHERE rn_desc <= {n_targets};
        CREATE TABLE history AS SELECT e.example_id,
            (row_number() OVER (PARTITION BY e.example_id ORDER BY r.ts DESC) - 1)::INT AS position,
            r.review_id, r.item_id, r.ts
        FROM examples e JOIN reviews r ON r.user_id = e.user_id AND r.ts < e.target_ts;
        CREATE TABLE peers AS SELECT h.example_id, h.item_id, r.user_id AS peer_user_id,
            r.review_id AS peer_review_id, r.ts AS peer_ts
        FROM history h JOIN examples e USING (example_id)
        JOIN reviews r ON r.item_id = h.item_id AND r.user_id <> e.user_id AND r.ts < e.target_ts;
        CREATE TABLE build_info(key VARCHAR, value VARCHAR);
        INSERT INTO build_info VALUES ('fingerprint', 'tiny-test-{n_targets}');
        DROP TABLE ranked;
    """)
    con.close()
    return out_dir


def tiny_items(data_dir: Path, tok, split: str, n_slots: int = 4, dim: int = 16, max_prompt: int = 400,
               limit: int | None = None, ablate: str = "none"):
    """DepItems straight from a tiny benchmark, with the fake embedder."""
    from dpbench.data.examples import connect, load_examples, select_example_ids
    from dpbench.methods.dep.batches import DepItem, encode_target
    from dpbench.methods.dep.inputs import build_all_inputs
    from dpbench.methods.dep.prompts import encode_prompt

    con = connect(data_dir)
    exs = load_examples(con, select_example_ids(con, split, limit), with_peers=True)
    inputs = build_all_inputs(exs, FakeEmbedder(dim), n_slots, ablate=ablate)
    return [DepItem(encode_prompt(tok, ex, inp, n_slots, max_prompt, 100), inp, encode_target(tok, ex.reference, 12))
            for ex, inp in zip(exs, inputs)]


def tiny_training_setup(root: Path, n_targets: int = 4, n_slots: int = 4):
    """(data dir, tokenizer with placeholders, placeholder ids, frozen tiny LLM): what the DEP training
    tests share; each takes its items from the data dir."""
    from dpbench.methods.dep.model import add_placeholder_tokens, freeze

    data = make_tiny_benchmark(root, n_users=6, n_targets=n_targets)
    tok = make_tokenizer()
    ph = add_placeholder_tokens(tok, n_slots)
    llm = make_tiny_llm(len(tok) - len(ph))
    freeze(llm)
    return data, tok, ph, llm
