"""`dpbench serve`: a local OpenAI-compatible llama.cpp server (xllamacpp) in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer

from dpbench.cli.app import app


@app.command("serve")
def serve(
    model: Annotated[str, typer.Option(help="Packaged model (smollm2-135m) or a path to a .gguf file.")] = "smollm2-135m",
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 = any free port).")] = 8080,
    parallel: Annotated[int, typer.Option(help="Requests decoded at once (server slots).")] = 4,
    ctx_per_slot: Annotated[int, typer.Option(help="Context tokens per slot (prompt + reply).")] = 4096,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: all cores).")] = None,
    cache_ram_mib: Annotated[int, typer.Option(help="Host RAM (MiB) llama.cpp may fill with the KV state of past "
                                                    "prompts for reuse (its own default is 8192).")] = 512,
    alias: Annotated[str | None, typer.Option(help="Model name clients send (default: the short name).")] = None,
) -> None:
    """Serve a GGUF model over the OpenAI API on loopback until Ctrl-C.

    Then: `dpbench run --backend openai --base-url http://127.0.0.1:PORT/v1 --model smollm2-135m ...`
    """
    from dpbench.llm.server import ServeConfig, serve_forever

    serve_forever(ServeConfig(model=model, port=port, parallel=parallel, ctx_per_slot=ctx_per_slot,
                              threads=threads, alias=alias, cache_ram_mib=cache_ram_mib))
