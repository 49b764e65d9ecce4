"""DEP's trainable modules (sparse autoencoder, two projectors) and soft-prompt injection.

Only `DepModule` trains; the causal LM stays frozen. The 2*n_slots placeholder tokens are added to
the tokenizer but never looked up in the LLM's embedding matrix (it is not resized, so the frozen
model stays bit-identical): their positions are filled with the projected vectors instead.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from dpbench.errors import DpbenchError

HIS_TOKEN = "<dep_his_{k}>"
DIFF_TOKEN = "<dep_diff_{k}>"
CONFIG_FILE = "dep_config.json"
WEIGHTS_FILE = "dep_module.safetensors"
LEGACY_WEIGHTS_FILE = "dep_module.pt"  # dpbench 0.1 (a pickle): read tensors-only, never written


@dataclass(frozen=True)
class DepModuleConfig:
    dim: int  # sentence-embedding size D
    hidden: int  # LLM hidden size H
    n_slots: int = 8
    rho: float = 0.05

    def to_dict(self) -> dict:
        return asdict(self)


class SparseAutoencoder(nn.Module):
    """encoder Linear(D→D/2)+GELU, decoder Linear(D/2→D)+GELU (docs/methods.md)."""

    def __init__(self, dim: int):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(dim, dim // 2), nn.GELU())
        self.decoder = nn.Sequential(nn.Linear(dim // 2, dim), nn.GELU())

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.encoder(x)
        return z, self.decoder(z)


def kl_sparsity(z: torch.Tensor, mask: torch.Tensor, rho: float, eps: float = 1e-6) -> torch.Tensor:
    """sum_k KL(rho || rho_hat_k), rho_hat_k = mean activation of unit k over the unmasked slots.

    GELU activations can leave (0, 1), so rho_hat is clamped to keep the KL finite."""
    m = mask.reshape(-1).to(z.dtype)
    flat = z.reshape(-1, z.shape[-1])
    rho_hat = (flat * m[:, None]).sum(0) / m.sum().clamp_min(1.0)
    rho_hat = rho_hat.clamp(eps, 1 - eps)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def masked_smooth_l1(recon: torch.Tensor, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Smooth-L1 averaged over the elements of unmasked slots only."""
    per = F.smooth_l1_loss(recon, x, reduction="none").mean(-1)  # (..., n_slots)
    m = mask.to(per.dtype)
    return (per * m).sum() / m.sum().clamp_min(1.0)


class Projector(nn.Module):
    """Linear(D/2→H)+GELU+Linear(H→H)."""

    def __init__(self, d_in: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, hidden), nn.GELU(), nn.Linear(hidden, hidden))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class DepModule(nn.Module):
    """SAE over the 2*n_slots vectors + history/difference projectors into the LLM's hidden size."""

    def __init__(self, cfg: DepModuleConfig):
        super().__init__()
        self.cfg = cfg
        self.sae = SparseAutoencoder(cfg.dim)
        self.proj_his = Projector(cfg.dim // 2, cfg.hidden)
        self.proj_diff = Projector(cfg.dim // 2, cfg.hidden)

    def forward(self, his: torch.Tensor, diff: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """his, diff: (B, n, D); mask: (B, n) bool. Returns (soft (B, 2n, H) interleaved
        his_0, diff_0, his_1, ...; reconstruction loss; KL)."""
        x = torch.cat([his, diff], dim=1)  # (B, 2n, D)
        m2 = torch.cat([mask, mask], dim=1)
        z, recon = self.sae(x)
        rec_loss = masked_smooth_l1(recon, x, m2)
        kl = kl_sparsity(z, m2, self.cfg.rho)
        n = his.shape[1]
        ph = self.proj_his(z[:, :n])
        pd = self.proj_diff(z[:, n:])
        soft = torch.stack([ph, pd], dim=2).reshape(his.shape[0], 2 * n, -1)
        return soft, rec_loss, kl


def placeholder_tokens(n_slots: int) -> list[str]:
    """Slot order: his_0, diff_0, his_1, diff_1, ... (matches DepModule's interleaving)."""
    out = []
    for k in range(n_slots):
        out += [HIS_TOKEN.format(k=k), DIFF_TOKEN.format(k=k)]
    return out


def add_placeholder_tokens(tokenizer, n_slots: int) -> list[int]:
    """Register the placeholders as special tokens (never split); returns their ids in slot order."""
    toks = placeholder_tokens(n_slots)
    tokenizer.add_tokens(toks, special_tokens=True)
    return tokenizer.convert_tokens_to_ids(toks)


def freeze(llm: nn.Module) -> None:
    for p in llm.parameters():
        p.requires_grad_(False)
    llm.eval()


def embed_with_soft_prompts(llm, input_ids: torch.Tensor, placeholder_ids: list[int],
                            soft: torch.Tensor) -> torch.Tensor:
    """LLM input embeddings with every placeholder position replaced by its soft vector.

    Each row must hold each placeholder exactly once. Placeholder ids lie past the LLM's
    vocabulary, so they are looked up as token 0 and then overwritten."""
    emb_layer = llm.get_input_embeddings()
    ph = torch.tensor(placeholder_ids, device=input_ids.device)
    is_ph = torch.isin(input_ids, ph)
    safe_ids = input_ids.masked_fill(is_ph, 0)
    embeds = emb_layer(safe_ids)
    # slot index of each placeholder position: position of its id in placeholder_ids
    lookup = torch.full((int(ph.max()) + 1,), -1, dtype=torch.long, device=input_ids.device)
    lookup[ph] = torch.arange(len(placeholder_ids), device=input_ids.device)
    rows, cols = is_ph.nonzero(as_tuple=True)
    slot = lookup[input_ids[rows, cols]]
    embeds = embeds.clone()
    embeds[rows, cols] = soft[rows, slot].to(embeds.dtype)
    return embeds


def position_ids_from_mask(attention_mask: torch.Tensor) -> torch.Tensor:
    """Same rule as transformers' generate: masked tokens take no position, so a masked slot
    neither shifts the text after it nor differs between training and generation."""
    pos = attention_mask.long().cumsum(-1) - 1
    return pos.masked_fill(attention_mask == 0, 0)


def save_module(module: DepModule, out_dir: Path, extra: dict | None = None) -> None:
    """Weights as safetensors + the config as JSON (no pickle: see checkpoint.py)."""
    from dpbench.methods.dep.checkpoint import save_tensors

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    save_tensors(out_dir / WEIGHTS_FILE, module.state_dict())
    (out_dir / LEGACY_WEIGHTS_FILE).unlink(missing_ok=True)  # one copy of the weights, the safe one
    tmp = out_dir / (CONFIG_FILE + ".tmp")
    tmp.write_text(json.dumps({"module": module.cfg.to_dict(), **(extra or {})}, indent=2))
    tmp.replace(out_dir / CONFIG_FILE)


def load_weights(ckpt_dir: Path) -> dict[str, torch.Tensor]:
    """The module's state dict from dep_module.safetensors, or from a dpbench 0.1 dep_module.pt
    through the tensors-only loader; DpbenchError for anything else."""
    from dpbench.methods.dep.checkpoint import load_legacy, load_tensors

    ckpt_dir = Path(ckpt_dir)
    if (ckpt_dir / WEIGHTS_FILE).exists():
        return load_tensors(ckpt_dir / WEIGHTS_FILE)
    legacy = ckpt_dir / LEGACY_WEIGHTS_FILE
    if legacy.exists():
        state = load_legacy(legacy)
        if not (isinstance(state, dict) and all(isinstance(v, torch.Tensor) for v in state.values())):
            raise DpbenchError(f"refusing to load {legacy}: not a state dict of tensors")
        return state
    raise DpbenchError(f"{ckpt_dir}: no {WEIGHTS_FILE} (or {LEGACY_WEIGHTS_FILE}) there")


def load_into(module: nn.Module, state: dict[str, torch.Tensor], source: Path) -> None:
    """load_state_dict with a user-facing error when the checkpoint does not fit the module."""
    try:
        module.load_state_dict(state)
    except RuntimeError as e:
        raise DpbenchError(f"{source}: the weights do not fit this DEP module ({str(e).splitlines()[0]})") from None


def load_module(ckpt_dir: Path, device: str = "cpu") -> tuple[DepModule, dict]:
    """(module, the config json) from a checkpoint directory written by save_module."""
    ckpt_dir = Path(ckpt_dir)
    cfg_path = ckpt_dir / CONFIG_FILE
    try:
        meta = json.loads(cfg_path.read_text(encoding="utf-8"))
        cfg = DepModuleConfig(**meta["module"])
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        raise DpbenchError(f"cannot read {cfg_path}: {type(e).__name__}: {e}") from None
    module = DepModule(cfg)
    load_into(module, load_weights(ckpt_dir), ckpt_dir)
    return module.to(device), meta
