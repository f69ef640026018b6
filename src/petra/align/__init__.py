"""Cross-lingual word-embedding alignment: Procrustes, adversarial (MUSE), CSLS, BLI scores."""

from petra.align.adversarial import AdversarialConfig, adversarial_align
from petra.align.procrustes import Alignment, RefineConfig, procrustes, refine, supervised_align
from petra.align.retrieval import normalize_embeddings, precision_at_k, scores, translate
from petra.align.vectors import WordVectors, contextual_vectors, input_embeddings

__all__ = [
    "AdversarialConfig", "Alignment", "RefineConfig", "WordVectors", "adversarial_align", "contextual_vectors",
    "input_embeddings", "normalize_embeddings", "precision_at_k", "procrustes", "refine", "scores",
    "supervised_align", "translate",
]
