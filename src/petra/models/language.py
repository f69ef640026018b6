"""Per-language modules attached to a built model without changing the encoder's code:
the language-adaptive PE p' = f(p; θ_lang), bottleneck adapters, MAD-X's language, task and
invertible adapters, and language embeddings. Batches carry one language; ``set_language(model, i)``
selects it for all of them.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from petra.encodings import PositionalEncoding
from petra.errors import PetraError


class LanguageAware(nn.Module):
    """A module whose behaviour depends on the current batch's language index."""

    language: int = 0


def set_language(model: nn.Module, language: int) -> None:
    for module in model.modules():
        if isinstance(module, LanguageAware):
            module.language = language


class AdaptivePE(LanguageAware):
    """Language-adaptive positional encoding around any zoo encoding.

    * additive: p' = p + W2·GELU(W1·p) per language, W2 zero-initialised so training starts from
      the pretrained PE exactly (a residual adapter on positions);
    * rotary: positions are scaled per language, m' = m·exp(s_lang) (position interpolation,
      Chen et al. 2023), so the language learns its own rotation speed;
    * bias (ALiBi, T5): the bias of head h is scaled by exp(s_lang,h), a per-language slope.
    """

    def __init__(self, base: PositionalEncoding, num_languages: int, hidden: int = 32) -> None:
        super().__init__()
        if base.kind == "none":
            raise PetraError("the adaptive PE needs a positional encoding to adapt; the encoding is 'none'")
        self.base, self.kind = base, base.kind
        self.dim, self.num_heads, self.max_len = base.dim, base.num_heads, base.max_len
        if self.kind == "additive":
            self.maps = nn.ModuleList(_residual_map(base.dim, hidden) for _ in range(num_languages))
        else:
            width = base.num_heads if self.kind == "bias" else 1
            self.scales = nn.Parameter(torch.zeros(num_languages, width))

    @property
    def eval_draws(self) -> int:
        return getattr(self.base, "eval_draws", 1)

    def positions(self, batch: int, length: int, device: torch.device) -> torch.Tensor:
        positions = self.base.positions(batch, length, device)
        if self.kind == "rotary":
            return positions.to(torch.float32) * self.scales[self.language].exp()
        return positions

    def forward(self, positions: torch.Tensor):
        out = self.base(positions)
        if self.kind == "additive":
            return out + self.maps[self.language](out)
        if self.kind == "bias":
            return out * self.scales[self.language].exp().view(1, -1, 1, 1)
        return out  # rotary: already adapted through the positions


def _residual_map(dim: int, hidden: int) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
    nn.init.zeros_(net[2].weight)
    nn.init.zeros_(net[2].bias)
    return net


def make_pe_adaptive(model: nn.Module, num_languages: int, hidden: int = 32) -> AdaptivePE:
    """Wrap the model's encoding in place (idempotent) and return the wrapper."""
    encoder = model.encoder
    if not isinstance(encoder.encoding, AdaptivePE):
        encoder.encoding = AdaptivePE(encoder.encoding, num_languages, hidden)
    return encoder.encoding


class LanguagePositions(LanguageAware):
    """Language-specific positions (Dufter & Schütze 2020, "lang-pos"): a copy of the PE per
    language, each with its own parameters, all starting as the same pretrained-to-be PE (so shared
    vs. per-language is a paired comparison); a batch uses its language's copy."""

    def __init__(self, base: PositionalEncoding, num_languages: int) -> None:
        super().__init__()
        if not any(True for _ in base.parameters()):
            raise PetraError("language-specific positions need a PE with parameters of its own (learned, t5_bias); "
                             f"this one ({type(base).__name__}) has none to keep per language")
        self.kind, self.dim, self.num_heads, self.max_len = base.kind, base.dim, base.num_heads, base.max_len
        self.per_language = nn.ModuleList(copy.deepcopy(base) for _ in range(num_languages))

    @property
    def eval_draws(self) -> int:
        return getattr(self.per_language[0], "eval_draws", 1)

    def positions(self, batch: int, length: int, device: torch.device) -> torch.Tensor:
        return self.per_language[self.language].positions(batch, length, device)

    def forward(self, positions: torch.Tensor):
        return self.per_language[self.language](positions)


def add_language_positions(model: nn.Module, num_languages: int) -> LanguagePositions:
    """Replace the model's PE with per-language copies of it (before any adaptive PE wraps it)."""
    encoder = model.encoder
    encoder.encoding = LanguagePositions(encoder.encoding, num_languages)
    return encoder.encoding


class Adapter(LanguageAware):
    """Bottleneck adapter (Houlsby et al. 2019; MAD-X, Pfeiffer et al. 2020): h + U·ReLU(D·LN(h)),
    one per language, U zero-initialised so an inserted adapter starts as the identity."""

    def __init__(self, dim: int, bottleneck: int, num_languages: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.down = nn.ModuleList(nn.Linear(dim, bottleneck) for _ in range(num_languages))
        self.up = nn.ModuleList(nn.Linear(bottleneck, dim) for _ in range(num_languages))
        for up in self.up:
            nn.init.zeros_(up.weight)
            nn.init.zeros_(up.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.up[self.language](torch.relu(self.down[self.language](self.norm(hidden))))


def add_adapters(model: nn.Module, bottleneck: int, num_languages: int) -> nn.ModuleList:
    """An adapter after every Transformer block, as the block's submodule ``adapter`` applied by a
    forward hook: the encoder code is unchanged, and copies of the model (deepcopy) stay correct
    because the hook finds the adapter through the module it is called with."""
    blocks = getattr(model.encoder, "blocks", None)
    if blocks is None:
        raise PetraError("adapters need the transformer architecture (the LSTM model has no blocks)")
    dim = model.encoder.embed.embedding_dim
    for block in blocks:
        block.add_module("adapter", Adapter(dim, bottleneck, num_languages))
        block.register_forward_hook(_apply_adapter)
    return nn.ModuleList(block.adapter for block in blocks)


def _apply_adapter(block: nn.Module, args, output: torch.Tensor) -> torch.Tensor:
    return block.adapter(output)


class TaskAdapter(nn.Module):
    """One bottleneck adapter shared by every language (MAD-X's task adapter), stacked on the
    language adapter of its block; U zero-initialised, so it starts as the identity."""

    def __init__(self, dim: int, bottleneck: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.down = nn.Linear(dim, bottleneck)
        self.up = nn.Linear(bottleneck, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return hidden + self.up(torch.relu(self.down(self.norm(hidden))))


class InvertibleAdapter(LanguageAware):
    """MAD-X's invertible adapter (Pfeiffer et al. 2020): a NICE coupling (Dinh et al. 2015) per
    language on the token embeddings, o1 = e1 + F(e2), o2 = e2 + G(o1); its exact inverse runs on
    the last hidden states before the masked-LM head, so the language's vocabulary is adapted at
    both ends of the frozen model. F and G end zero-initialised: it starts as the identity."""

    def __init__(self, dim: int, bottleneck: int, num_languages: int) -> None:
        super().__init__()
        if dim % 2:
            raise PetraError(f"the invertible adapter splits the embedding in halves: model.dim {dim} is odd")
        half = dim // 2
        self.f = nn.ModuleList(_residual_map(half, bottleneck) for _ in range(num_languages))
        self.g = nn.ModuleList(_residual_map(half, bottleneck) for _ in range(num_languages))

    def forward(self, embedded: torch.Tensor) -> torch.Tensor:
        e1, e2 = embedded.chunk(2, dim=-1)
        o1 = e1 + self.f[self.language](e2)
        return torch.cat([o1, e2 + self.g[self.language](o1)], dim=-1)

    def inverse(self, hidden: torch.Tensor) -> torch.Tensor:
        o1, o2 = hidden.chunk(2, dim=-1)
        e2 = o2 - self.g[self.language](o1)
        return torch.cat([o1 - self.f[self.language](e2), e2], dim=-1)


def add_madx(model: nn.Module, bottleneck: int, num_languages: int) -> None:
    """MAD-X's modules: per block a language adapter (per language) with a shared task adapter
    stacked on it, and the invertible adapter on the token embeddings (its inverse before the
    masked-LM head, where the model has one)."""
    add_adapters(model, bottleneck, num_languages)
    for block in model.encoder.blocks:
        block.add_module("task_adapter", TaskAdapter(block.adapter.norm.normalized_shape[0], bottleneck))
        block.register_forward_hook(_apply_task_adapter)  # after the language adapter's hook
    embed = model.encoder.embed
    embed.add_module("invertible", InvertibleAdapter(embed.embedding_dim, bottleneck, num_languages))
    embed.register_forward_hook(_apply_invertible)
    if "mlm" in getattr(model, "heads", {}):
        model.heads["mlm"].add_module("inverse_of", embed.invertible)  # the same module, two parents
        model.heads["mlm"].register_forward_pre_hook(_invert_before_head)


def language_adapter_parameters(model: nn.Module, language: int) -> list[nn.Parameter]:
    """One language's MAD-X adapters: its bottleneck in every block and its invertible adapter (the
    adapters' shared LayerNorms stay as built, so training one language never moves another's)."""
    blocks, invertible = model.encoder.blocks, model.encoder.embed.invertible
    modules = [m for b in blocks for m in (b.adapter.down[language], b.adapter.up[language])]
    modules += [invertible.f[language], invertible.g[language]]
    return [p for m in modules for p in m.parameters()]


def task_adapter_parameters(model: nn.Module) -> list[nn.Parameter]:
    return [p for b in model.encoder.blocks for p in b.task_adapter.parameters()]


def _apply_task_adapter(block: nn.Module, args, output: torch.Tensor) -> torch.Tensor:
    return block.task_adapter(output)


def _apply_invertible(embed: nn.Module, args, output: torch.Tensor) -> torch.Tensor:
    return embed.invertible(output)


def _invert_before_head(head: nn.Module, args):
    return (head.inverse_of.inverse(args[0]), *args[1:])


class LanguageEmbedding(LanguageAware):
    """A learned vector per language added to every token embedding (XLM's language embeddings)."""

    def __init__(self, dim: int, num_languages: int) -> None:
        super().__init__()
        self.table = nn.Embedding(num_languages, dim)
        nn.init.normal_(self.table.weight, std=0.02)

    def forward(self, embedded: torch.Tensor) -> torch.Tensor:
        return embedded + self.table.weight[self.language]


def add_language_embeddings(model: nn.Module, num_languages: int) -> LanguageEmbedding:
    """Attach to the token embedding as its submodule ``language`` (see add_adapters for why)."""
    embed = model.encoder.embed
    embed.add_module("language", LanguageEmbedding(embed.embedding_dim, num_languages))
    embed.register_forward_hook(_add_language_embedding)
    return embed.language


def _add_language_embedding(embed: nn.Module, args, output: torch.Tensor) -> torch.Tensor:
    return embed.language(output)


def attach_language_modules(model: nn.Module, num_languages: int, language: int, embeddings: bool = False,
                            adaptive_hidden: int = 0, adapter_bottleneck: int = 0, madx_bottleneck: int = 0,
                            positions: bool = False) -> None:
    """Rebuild the per-language modules a trained model had (0 / False: none), as training attached
    them, so its state loads as is; then select ``language``."""
    if positions:
        add_language_positions(model, num_languages)
    if embeddings:
        add_language_embeddings(model, num_languages)
    if adaptive_hidden:
        make_pe_adaptive(model, num_languages, adaptive_hidden)
    if adapter_bottleneck:
        add_adapters(model, adapter_bottleneck, num_languages)
    if madx_bottleneck:
        add_madx(model, madx_bottleneck, num_languages)
    set_language(model, language)
