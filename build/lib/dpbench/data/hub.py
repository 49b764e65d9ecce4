"""`--source hub`: fetch the raw JSONL files of McAuley-Lab/Amazon-Reviews-2023 into dpbench's cache.

The dataset's loading script is refused by new `datasets` releases, so the raw files themselves are
downloaded (huggingface_hub, resumable, cached) and then read like any local files. Offline, this
fails at once with a message naming the local-files option.
"""

from __future__ import annotations

import os
from pathlib import Path

from dpbench.errors import DataError
from dpbench.paths import cache_dir

HUB_REPO = "McAuley-Lab/Amazon-Reviews-2023"


def hub_filenames(category: str) -> list[str]:
    return [f"raw/review_categories/{category}.jsonl", f"raw/meta_categories/meta_{category}.jsonl"]


def offline_message(reason: str) -> str:
    return (
        f"cannot fetch {HUB_REPO} from the Hugging Face hub ({reason}). Download the raw files yourself "
        "(e.g. https://amazon-reviews-2023.github.io: {Category}.jsonl.gz and meta_{Category}.jsonl.gz) and pass "
        "their folder with --source PATH; or build the embedded sample with `dpbench build-data` (no --source)."
    )


def is_offline() -> bool:
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "DPBENCH_OFFLINE"))


def probe_hub(timeout_s: float = 5.0) -> str | None:
    """Fail fast: None when the hub's host answers a TCP connect, else why not (no retries here)."""
    import socket
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as e:
        return f"{host}:{port} is not reachable: {e}"
    return None


def fetch_hub_files(categories: list[str], dest: Path | None = None) -> list[Path]:
    """Download (or reuse from the cache) each category's review and metadata files."""
    if not categories:
        raise DataError("--source hub needs --categories (e.g. --categories Books,CDs_and_Vinyl), "
                        "or a recipe with data.categories")
    if is_offline():
        raise DataError(offline_message("HF_HUB_OFFLINE is set"))
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError
    except ImportError:  # pragma: no cover - datasets depends on huggingface_hub
        raise DataError(offline_message("huggingface_hub is not installed")) from None
    reason = probe_hub()
    if reason:
        raise DataError(offline_message(reason))
    dest = dest or cache_dir() / "hub"
    paths: list[Path] = []
    for cat in categories:
        for name in hub_filenames(cat):
            try:
                local = hf_hub_download(HUB_REPO, name, repo_type="dataset", cache_dir=str(dest), etag_timeout=10)
            except LocalEntryNotFoundError as e:  # no connection and nothing cached
                raise DataError(offline_message(f"not reachable and not cached: {str(e)[:160]}")) from None
            except EntryNotFoundError:
                raise DataError(f"{HUB_REPO} has no file {name}: is {cat!r} a 2023 category name "
                                "(e.g. Books, Movies_and_TV, CDs_and_Vinyl)?") from None
            except Exception as e:  # connection errors come in many classes; all mean unreachable
                raise DataError(offline_message(f"{type(e).__name__}: {str(e)[:200]}")) from None
            paths.append(link_with_category_name(Path(local), dest / "files", Path(name).name))
    return paths


def link_with_category_name(local: Path, folder: Path, name: str) -> Path:
    """The hub cache stores files under hashes; expose them under their category names."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.exists():
        try:
            target.symlink_to(local.resolve())
        except OSError:
            import shutil

            shutil.copyfile(local, target)
    return target
