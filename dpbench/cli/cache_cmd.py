"""`dpbench cache path|info|clear`: see and prune the response, embedding and converted-model caches."""

from __future__ import annotations

import typer

from dpbench.cli.app import app

cache_app = typer.Typer(help="See and prune dpbench's caches (LLM responses, embeddings, converted models).",
                        no_args_is_help=True)
app.add_typer(cache_app, name="cache")


@cache_app.command("path")
def cache_path() -> None:
    """Print the cache folder (DPBENCH_CACHE_DIR, else $XDG_CACHE_HOME/dpbench, else ~/.cache/dpbench)."""
    from dpbench.paths import cache_dir

    typer.echo(str(cache_dir()))


@cache_app.command("info")
def cache_info() -> None:
    """Entries and size per kind and model."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from dpbench.llm.caches import cache_inventory
    from dpbench.paths import cache_dir

    rows = cache_inventory()
    table = Table(title=f"dpbench cache: {escape(str(cache_dir()))}", title_justify="left")
    for col in ("kind", "model", "entries", "size"):
        table.add_column(col, justify="right" if col in ("entries", "size") else "left")
    for r in rows:
        table.add_row(r.kind, escape(r.model), f"{r.entries:,}", f"{r.bytes / 1e6:,.1f} MB")
    console = Console()
    console.print(table if rows else "the cache is empty")


@cache_app.command("clear")
def cache_clear(
    model: str = typer.Option(None, "--model", help="Only this model's entries (as `dpbench cache info` names it)."),
    older_than: str = typer.Option(None, "--older-than", help="Only entries older than this: 30d, 12h, 90m."),
) -> None:
    """Delete cached entries (all of them, or those of one model, or older than an age)."""
    from dpbench.llm.caches import clear_caches, parse_age

    age = parse_age(older_than) if older_than else None
    removed = clear_caches(model=model, older_than_s=age)
    typer.echo(f"removed {removed['responses']} responses, {removed['embeddings']} embeddings, "
               f"{removed['model']} converted models")
