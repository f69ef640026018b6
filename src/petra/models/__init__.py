"""Models: Transformer encoder and LSTM baseline, with masked-LM / sequence / token heads."""

from petra.models.model import HeadSpec, PetraModel, build_model

__all__ = ["HeadSpec", "PetraModel", "build_model"]
