"""`dpbench build-data` and `dpbench validate`: thin wrappers over dpbench.data.build / validate."""

from __future__ import annotations

from pathlib import Path

import typer

from dpbench.cli.app import app
from dpbench.cli.options import split_list
from dpbench.errors import DpbenchError

EXPORT_FORMATS = ("parquet", "hf", "dpl")
SCHEMAS = ("2023", "2018", "2014")


def default_out(sources: list[str]) -> Path:
    if not sources or sources == ["sample"]:
        return Path("data/sample")
    if sources == ["hub"]:
        return Path("data/hub")
    return Path("data") / Path(sources[0].rstrip("/")).name.split(".")[0]


@app.command("build-data")
def build_data(
    source: list[str] = typer.Option(
        None, "--source",
        help="sample (default: the embedded offline sample), hub (McAuley-Lab/Amazon-Reviews-2023, online) "
             "or a path to raw files / a folder of them (.jsonl, .jsonl.gz, .json.gz, .parquet). Repeatable.",
    ),
    recipe: str = typer.Option("sample", "--recipe", help="Recipe name (recipes/NAME.toml: sample, paper) or .toml path."),
    categories: str = typer.Option(None, "--categories", help="Comma-separated categories, e.g. Books,CDs_and_Vinyl "
                                   "(overrides the recipe's data.categories)."),
    out: Path = typer.Option(None, "--out", help="Output folder (default data/sample for the sample, else data/<source name>)."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad input line (file:line and reason) "
                                "instead of skipping and counting it."),
    export: list[str] = typer.Option(None, "--export", help="Also write parquet (one file per table), hf (a datasets "
                                     "DatasetDict on disk) or dpl (the published DPL/DEP layout). Repeatable."),
    schema: str = typer.Option(None, "--schema", help="Force the raw release: 2023 | 2018 | 2014 (default: detected per file)."),
    set_: list[str] = typer.Option(None, "--set", help="Override any recipe field: --set data.min_history=2 "
                                   "(SECTION.FIELD=VALUE, the value read as TOML: false, 8, \"text\", [\"Books\"]; "
                                   "checked like the file, recorded in the resolved recipe). Repeatable."),
    timings: bool = typer.Option(False, "--timings", help="Print wall and CPU seconds per build phase "
                                 "(always in build_report.json)."),
) -> None:
    """Build the benchmark database (data/NAME/benchmark.duckdb) from raw Amazon review files.

    Examples:
      dpbench build-data                                  # embedded sample → data/sample
      dpbench build-data --source ~/amazon --recipe paper --categories Books --out data/books
      dpbench build-data --source reviews_Musical_Instruments_5.json.gz --out data/mi --export parquet
      dpbench build-data --source ~/amazon2018 --recipe paper --categories Gift_Cards --set data.min_history=2
    """
    from rich.console import Console

    from dpbench.data.build import build_benchmark
    from dpbench.data.report import print_report, print_timings
    from dpbench.recipes import load_recipe, parse_set_options

    sources = split_list(source) or ["sample"]
    exports = split_list(export)
    bad = [e for e in exports if e not in EXPORT_FORMATS]
    if bad:
        raise DpbenchError(f"--export {bad[0]!r}: choose from {', '.join(EXPORT_FORMATS)}")
    if schema is not None and schema not in SCHEMAS:
        raise DpbenchError(f"--schema {schema!r}: choose from {', '.join(SCHEMAS)}")
    cats = split_list([categories]) if categories else None
    # --set first, then the dedicated flags (--categories wins over --set data.categories).
    overrides = {**parse_set_options(set_), **({"data.categories": cats} if cats else {})}
    rec = load_recipe(recipe, overrides or None)
    console = Console()
    report = build_benchmark(sources, rec, out or default_out(sources), strict=strict, exports=tuple(exports),
                             schema=schema, console=console, overrides=overrides)
    print_report(report, console)
    if timings:
        print_timings(report, console)


@app.command("validate")
def validate(data: Path = typer.Argument(..., help="Benchmark folder (data/NAME) or its benchmark.duckdb.")) -> None:
    """Check every invariant of a built benchmark (tables, no leakage, split order, fixpoint,
    fingerprint); prints each check and exits 0 only when all hold."""
    from rich.console import Console

    from dpbench.data.validate import print_validation, validate_benchmark

    result = validate_benchmark(data)
    print_validation(result, Console())
    if not result.ok:
        raise typer.Exit(1)


@app.command("export")
def export(
    data: Path = typer.Argument(..., help="Benchmark folder (data/NAME, holding benchmark.duckdb)."),
    fmt: list[str] = typer.Option(["hf"], "--format", help="hf (a datasets DatasetDict), parquet, dpl (repeatable)."),
    out: Path = typer.Option(None, "--out", help="Where the exports go (default: the benchmark folder)."),
    push_to_hub: str = typer.Option(None, "--push-to-hub", help="ORG/NAME: upload the hf export and its card "
                                    "(online; needs a hub token, e.g. `huggingface-cli login`)."),
    private: bool = typer.Option(False, "--private", help="With --push-to-hub: a private dataset repository."),
) -> None:
    """Export a built benchmark (with a dataset card, README.md, in each export) and share it on the hub."""
    from dpbench.data.card import push_to_hub as push
    from dpbench.data.card import write_card
    from dpbench.data.examples import benchmark_path
    from dpbench.data.export import export_benchmark

    formats = split_list(fmt)
    bad = [f for f in formats if f not in EXPORT_FORMATS]
    if bad:
        raise DpbenchError(f"--format {bad[0]!r}: choose from {', '.join(EXPORT_FORMATS)}")
    if push_to_hub and "hf" not in formats:
        raise DpbenchError("--push-to-hub uploads the hf export: add --format hf")
    if push_to_hub:
        import os

        if os.environ.get("HF_HUB_OFFLINE") == "1":  # say so before any work
            raise DpbenchError(f"--push-to-hub {push_to_hub}: the hub is switched off here (HF_HUB_OFFLINE=1)")
    db = benchmark_path(data)
    folders = export_benchmark(db, out or db.parent, formats)
    for name, folder in folders.items():
        card = write_card(db, folder, db.parent.name)
        typer.echo(f"{name}: {folder} (card: {card})")
    if push_to_hub:
        typer.echo(f"pushed: {push(folders['hf'], push_to_hub, private)}")
