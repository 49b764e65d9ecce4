"""Every recipe in recipes/ validates, and the package's copy (dpbench/_recipes, a link) is the same set."""

from pathlib import Path

import dpbench
from dpbench.paths import REPO_ROOT
from dpbench.recipes import load_recipe


def test_every_shipped_recipe_validates_and_is_packaged():
    top = sorted(p.stem for p in (REPO_ROOT / "recipes").glob("*.toml"))
    packaged = sorted(p.stem for p in (Path(dpbench.__file__).parent / "_recipes").glob("*.toml"))
    assert {"sample", "paper", "quickstart", "dep-evidence"} <= set(top)
    assert packaged == top
    for name in top:
        assert load_recipe(name).name == name
    evidence = load_recipe("dep-evidence").dep
    assert evidence.max_train_examples >= 591 and evidence.max_val_examples == 64  # the whole sample train split
