"""Raw review files: find them, recognise their release (2023 / 2018 / 2014), read them as numbered lines.

Lines are read in large blocks and split with numpy into Arrow string arrays, so line numbers survive
(every reject can name file:line), invalid UTF-8 is caught per line, and JSON parsing happens later
in DuckDB SQL (see dpbench/data/stage.py). `.parquet` files become one JSON line per row.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dpbench.errors import DataError

SCHEMAS = ("2023", "2018", "2014")
# File names of the three releases: {Category}.jsonl(.gz), meta_{Category}.jsonl(.gz) (2023);
# reviews_{Category}_5.json.gz (2014), {Category}_5.json.gz and meta_{Category}.json.gz (2018).
_SUFFIXES = (".jsonl.gz", ".json.gz", ".jsonl", ".json", ".parquet")
_BLOCK = 1 << 25  # 32 MiB of decompressed text per batch


@dataclass(frozen=True)
class RawFile:
    path: Path
    kind: str  # "reviews" | "meta"
    category: str
    schema: str  # "2023" | "2018" | "2014" | "empty"


def reread(rf: RawFile) -> bool:
    """Whether this file's texts are read again at the end of a build instead of staged (data/texts.py):
    plain review lines in a regular file (a pipe cannot be read twice), which cost less to read twice
    than to stage."""
    if rf.kind != "reviews" or rf.schema == "empty" or rf.path.name.endswith(".parquet") or not rf.path.is_file():
        return False
    with open(rf.path, "rb") as f:
        return f.read(2) != b"\x1f\x8b"


@dataclass(frozen=True)
class Stamp:
    """What must not change between the two reads of a file."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> Stamp:
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns)


def split_name(path: Path) -> tuple[str, str] | None:
    """(kind guessed from the name, category) or None when the name is not a raw data file."""
    name = path.name
    suffix = next((s for s in _SUFFIXES if name.endswith(s)), None)
    if suffix is None:
        return None
    stem = name[: -len(suffix)]
    if stem.startswith("meta_"):
        return "meta", stem[len("meta_"):]
    m = re.fullmatch(r"(?:reviews_)?(.+?)_5", stem)
    if m:
        return "reviews", m.group(1)
    return "reviews", stem


def scan_dir(root: Path) -> list[Path]:
    """Raw data files under a directory (recursively), sorted so file order never depends on the OS."""
    return sorted(p for p in root.rglob("*") if p.is_file() and split_name(p) is not None)


def open_binary(path: Path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def sniff_records(path: Path, limit: int = 50) -> list[dict]:
    """The first few JSON objects of a file (bad lines skipped), to recognise its schema."""
    if path.name.endswith(".parquet"):
        import duckdb

        con = duckdb.connect()
        rows = con.execute(f"SELECT to_json(t)::VARCHAR FROM read_parquet(?) t LIMIT {limit}", [str(path)]).fetchall()
        return [json.loads(r[0]) for r in rows]
    out: list[dict] = []
    try:
        with open_binary(path) as f:
            for i, raw in enumerate(f):
                if i > 5000 or len(out) >= limit:
                    break
                try:
                    obj = json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    continue
                if isinstance(obj, dict):
                    out.append(obj)
    except (OSError, EOFError) as e:
        raise DataError(f"cannot read {path}: {e}") from None
    return out


def detect_schema(records: list[dict]) -> tuple[str, str] | None:
    """(kind, release) from the keys of a file's first records, or None when nothing matches."""
    keys: set[str] = set()
    for r in records:
        keys |= set(r)
    if {"user_id", "text"} <= keys and ("parent_asin" in keys or "asin" in keys):
        return "reviews", "2023"
    if "reviewerID" in keys and "asin" in keys:
        return "reviews", ("2014" if "helpful" in keys and "verified" not in keys else "2018")
    if "parent_asin" in keys and ({"main_category", "rating_number", "features"} & keys):
        return "meta", "2023"
    if "asin" in keys and ({"title", "description", "category", "categories"} & keys):
        return "meta", ("2014" if "salesRank" in keys or "categories" in keys else "2018")
    return None


def describe_file(path: Path, schema: str | None = None) -> RawFile:
    """Recognise one file: kind and category from its name, release from its keys (or --schema)."""
    if not path.exists():
        raise DataError(f"source file not found: {path}")
    named = split_name(path)
    if named is None:
        raise DataError(
            f"{path}: not a raw review file (expected .jsonl, .jsonl.gz, .json.gz or .parquet, named "
            "{Category}.jsonl.gz / meta_{Category}.jsonl.gz or the 2014/2018 names)"
        )
    kind, category = named
    records = sniff_records(path)
    if not records:
        return RawFile(path, kind, category, "empty")
    found = detect_schema(records)
    if found is None and schema is None:
        keys = sorted({k for r in records for k in r})[:15]
        raise DataError(
            f"{path}: unknown schema; its records have keys {keys}. Expected Amazon reviews of the 2023 "
            "release (user_id, parent_asin, rating, title, text, timestamp), 2018/2014 (reviewerID, asin, "
            "overall, summary, reviewText, unixReviewTime) or their metadata. If the file is one of these, "
            "pass --schema 2023|2018|2014."
        )
    if found is not None:
        kind = found[0] if not path.name.startswith("meta_") else "meta"
    return RawFile(path, kind, category, schema or (found[1] if found else "2023"))


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def iter_line_batches(path: Path, block: int = _BLOCK, hasher=None) -> Iterator[object]:
    """Yield Arrow tables (line INT64 1-based, text VARCHAR or NULL for invalid UTF-8), empty lines dropped.
    `hasher` (hashlib object) is fed the file's decompressed bytes on the way, saving a second read."""
    if path.name.endswith(".parquet"):
        if hasher is not None:
            hasher.update(file_sha256(path).encode())
        yield from _iter_parquet_batches(path)
        return
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    first_line = 1
    rest = b""
    # hashlib releases the GIL, so the digest of a block runs on its own thread beside the parsing
    # (one worker: the blocks are hashed in file order).
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") if hasher is not None else None
    try:
        with open_binary(path) as f:
            while True:
                # A fresh buffer per block, filled in place (the Arrow arrays of the last block still
                # point into the previous one): the text is never copied in Python. It comes from
                # Arrow's memory pool, which reuses freed blocks (a new bytearray per block made the
                # kernel map and zero the whole file's size again).
                buf = pa.allocate_buffer(len(rest) + block)
                view = memoryview(buf).cast("B")
                view[: len(rest)] = rest
                got = read_into(f, view[len(rest):])
                if got == 0:
                    break
                end = len(rest) + got
                if hashing is not None:
                    hashing.submit(hasher.update, view[len(rest): end])
                cut = last_newline(view, end)
                if cut < 0:
                    rest = bytes(view[:end])
                    continue
                rest = bytes(view[cut + 1: end])
                table, n = lines_to_table(view[: cut + 1], first_line)
                first_line += n
                if table is not None:
                    yield table
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"cannot read {path}: {e} (is the file truncated or not really gzip?)") from None
    finally:
        if hashing is not None:
            hashing.shutdown(wait=True)
    if rest:
        table, _ = lines_to_table(rest + b"\n", first_line)
        if table is not None:
            yield table


def last_newline(view: memoryview, end: int) -> int:
    """Index of the last b"\\n" in view[:end], or -1; looks at a growing tail, not the whole block."""
    hi, step = end, 1 << 16
    while hi > 0:
        lo = max(0, hi - step)
        i = bytes(view[lo:hi]).rfind(b"\n")
        if i >= 0:
            return lo + i
        hi, step = lo, step * 2
    return -1


def read_into(f, view: memoryview) -> int:
    """Fill `view` from f (gzip and plain reads may return less than asked); the bytes read."""
    pos = 0
    while pos < len(view):
        n = f.readinto(view[pos:])
        if not n:
            break
        pos += n
    return pos


def lines_to_table(buf, first_line: int):
    """Split a buffer of complete lines (ending in \\n) into an Arrow table without a Python loop.

    Each value keeps its line end (JSON parsing ignores trailing whitespace), so the Arrow array
    is built over the buffer itself: offsets only, no copy of the text.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = np.frombuffer(buf, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10)
    n = len(ends)
    offsets = np.empty(n + 1, dtype=np.int64)
    offsets[0] = 0
    offsets[1:] = ends + 1
    binary = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf)]
    )
    line_no = pa.array(np.arange(first_line, first_line + n, dtype=np.int64))
    lengths = np.diff(offsets)
    blank = (lengths == 1) | ((lengths == 2) & (arr[np.maximum(ends - 1, 0)] == 13))
    if blank.any():
        keep = pa.array(~blank)
        binary, line_no = pc.filter(binary, keep), pc.filter(line_no, keep)
    if len(binary) == 0:
        return None, n
    try:
        text = binary.cast(pa.large_string())
    except pa.ArrowInvalid:
        text = pa.array([_decode_or_none(b) for b in binary.to_pylist()], type=pa.large_string())
    return pa.table({"line": line_no, "text": text}), n


def _decode_or_none(b: bytes) -> str | None:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _iter_parquet_batches(path: Path):
    import duckdb

    con = duckdb.connect()
    rel = con.sql(
        "SELECT row_number() OVER () AS line, to_json(t)::VARCHAR AS text FROM read_parquet(?) t", params=[str(path)]
    )
    yield rel.to_arrow_table()
