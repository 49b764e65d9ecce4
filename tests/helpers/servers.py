"""A real llama.cpp server (`dpbench serve`, packaged smollm2-135m) for tests, started once per session.

Use it as a pytest fixture: import it into a conftest.py (or a test module) and name it as an argument:

    # tests/<area>/conftest.py
    from tests.helpers.servers import llama_server  # noqa: F401  (pytest finds the fixture by name)

    @pytest.mark.slow
    def test_x(llama_server):
        backend = make_backend("openai", llama_server.model, base_urls=[llama_server.base_url])

Every import shares ONE server process for the whole session (4 slots x 2048 tokens; started on first
use, stopped at exit), however many folders import the fixture. Outside pytest, `running_server()` is
a plain context manager that starts a private server:

    with running_server(parallel=2) as srv: ...

Count requests with tests/helpers/fault_proxy.py (a proxy in front of this server), not with the
server itself: other tests share it.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from dpbench.llm.server import ServerHandle, start_server

SHARED_SETTINGS = {"parallel": 4, "ctx_per_slot": 2048}
_shared: dict[str, ServerHandle] = {}  # one per test process; test-only state
_lock = threading.Lock()


@contextmanager
def running_server(model: str = "smollm2-135m", **kw) -> Iterator[ServerHandle]:
    """A private server for the duration of the block (kw as in dpbench.llm.server.start_server)."""
    handle = start_server(model, **kw)
    try:
        yield handle
    finally:
        handle.stop()


def shared_server() -> ServerHandle:
    """The session's shared server, started on first call and stopped when the process exits."""
    with _lock:
        handle = _shared.get("smollm2-135m")
        if handle is None or handle.process.poll() is not None:
            handle = start_server("smollm2-135m", **SHARED_SETTINGS)
            _shared["smollm2-135m"] = handle
            atexit.register(handle.stop)
        return handle


@pytest.fixture(scope="session")
def llama_server() -> ServerHandle:
    """The shared real server: `.base_url` ("http://127.0.0.1:P/v1") and `.model` ("smollm2-135m")."""
    return shared_server()
