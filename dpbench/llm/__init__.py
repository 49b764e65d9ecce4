"""Model backends behind one protocol (llm/base.py), the response cache and the retry policy.

BACKENDS maps `--backend NAME` to a factory `(BackendSettings) -> Backend` (llm/factory.py).
"""

from dpbench.registry import Registry

BACKENDS: Registry = Registry("backend", {
    "local": "dpbench.llm.local:make_local_backend",
    "openai": "dpbench.llm.openai_compat:make_openai_backend",
})
