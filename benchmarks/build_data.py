"""Speed and memory of `dpbench build-data` on large synthetic raw sets. Not a test.

    .venv/bin/python benchmarks/build_data.py [--sizes 1000000 5000000] [--recipe sample] [--python-at 1000000]
                                              [--paper-sizes 1000000] [--repeat 3] [--phases]

Two kinds of raw sets, written once under benchmarks/_work/ (git-ignored) and reused:
  - this script's own 2023-format set per --sizes (Books.jsonl + meta_Books.jsonl; long-tailed user
    activity and item popularity, ~1% exact duplicate lines, 1% texts repeated across a user's items,
    descriptions of 50-2500 chars), built with --recipe (default sample);
  - per --paper-sizes, the set of ../shared/bench/gen_amazon2023.py (seed 0; when ../shared is present),
    built with the paper recipe: the published pipeline took 1,586 s on its 1M set on the 2-core machines
    (DPL's data-create.py with local files), so the line prints dpbench's speed-up against that.
Each measurement runs in a fresh process, so peak RSS is its own, and --repeat times (scan and build
alternating; the median run is printed with the spread, since these machines are noisy):
  - a bare DuckDB scan of the same reviews file (read_json with the five used columns): reading alone;
  - the storage floor: the same native parse written to a DuckDB reviews table with a content id per
    review, the least any build must store (no cleaning, metadata, history or fingerprint);
  - the dpbench build (wall, CPU, peak RSS, peak scratch disk under --out, database size, ratio to the
    scan and to the floor, and its per-phase timings with --phases);
  - at --python-at, a straightforward per-row pure-Python build of the same recipe
    (tests/data/reference_impl.py) and a check that both give identical examples, reviews and history.
Wall times inflate when other work shares the cores; CPU seconds much less: compare those.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / "_work"
GEN_2023 = ROOT.parent / "shared" / "bench" / "gen_amazon2023.py"
PUBLISHED_1M_S = 1586.0  # DPL's data-create.py on gen_amazon2023's 1M set, 2 cores
WORDS = ["great", "story", "characters", "plot", "slow", "pacing", "twist", "ending", "author", "writing", "style", "vivid", "boring", "loved", "hated", "recommend", "again", "series", "sequel", "pages", "chapter", "dialogue", "world", "building", "emotional", "funny", "dark"]


def generate(n: int, folder: Path, seed: int = 0) -> list[Path]:
    """Write Books.jsonl (n review lines) and meta_Books.jsonl; reuse them when already there."""
    import numpy as np

    reviews, metas = folder / "Books.jsonl", folder / "meta_Books.jsonl"
    if reviews.exists() and metas.exists():
        return [reviews, metas]
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_users, n_items = max(n // 8, 10), max(n // 20, 10)
    # Long tails: index = floor(N * u^2), so the most active user / popular item has ~N^-1/2 of all reviews.
    users = (n_users * rng.random(n) ** 2).astype(np.int64)
    items = (n_items * rng.random(n) ** 2).astype(np.int64)
    ts = rng.integers(1_420_070_400_000, 1_700_000_000_000, n)
    ratings = rng.integers(1, 6, n)
    texts = [" ".join(rng.choice(WORDS, 40 + i % 30)) for i in range(4096)]
    t_idx = rng.integers(0, len(texts), n)
    repeat_text = rng.random(n) < 0.01
    dup = rng.random(n) < 0.01
    with open(reviews, "w", encoding="utf-8") as f:
        for k in range(n):
            u, it = f"U{users[k]:08d}", f"B{items[k]:09d}"
            text = texts[t_idx[k]] + ("" if repeat_text[k] else f" review {u} {it}")
            line = (f'{{"rating": {ratings[k]}.0, "title": "Title {t_idx[k] % 97}", "text": {json.dumps(text)}, '
                    f'"images": [], "asin": "{it}", "parent_asin": "{it}", "user_id": "{u}", '
                    f'"timestamp": {ts[k]}, "helpful_vote": 0, "verified_purchase": true}}\n')
            f.write(line)
            if dup[k]:
                f.write(line)
    desc_len = rng.integers(50, 2500, n_items)
    with open(metas, "w", encoding="utf-8") as f:
        for i in range(n_items):
            it = f"B{i:09d}"
            desc = ("A book about " + " ".join(WORDS) + ". ") * (desc_len[i] // 150 + 1)
            f.write(json.dumps({"main_category": "Books", "title": f"Book {i}", "average_rating": 4.1,
                                "rating_number": int(1 + i % 50), "features": [], "description": [desc[: desc_len[i]]],
                                "price": None, "images": [], "videos": [], "store": "S", "categories": ["Books"],
                                "details": {}, "parent_asin": it, "bought_together": None}) + "\n")
    return [reviews, metas]


def generate_2023(n: int, folder: Path) -> list[Path] | None:
    """gen_amazon2023.py's Books.jsonl + meta_Books.jsonl (seed 0), or None without ../shared."""
    reviews, metas = folder / "Books.jsonl", folder / "meta_Books.jsonl"
    if reviews.exists() and metas.exists():
        return [reviews, metas]
    if not GEN_2023.exists():
        return None
    subprocess.run([sys.executable, str(GEN_2023), "--reviews", str(n), "--out", str(folder)], check=True,
                   capture_output=True)
    return [reviews, metas]


# Peak bytes under a folder, sampled by a thread of the child (the build's scratch: spill files, the
# texts database when it is on disk, the database being written).
_DISK_WATCH = """import os, threading
peak = [0]
def _watch(folder, stop):
    while not stop.wait(0.2):
        total = 0
        for root, _, names in os.walk(folder):
            for nm in names:
                try:
                    total += os.path.getsize(os.path.join(root, nm))
                except OSError:
                    pass
        peak[0] = max(peak[0], total)
"""


def child(code: str, watch: Path | None = None) -> dict:
    """Run code in a fresh interpreter; it prints one JSON line; add its peak RSS (and peak disk use
    under `watch`)."""
    start = (f"{_DISK_WATCH}stop = threading.Event()\nthreading.Thread(target=_watch, args=({str(watch)!r}, stop), "
             "daemon=True).start()\n") if watch else ""
    end = "stop.set()\nres['peak_disk_mb'] = round(peak[0] / 1e6)\n" if watch else ""
    wrapper = (f"import json, resource, sys, time\nsys.path.insert(0, {str(ROOT)!r})\n{start}t0 = time.perf_counter()\n"
               f"{code}\nres['wall_s'] = round(time.perf_counter() - t0, 2)\n{end}"
               "ru = resource.getrusage(resource.RUSAGE_SELF)\n"
               "res['peak_rss_mb'] = round(ru.ru_maxrss / 1024)\n"
               "res['cpu_s'] = round(ru.ru_utime + ru.ru_stime, 2)\n"
               "print(json.dumps(res))")
    proc = subprocess.run([sys.executable, "-c", wrapper], check=False, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    return json.loads([ln for ln in proc.stdout.splitlines() if ln.startswith("{")][-1])


def bare_scan(path: Path) -> dict:
    return child(f"""import duckdb
con = duckdb.connect()
n, u, t = con.execute('''SELECT count(*), count(DISTINCT user_id), sum(length(text)) FROM read_json(?,
    format='newline_delimited', columns={{'user_id': 'VARCHAR', 'parent_asin': 'VARCHAR', 'rating': 'DOUBLE',
    'text': 'VARCHAR', 'timestamp': 'BIGINT'}})''', [{str(path)!r}]).fetchone()
res = {{'rows': n}}""")


def storage_floor(path: Path, out: Path) -> dict:
    """What any build must at least do with the reviews file: one native parse of it into a reviews
    table with a content id per review (dpbench's review_id: an md5 of category, user, item, time and
    text), written to a DuckDB file. No cleaning, filters, metadata, history or fingerprint."""
    db = out.parent / f"{out.name}_floor.duckdb"
    db.unlink(missing_ok=True)
    try:
        return child(f"""import duckdb
con = duckdb.connect({str(db)!r})
con.execute('''CREATE TABLE reviews AS
    SELECT substr(md5(concat_ws(chr(31), 'Books', user_id, parent_asin, timestamp::VARCHAR, text)), 1, 20) AS review_id,
           user_id, parent_asin AS item_id, rating, title, text, timestamp AS ts
    FROM read_json(?, format='newline_delimited', columns={{'user_id': 'VARCHAR', 'parent_asin': 'VARCHAR',
         'rating': 'DOUBLE', 'title': 'VARCHAR', 'text': 'VARCHAR', 'timestamp': 'BIGINT'}})''', [{str(path)!r}])
con.execute('CHECKPOINT')
con.close()
res = {{}}""")
    finally:
        db.unlink(missing_ok=True)


def dpbench_build(paths: list[Path], out: Path, recipe: str) -> dict:
    shutil.rmtree(out, ignore_errors=True)  # not timed: deleting the last run's 1 GB database
    out.mkdir(parents=True)
    return child(f"""from pathlib import Path
from dpbench.data.build import build_benchmark
from dpbench.recipes import load_recipe
r = build_benchmark({[str(p) for p in paths]!r}, load_recipe({recipe!r}, {{'data.categories': ['Books']}}), Path({str(out)!r}))
res = {{'counts': r.counts, 'loops': r.loops, 'db_mb': round(r.database_bytes / 1e6, 1), 'fingerprint': r.fingerprint,
        'timings': r.timings}}""", watch=out)


def python_build(paths: list[Path], out: Path, recipe: str) -> dict:
    """The per-row pure-Python build, then a comparison with the dpbench database (not timed)."""
    return child(f"""import duckdb
from pathlib import Path
from dpbench.recipes import load_recipe
from tests.data.reference_impl import build_reference
ref = build_reference([Path(p) for p in {[str(p) for p in paths]!r}], load_recipe({recipe!r}, {{'data.categories': ['Books']}}).data)
wall = time.perf_counter() - t0
con = duckdb.connect({str(out / 'benchmark.duckdb')!r}, read_only=True)
con.execute('SET enable_progress_bar = false')
ex = {{r[0]: (r[1], r[2], r[3]) for r in con.execute('SELECT example_id, split, user_id, target_review_id FROM examples').fetchall()}}
rv = {{r[0]: (r[1], r[2], r[3], r[4]) for r in con.execute('SELECT review_id, user_id, item_id, ts, text FROM reviews').fetchall()}}
hist = {{}}
for eid, rid in con.execute('SELECT example_id, review_id FROM history ORDER BY example_id, position').fetchall():
    hist.setdefault(eid, []).append(rid)
same = ex == ref['examples'] and rv == ref['reviews'] and hist == {{k: v for k, v in ref['history'].items() if v}}
res = {{'python_wall_s': round(wall, 2), 'identical': same, 'examples': len(ref['examples'])}}""")


def median_run(runs: list[dict]) -> dict:
    """The run with the median wall time (an odd count: a real run, not an average of runs)."""
    return sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]


def spread(runs: list[dict], key: str) -> str:
    values = sorted(r[key] for r in runs)
    return f" (min {values[0]:.2f}, max {values[-1]:.2f} of {len(values)})" if len(values) > 1 else ""


def report(title: str, paths: list[Path], recipe: str, out: Path, python: bool, phases: bool,
           published_s: float | None = None, repeat: int = 1) -> None:
    with open(paths[0], "rb") as f:
        lines = sum(1 for _ in f)
    mb = paths[0].stat().st_size / 1e6
    print(f"\n== {title}: {lines:,} review lines, {mb:,.0f} MB; recipe {recipe}")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times inflate under load; "
          "CPU seconds do not)")
    # Scan, floor and build alternate, each in a fresh process; the median of each is printed, with the spread.
    scans, floors, builds = [], [], []
    for _ in range(repeat):
        scans.append(bare_scan(paths[0]))
        floors.append(storage_floor(paths[0], out))
        builds.append(dpbench_build(paths, out, recipe))
    scan, floor, build = median_run(scans), median_run(floors), median_run(builds)
    fingerprints = {b["fingerprint"] for b in builds}
    assert len(fingerprints) == 1, f"builds of the same files disagree: {fingerprints}"
    c = build["counts"]
    print(f"bare DuckDB scan : {scan['wall_s']:7.2f} s wall  {scan['cpu_s']:7.2f} s CPU  "
          f"{lines / scan['wall_s']:>10,.0f} reviews/s  peak RSS {scan['peak_rss_mb']:,} MB{spread(scans, 'wall_s')}")
    print(f"storage floor    : {floor['wall_s']:7.2f} s wall  {floor['cpu_s']:7.2f} s CPU  "
          f"{lines / floor['wall_s']:>10,.0f} reviews/s  peak RSS {floor['peak_rss_mb']:,} MB{spread(floors, 'wall_s')}  "
          f"ratio to scan {floor['wall_s'] / scan['wall_s']:.1f}x wall, {floor['cpu_s'] / scan['cpu_s']:.1f}x CPU "
          "(one parse into a reviews table with content ids; nothing else)")
    if repeat > 1:
        print(f"dpbench build    : median of {repeat}; wall{spread(builds, 'wall_s')}, CPU{spread(builds, 'cpu_s')}")
    print(f"dpbench build    : {build['wall_s']:7.2f} s wall  {build['cpu_s']:7.2f} s CPU  "
          f"{lines / build['wall_s']:>10,.0f} reviews/s  peak RSS {build['peak_rss_mb']:,} MB  "
          f"scratch+output disk peak {build['peak_disk_mb']:,} MB  db {build['db_mb']:,} MB  "
          f"ratio to scan {build['wall_s'] / scan['wall_s']:.1f}x wall, {build['cpu_s'] / scan['cpu_s']:.1f}x CPU; "
          f"to the floor {build['wall_s'] / floor['wall_s']:.1f}x wall, {build['cpu_s'] / floor['cpu_s']:.1f}x CPU")
    print(f"  {c['users']:,} users, {c['items']:,} items, {c['reviews']:,} reviews, {c['examples']:,} examples, "
          f"{c['history']:,} history rows; loops {build['loops']}; fingerprint {build['fingerprint']}")
    if published_s:
        print(f"  published pipeline on this set: {published_s:,.0f} s -> dpbench {published_s / build['wall_s']:.0f}x "
              "faster (wall)")
    if phases:
        for name, v in build["timings"].items():
            print(f"    {name:34s} {v['wall_s']:7.2f} s wall {v['cpu_s']:7.2f} s CPU")
    if python:
        py = python_build(paths, out, recipe)
        print(f"pure Python      : {py['python_wall_s']:7.2f} s wall (build only; {py['cpu_s']:.1f} s CPU incl. the "
              f"comparison)  {lines / py['python_wall_s']:>10,.0f} reviews/s  peak RSS {py['peak_rss_mb']:,} MB  "
              f"dpbench is {py['python_wall_s'] / build['wall_s']:.1f}x faster (wall); identical outputs: {py['identical']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[1_000_000, 5_000_000])
    ap.add_argument("--recipe", default="sample")
    ap.add_argument("--paper-sizes", type=int, nargs="*", default=[1_000_000],
                    help="gen_amazon2023.py sets built with the paper recipe (needs ../shared)")
    ap.add_argument("--python-at", type=int, default=1_000_000, help="size at which to time the pure-Python build")
    ap.add_argument("--phases", action="store_true", help="print each build's per-phase timings")
    ap.add_argument("--repeat", type=int, default=3, help="builds (and scans) per set; the median is printed")
    args = ap.parse_args()
    for n in args.paper_sizes:
        paths = generate_2023(n, WORK / f"gen_{n}")
        if paths is None:
            print(f"\n(no {GEN_2023}: the paper-recipe figure needs ../shared)")
            break
        report(f"gen_amazon2023.py, {n:,} reviews", paths, "paper", WORK / f"bench_gen_{n}_paper",
               n == args.python_at, args.phases, PUBLISHED_1M_S if n == 1_000_000 else None, args.repeat)
    for n in args.sizes:
        paths = generate(n, WORK / f"raw_{n}")
        report(f"{n:,} synthetic reviews (this script's generator)", paths, args.recipe, WORK / f"bench_{n}_{args.recipe}",
               n == args.python_at, args.phases, repeat=args.repeat)


if __name__ == "__main__":
    main()
