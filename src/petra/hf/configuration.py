"""``PetraConfig``: petra's Transformer encoder described as a Hugging Face ``PretrainedConfig``.

Field names follow the ``transformers`` convention (``hidden_size``, ``num_hidden_layers``, ...) so
generic HF tooling (pipelines, ``Trainer``, PEFT) finds them; :meth:`PetraConfig.from_model_config`
translates from petra's own :class:`petra.config.ModelConfig` (``petra.models.hf_model.model_config``
back). Importing this module registers the config with ``AutoConfig``, so a petra folder's config
reads without petra's models; the models register in :mod:`petra.models.hf_model`. Written with a classic ``__init__`` (not the dataclass fields of
transformers 5) so it loads under transformers 4 too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from transformers import AutoConfig, PretrainedConfig

from petra.encodings import DEFAULT_ENCODING, build_encoding
from petra.errors import PetraError

if TYPE_CHECKING:
    from petra.config import ModelConfig


class PetraConfig(PretrainedConfig):
    """Configuration of :class:`petra.models.hf_model.PetraPreTrainedModel` models (``model_type="petra"``).

    ``encoding`` names any PE of the zoo (``petra encodings``); ``encoding_options`` are its keyword
    options (e.g. ``{"eval_mode": "fixed"}`` for ``random_gaussian``), validated at construction.
    ``language_embeddings``, ``adapter_bottleneck``, ``madx_bottleneck``, ``adaptive_pe_hidden`` and
    ``language_positions`` (0 / False: none) add petra's
    per-language modules for ``num_languages`` languages, used for language ``language``.
    """

    model_type = "petra"

    def __init__(
        self,
        vocab_size: int = 1000,
        hidden_size: int = 64,
        num_hidden_layers: int = 2,
        num_attention_heads: int = 4,
        intermediate_size: int = 128,
        dropout: float = 0.1,
        max_position_embeddings: int = 128,
        encoding: str = DEFAULT_ENCODING,
        encoding_options: dict[str, Any] | None = None,
        pad_token_id: int = 0,
        language: int = 0,
        num_languages: int = 1,
        language_embeddings: bool = False,
        adapter_bottleneck: int = 0,
        adaptive_pe_hidden: int = 0,
        madx_bottleneck: int = 0,
        language_positions: bool = False,
        **kwargs: Any,
    ) -> None:
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.intermediate_size = intermediate_size
        self.dropout = dropout
        self.max_position_embeddings = max_position_embeddings
        self.encoding = encoding
        self.encoding_options = dict(encoding_options or {})
        self.pad_token_id = pad_token_id
        # The per-language modules of a model petra trained (petra.models.language): exported models
        # keep them, fixed to the language they were fine-tuned for.
        self.language = language
        self.num_languages = num_languages
        self.language_embeddings = language_embeddings
        self.adapter_bottleneck = adapter_bottleneck
        self.adaptive_pe_hidden = adaptive_pe_hidden
        self.madx_bottleneck = madx_bottleneck
        self.language_positions = language_positions
        super().__init__(**kwargs)
        self._validate()

    def _validate(self) -> None:
        for field in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                      "intermediate_size", "max_position_embeddings"):
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise PetraError(f"PetraConfig.{field} must be a positive integer, got {value!r}")
        if self.hidden_size % self.num_attention_heads:
            raise PetraError(
                f"PetraConfig.hidden_size ({self.hidden_size}) must be divisible by "
                f"num_attention_heads ({self.num_attention_heads})"
            )
        if not 0 <= self.language < self.num_languages:
            raise PetraError(f"PetraConfig.language ({self.language}) must be in [0, num_languages={self.num_languages})")
        if not 0.0 <= self.dropout < 1.0:
            raise PetraError(f"PetraConfig.dropout must be in [0, 1), got {self.dropout!r}")
        # Builds (and drops) the PE once so a bad name or option fails here, not at model construction.
        self.build_encoding()

    def build_encoding(self):
        """A fresh instance of the configured positional encoding."""
        return build_encoding(
            self.encoding, dim=self.hidden_size, num_heads=self.num_attention_heads,
            max_len=self.max_position_embeddings, options=self.encoding_options,
        )

    @classmethod
    def from_model_config(cls, model: ModelConfig, encoding: str, vocab_size: int, **kwargs: Any) -> PetraConfig:
        """The HF config of the model ``petra.models.build_model(model, encoding, vocab_size, ...)`` builds."""
        if model.architecture != "transformer":
            raise PetraError(f"only the transformer architecture has a Hugging Face form, got {model.architecture!r}")
        return cls(
            vocab_size=vocab_size, hidden_size=model.dim, num_hidden_layers=model.layers,
            num_attention_heads=model.heads, intermediate_size=model.ffn_dim, dropout=model.dropout,
            max_position_embeddings=model.max_len, encoding=encoding,
            encoding_options=model.encoding_options.get(encoding, {}), **kwargs,
        )


AutoConfig.register(PetraConfig.model_type, PetraConfig, exist_ok=True)
