"""Hugging Face interoperability below petra's models: what a local ``transformers`` folder is and holds.

* :mod:`petra.hf.pretrained`: a local pretrained folder (a path or ``pkg:MODULE/PATH``), its shape,
  its fast tokenizer, its encoder with a petra PE.
* :mod:`petra.hf.surgery`: swap the position encoding of a pretrained BERT / RoBERTa / XLM-R /
  DistilBERT for any petra PE, keeping the other pretrained weights; surgered folders load through
  the Auto classes once this package is imported (:mod:`petra.hf.auto`).
* :mod:`petra.hf.configuration`: ``PetraConfig``, petra's encoder described as a ``PretrainedConfig``.

petra's own encoder as ``transformers`` models lives with the models (:mod:`petra.models.hf_model`;
importing it registers ``model_type="petra"`` with the Auto classes), tiny test models in
:mod:`petra.models.hf_tiny`, and ``petra export`` in :mod:`petra.results.export`.
"""

from petra.hf.configuration import PetraConfig
from petra.hf.surgery import ARCHITECTURES, load_model, position_parameter_names, replace_position_encoding

__all__ = [
    "ARCHITECTURES",
    "PetraConfig",
    "load_model",
    "position_parameter_names",
    "replace_position_encoding",
]
