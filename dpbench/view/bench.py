"""What the view reads from a benchmark.duckdb: the examples, each user's newest history entries (and
every entry a method used, whatever its position), the items they name, and reviews by id.

History is read capped in SQL: a paper-recipe user has up to 500 past reviews, and the page carries
only the newest `max_history` of them (the count of all is kept, so the page can say what it left out).
"""

from __future__ import annotations

from collections.abc import Iterable

from dpbench.view.model import ExampleView, ItemText, ReviewText

HARD_CAP = 8000  # no text held in memory is longer (the page cuts further)


def clip(text: str | None, limit: int = HARD_CAP) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit]


def read_examples(con, benchmark: str, ids: list[str], used: dict[str, set[str]], max_history: int,
                  reviews: dict[str, ReviewText]) -> dict[str, ExampleView]:
    """Examples by id, their history newest first (the newest `max_history` entries, plus those in
    `used[example_id]`); history reviews go into `reviews`."""
    if not ids:
        return {}
    con.execute("CREATE OR REPLACE TEMP TABLE _view_want AS SELECT unnest(?::VARCHAR[]) AS example_id", [ids])
    pairs = [(e, r) for e, rs in used.items() for r in rs]
    con.execute("CREATE OR REPLACE TEMP TABLE _view_used AS SELECT DISTINCT unnest(?::VARCHAR[]) AS example_id, "
                "unnest(?::VARCHAR[]) AS review_id", [[p[0] for p in pairs], [p[1] for p in pairs]])
    try:
        rows = con.execute(
            """SELECT e.example_id, e.split, e.user_id, e.item_id, e.target_ts, e.rating, e.review_title,
                      e.reference, coalesce(i.description, '')
               FROM examples e JOIN _view_want USING (example_id)
               LEFT JOIN items i ON i.item_id = e.item_id""").fetchall()
        out = {r[0]: ExampleView(r[0], benchmark, r[1], r[2], r[3], int(r[4] or 0), float(r[5] or 0),
                                 clip(r[6]), clip(r[7]), clip(r[8])) for r in rows}
        hist = con.execute(
            """SELECT h.example_id, h.position, r.review_id, r.user_id, r.item_id, r.rating, r.title, r.text,
                      r.ts, count(*) OVER (PARTITION BY h.example_id) AS n, u.review_id IS NOT NULL AS used
               FROM history h JOIN _view_want USING (example_id)
               JOIN reviews r ON r.review_id = h.review_id
               LEFT JOIN _view_used u ON u.example_id = h.example_id AND u.review_id = h.review_id
               QUALIFY h.position < ? OR used
               ORDER BY h.example_id, h.position""", [max_history]).fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _view_want")
        con.execute("DROP TABLE IF EXISTS _view_used")
    for r in hist:
        ex = out.get(r[0])
        if ex is None:
            continue
        ex.history.append((int(r[1]), r[2]))
        ex.n_history = int(r[9])
        reviews.setdefault(r[2], ReviewText(r[2], r[3], r[4], int(r[8] or 0), float(r[5] or 0), clip(r[6]),
                                            clip(r[7])))
    return {i: out[i] for i in ids if i in out}  # in the runs' order (by example id)


def read_reviews(con, ids: Iterable[str], reviews: dict[str, ReviewText]) -> None:
    """Reviews by id that `reviews` does not hold yet (a trace that names a review without its text)."""
    want = sorted(set(ids) - set(reviews))
    if not want:
        return
    rows = con.execute("SELECT review_id, user_id, item_id, rating, title, text, ts FROM reviews WHERE review_id IN "
                       "(SELECT unnest(?::VARCHAR[]))", [want]).fetchall()
    for r in rows:
        reviews[r[0]] = ReviewText(r[0], r[1], r[2], int(r[6] or 0), float(r[3] or 0), clip(r[4]), clip(r[5]))


def read_items(con, ids: Iterable[str], items: dict[str, ItemText]) -> None:
    want = sorted(set(ids) - set(items))
    if not want:
        return
    rows = con.execute("SELECT item_id, coalesce(title, ''), coalesce(description, '') FROM items WHERE item_id IN "
                       "(SELECT unnest(?::VARCHAR[]))", [want]).fetchall()
    for r in rows:
        items[r[0]] = ItemText(r[0], clip(r[1], 500), clip(r[2], 2000))
