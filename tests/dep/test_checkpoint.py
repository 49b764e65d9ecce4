"""DEP checkpoints load without running code: planted pickles are refused before anything runs,
the safetensors + JSON state round-trips exactly, and dpbench 0.1 checkpoints still resume."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import torch

from dpbench.errors import DpbenchError
from dpbench.methods.dep.checkpoint import decode_state, encode_state, load_state, save_state
from dpbench.methods.dep.model import (
    LEGACY_WEIGHTS_FILE,
    WEIGHTS_FILE,
    DepModule,
    DepModuleConfig,
    load_module,
    save_module,
)
from dpbench.methods.dep.train import DONE_FILE, LEGACY_TRAINER_FILE, TRAINER_JSON, TrainSettings, train_dep
from tests.dep.helpers import tiny_items, tiny_training_setup


class Planted:
    """Unpickling this runs a shell command that creates `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def _plant(path, marker, payload_key="optimizer"):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({payload_key: Planted(marker), "step": 1}, path)


def test_planted_pickle_really_runs_code_when_unpickled(tmp_path):
    # guards the tests below: the payload is live, so "marker absent" means it was refused
    _plant(tmp_path / "x.pt", tmp_path / "ran")
    torch.load(tmp_path / "x.pt", weights_only=False)
    assert (tmp_path / "ran").exists()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    data, tok, ph, llm = tiny_training_setup(tmp_path_factory.mktemp("bench"), n_targets=4)
    return tok, ph, llm, tiny_items(data, tok, "train", n_slots=4), tiny_items(data, tok, "val", n_slots=4)


def _train(setup, out, settings, on_step=None):
    tok, ph, llm, train, val = setup
    torch.manual_seed(0)
    m = DepModule(DepModuleConfig(dim=16, hidden=32, n_slots=4))
    res = train_dep(m, llm, train, val, tok.pad_token_id, ph, settings, out / "ck", out, torch.device("cpu"), on_step)
    return m, res


SETTINGS = TrainSettings(epochs=3, lr=1e-2, batch_size=4, save_every_steps=1)


class Killed(Exception):
    pass


def _die_at(n):
    def on_step(step, total, row):
        if step == n:
            raise Killed
    return on_step


def _killed_run(setup, out, at=4):
    with pytest.raises(Killed):
        _train(setup, out, SETTINGS, on_step=_die_at(at))
    return out / "ck" / "last"


def test_new_checkpoints_hold_no_pickle(setup, tmp_path):
    last = _killed_run(setup, tmp_path)
    names = sorted(p.name for p in last.iterdir())
    assert names == ["dep_config.json", "dep_module.safetensors", "trainer.json", "trainer.safetensors"]
    meta = json.loads((last / TRAINER_JSON).read_text())
    assert meta["state"]["step"] == 3 and meta["format"] == "dpbench-dep-state/1"
    for f in last.iterdir():  # no pickle opcode stream anywhere (protocol 2+ starts with 0x80)
        assert not f.read_bytes().startswith(b"\x80")


def test_planted_trainer_pickle_is_refused_and_never_runs(setup, tmp_path):
    last = _killed_run(setup, tmp_path)
    for f in ("trainer.json", "trainer.safetensors"):
        (last / f).unlink()
    marker = tmp_path / "PWNED"
    _plant(last / LEGACY_TRAINER_FILE, marker)
    with pytest.raises(DpbenchError, match=r"refusing to load .*trainer\.pt.*tensors-only"):
        _train(setup, tmp_path, SETTINGS)
    assert not marker.exists()


def test_planted_module_files_are_refused_and_never_run(tmp_path):
    torch.manual_seed(0)
    save_module(DepModule(DepModuleConfig(dim=8, hidden=6, n_slots=2)), tmp_path / "ck")
    marker = tmp_path / "PWNED"
    (tmp_path / "ck" / WEIGHTS_FILE).unlink()
    _plant(tmp_path / "ck" / LEGACY_WEIGHTS_FILE, marker)
    with pytest.raises(DpbenchError, match=r"refusing to load .*dep_module\.pt"):
        load_module(tmp_path / "ck")
    # the same pickle under the new name is not a safetensors file either
    shutil.move(tmp_path / "ck" / LEGACY_WEIGHTS_FILE, tmp_path / "ck" / WEIGHTS_FILE)
    with pytest.raises(DpbenchError, match=r"refusing to load .*dep_module\.safetensors.*not a valid safetensors"):
        load_module(tmp_path / "ck")
    assert not marker.exists()


def test_tampered_trainer_json_is_refused(setup, tmp_path):
    last = _killed_run(setup, tmp_path)
    meta = json.loads((last / TRAINER_JSON).read_text())
    meta["state"]["step"] = {"$tensor": "no-such-tensor"}
    (last / TRAINER_JSON).write_text(json.dumps(meta))
    with pytest.raises(DpbenchError, match=r"trainer\.json: malformed state .*missing tensor"):
        _train(setup, tmp_path, SETTINGS)
    (last / TRAINER_JSON).write_text('{"format": "something else"}')
    with pytest.raises(DpbenchError, match=r"trainer\.json: not a dpbench-dep-state/1 file"):
        _train(setup, tmp_path, SETTINGS)


def test_state_codec_round_trips_exactly():
    state = {"state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(2, 3)}, 1: {}},
             "param_groups": [{"betas": (0.9, 0.999), "lr": 1e-3, "params": [0, 1], "foreach": None,
                               "fused": False}], "best": float("inf")}
    tensors: dict = {}
    node = json.loads(json.dumps(encode_state(state, tensors)))  # what the JSON file holds
    back = decode_state(node, tensors)
    assert set(back["state"]) == {0, 1} and back["param_groups"][0]["betas"] == (0.9, 0.999)
    assert torch.equal(back["state"][0]["exp_avg"], state["state"][0]["exp_avg"])
    assert back["param_groups"][0]["params"] == [0, 1] and back["best"] == float("inf")
    with pytest.raises(ValueError, match="unknown node kind"):
        decode_state({"$call": ["os.system", "id"]}, tensors)


def test_save_state_files(tmp_path):
    save_state(tmp_path, "s", {"a": torch.arange(3), "b": [1, "x"]})
    got = load_state(tmp_path, "s")
    assert torch.equal(got["a"], torch.arange(3)) and got["b"] == [1, "x"]
    assert not list(tmp_path.glob("*.tmp-*"))


def _to_legacy(last):
    """Rewrite a checkpoint folder the way dpbench 0.1 wrote it (torch.save pickles)."""
    m, _ = load_module(last)
    torch.save(m.state_dict(), last / LEGACY_WEIGHTS_FILE)
    torch.save(load_state(last, "trainer"), last / LEGACY_TRAINER_FILE)
    for f in ("dep_module.safetensors", "trainer.json", "trainer.safetensors"):
        (last / f).unlink()


def _same(a, b):
    return all(torch.allclose(x, y, atol=1e-6) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def test_resume_from_legacy_and_half_swapped_checkpoints(setup, tmp_path):
    full, res_full = _train(setup, tmp_path / "full", SETTINGS)
    # a dpbench 0.1 run directory killed at step 4 (last = step 3) resumes (tensors-only load) to the same weights
    _to_legacy(_killed_run(setup, tmp_path / "old"))
    resumed, res = _train(setup, tmp_path / "old", SETTINGS)
    assert res.steps == res_full.steps and _same(full, resumed)
    assert not (tmp_path / "old" / "ck" / "last" / LEGACY_TRAINER_FILE).exists()  # rewritten safely
    # a kill between the two renames of a save leaves only last.old: resume from it
    last = _killed_run(setup, tmp_path / "swap")
    last.rename(last.with_name("last.old"))
    resumed, res = _train(setup, tmp_path / "swap", SETTINGS)
    assert res.steps == res_full.steps and _same(full, resumed) and (tmp_path / "swap" / "ck" / DONE_FILE).exists()
