"""DEP (SPEC §3): difference-aware embeddings → sparse autoencoder → projectors → soft prompts on a
frozen causal LM, trained and generated with plain torch + transformers.

Entry point: `dpbench.methods.dep.run:run_dep(cfg, console=None) -> Path` (imported lazily so the
CLI never pays for torch until DEP runs).
"""


def run_dep(cfg, console=None):
    from dpbench.methods.dep.run import run_dep as _run_dep

    return _run_dep(cfg, console)
