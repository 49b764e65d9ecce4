"""The dataset card (README.md) of an exported benchmark, and sharing it on the Hugging Face hub.

The card is what the hub shows and what `huggingface_hub.DatasetCard.load` reads: YAML metadata
(licence, language, task, size, tags) and a body with the recipe, the counts per split and category,
the schema of each split, the source files' fingerprints, how the peers are kept leak-free, and the
raw data's licence. Everything comes from the benchmark's own build_info, so the card always matches
the data beside it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import duckdb

from dpbench.errors import DpbenchError

RAW_DATA_NOTE = (
    "The reviews and item metadata come from the Amazon Reviews dataset of the McAuley Lab (UCSD): "
    "https://amazon-reviews-2023.github.io/ (older releases: https://cseweb.ucsd.edu/~jmcauley/datasets.html). "
    "They are distributed by their authors for research use; this derived benchmark inherits those terms. "
    "Cite the dataset's authors (Hou et al., 2024, *Bridging Language and Items for Retrieval and "
    "Recommendation*) when you use it."
)
LEAK_FREE = (
    "For an example (user u, target review at time t) and an item j in u's history, the *peers* are other "
    "users' reviews of j written strictly before t (`peer_ts < target_ts`, never u's own). Reviews at the same "
    "time as the target are neither history nor peers. The published DPL/DEP pipelines take peers from the "
    "whole split, including reviews written after the target; this benchmark does not, and `dpbench validate` "
    "proves that no peer row violates the rule."
)


def build_info(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    out = {}
    for key, value in con.execute("SELECT key, value FROM build_info").fetchall():
        try:
            out[key] = json.loads(value)
        except (TypeError, ValueError):
            out[key] = value
    return out


def split_counts(con) -> list[tuple[str, str, int]]:
    return con.execute(
        """SELECT e.split, coalesce(i.category, ''), count(*) FROM examples e
           LEFT JOIN items i ON i.item_id = e.item_id GROUP BY ALL ORDER BY 1, 2""").fetchall()


def size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if n < limit:
            return name
    return "1M<n<10M"


def schema_lines(features: dict[str, Any] | None) -> list[str]:
    if not features:
        return []
    return [f"| `{name}` | {kind} |" for name, kind in features.items()]


def card_text(con: duckdb.DuckDBPyConnection, name: str, features: dict[str, Any] | None = None) -> str:
    """README.md of an export: YAML metadata, then the benchmark described from its build_info."""
    info = build_info(con)
    counts = split_counts(con)
    total = sum(n for _, _, n in counts)
    recipe = info.get("recipe") or {}
    categories = sorted({c for _, c, _ in counts if c})
    meta = ["---", "license: other", "license_name: amazon-reviews-research-use",
            "language:", "- en", "task_categories:", "- text-generation", "tags:", "- personalization",
            "- review-generation", "- amazon-reviews", "- dpbench", "size_categories:", f"- {size_category(total)}",
            f"pretty_name: {name}", "---", ""]
    body = [f"# {name}", "",
            "Personalized review generation: for one user and one target item, write the user's review. Built "
            f"with `dpbench build-data` (dpbench {info.get('dpbench_version', '?')}), recipe "
            f"`{info.get('recipe_name', recipe.get('name', '?'))}` (hash `{info.get('recipe_hash', '?')}`), "
            f"content fingerprint `{info.get('fingerprint', '?')}`.", "",
            "## Examples per split and category", "", "| split | category | examples |", "|---|---|---|"]
    body += [f"| {s} | {c or '—'} | {n:,} |" for s, c, n in counts] + [""]
    body += ["## Fields", "",
             "Each row is one example: the target item (`item_title`, `item_description`), the target review's "
             "`rating` and `review_title` (given, as in the papers), the `reference` review text to generate, and "
             "the user's earlier reviews in `history` (most recent first).", ""]
    fields = schema_lines(features)
    if fields:
        body += ["| column | type |", "|---|---|", *fields, ""]
    body += ["## How it was built", "",
             f"Categories: {', '.join(categories) or '—'} (each built on its own: a user's history and peers come "
             "from one category). The resolved recipe (every threshold and rule, in the order applied):", "",
             "```json", json.dumps(recipe.get("data", recipe), indent=2, sort_keys=True), "```", "",
             "## Leak-free peers", "", LEAK_FREE, "",
             "## Source files", "", "| file | release | lines | sha256 |", "|---|---|---|---|"]
    body += [f"| {s.get('name')} | {s.get('schema')} | {s.get('lines', '')} | `{s.get('sha256', '')}` |"
             for s in info.get("sources") or [] if isinstance(s, dict)]
    body += ["", "## Licence of the raw data", "", RAW_DATA_NOTE, ""]
    return "\n".join(meta + body)


def hf_features(folder: Path) -> dict[str, str] | None:
    """Column → type of the exported DatasetDict's first split."""
    try:
        from datasets import load_from_disk

        dd = load_from_disk(str(folder))
        first = next(iter(dd.values()))
        return {k: str(v) for k, v in first.features.items()}
    except (FileNotFoundError, ValueError, StopIteration):
        return None


def write_card(db: Path, folder: Path, name: str) -> Path:
    con = duckdb.connect(str(db), read_only=True)
    try:
        text = card_text(con, name, hf_features(folder))
    finally:
        con.close()
    path = Path(folder) / "README.md"
    path.write_text(text, encoding="utf-8")
    return path


def push_to_hub(folder: Path, repo_id: str, private: bool = False) -> str:
    """Upload an `hf` export (its DatasetDict and card) to the hub; online users only."""
    if os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1":
        raise DpbenchError(f"--push-to-hub {repo_id}: the hub is switched off here (HF_HUB_OFFLINE=1); the export "
                           f"in {folder} is complete, push it later with the same command online")
    from datasets import load_from_disk
    from huggingface_hub import HfApi

    try:
        dd = load_from_disk(str(folder))
        dd.push_to_hub(repo_id, private=private)
        HfApi().upload_file(path_or_fileobj=str(Path(folder) / "README.md"), path_in_repo="README.md",
                            repo_id=repo_id, repo_type="dataset")
    except OSError as e:  # connection refused / DNS: httpx and requests errors derive from OSError
        raise DpbenchError(f"--push-to-hub {repo_id}: the hub is unreachable ({type(e).__name__}: {e}); the "
                           f"export in {folder} is complete") from None
    return f"https://huggingface.co/datasets/{repo_id}"
