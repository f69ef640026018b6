"""Hugging Face interoperability.

* :mod:`petra.hf.modeling`: petra's encoder (any PE) as ``transformers`` models, registered with the
  Auto classes under ``model_type="petra"`` (importing this package registers them).
* :mod:`petra.hf.surgery`: swap the position encoding of a pretrained BERT / RoBERTa / XLM-R /
  DistilBERT for any petra PE, keeping the other pretrained weights.
* :mod:`petra.hf.tiny`: tiny random-initialised models and tokenizers built locally (tests, smoke runs).
"""

from petra.hf.configuration import PetraConfig
from petra.hf.modeling import (
    PetraEncoderModel,
    PetraForMaskedLM,
    PetraForSequenceClassification,
    PetraForTokenClassification,
    PetraPreTrainedModel,
)
from petra.hf.surgery import ARCHITECTURES, load_model, position_parameter_names, replace_position_encoding

__all__ = [
    "ARCHITECTURES",
    "PetraConfig",
    "PetraEncoderModel",
    "PetraForMaskedLM",
    "PetraForSequenceClassification",
    "PetraForTokenClassification",
    "PetraPreTrainedModel",
    "load_model",
    "position_parameter_names",
    "replace_position_encoding",
]
