"""Augmentation of a k-shot set (``finetune.augment``): what each option adds to the k target
sentences. Re-ordering needs trees, which every language source has."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field, model_validator

from petra.data.augment import (
    DictionaryTranslator, HFTranslator, SynonymLexicon, Translator, back_translate, replace_synonyms,
)
from petra.data.reorder import ORDERS, reorder
from petra.data.sentence import Sentence
from petra.section import Section

if TYPE_CHECKING:
    from petra.data.tokenize import AnyTokenizer
    from petra.models import PetraModel


class ReorderConfig(Section):
    """Add source sentences re-ordered to the target's basic word order to its k-shot set."""

    order: str = Field("auto", description="SVO, SOV, VSO, VOS, OVS, OSV, or 'auto' (the target's dominant order)")
    flip_adpositions: bool = False
    flip_adjectives: bool = False
    source_sentences: int = Field(200, gt=0)

    @model_validator(mode="after")
    def _known_order(self) -> ReorderConfig:
        if self.order != "auto" and self.order.upper() not in ORDERS:
            raise ValueError(f"order must be 'auto' or one of {', '.join(ORDERS)}, got {self.order!r}")
        return self


class SynonymConfig(Section):
    """Add ``copies`` synonym-swapped copies of each k-shot sentence."""

    lexicon: Path | None = Field(None, description="TSV: word<TAB>synonym[<TAB>...]")
    vectors: Path | None = Field(None, description="word2vec text file; nearest neighbours are synonyms")
    model_embeddings: bool = Field(False, description="nearest neighbours in the pretrained model's embeddings")
    k: int = Field(5, gt=0)
    min_similarity: float = Field(0.5, ge=-1, le=1)
    prob: float = Field(0.2, gt=0, le=1)
    copies: int = Field(1, gt=0)

    @model_validator(mode="after")
    def _one_source(self) -> SynonymConfig:
        given = [self.lexicon is not None, self.vectors is not None, self.model_embeddings]
        if sum(given) != 1:
            raise ValueError("give exactly one of lexicon, vectors, model_embeddings")
        return self


class BackTranslationConfig(Section):
    """Add a word-level back-translated copy of each k-shot sentence."""

    forward_model: Path | None = Field(None, description="local HF seq2seq folder: target -> pivot")
    backward_model: Path | None = Field(None, description="local HF seq2seq folder: pivot -> target")
    dictionary: Path | None = Field(None, description="TSV target<TAB>pivot, used both ways")

    @model_validator(mode="after")
    def _one_kind(self) -> BackTranslationConfig:
        models = self.forward_model is not None and self.backward_model is not None
        if models == (self.dictionary is not None):
            raise ValueError("give forward_model + backward_model, or dictionary")
        return self


class AugmentConfig(Section):
    reorder: ReorderConfig | None = None
    synonyms: SynonymConfig | None = None
    back_translation: BackTranslationConfig | None = None

    @property
    def enabled(self) -> bool:
        return any(v is not None for v in (self.reorder, self.synonyms, self.back_translation))


@dataclass
class Augmenters:
    """What one unit builds once (after pretraining) and applies to every k-shot set."""

    config: AugmentConfig
    source_sentences: list[Sentence]  # what re-ordering draws from
    lexicon: SynonymLexicon | None = None
    translators: tuple[Translator, Translator] | None = None

    @classmethod
    def build(cls, cfg: AugmentConfig, source: list[Sentence], model: PetraModel, tokenizer: AnyTokenizer) -> Augmenters:
        out = cls(cfg, source)
        if cfg.synonyms is not None:
            s = cfg.synonyms
            if s.lexicon is not None:
                out.lexicon = SynonymLexicon.from_tsv(s.lexicon)
            elif s.vectors is not None:
                out.lexicon = SynonymLexicon.from_vectors_file(s.vectors, s.k, s.min_similarity)
            else:
                words, rows = tokenizer.whole_words()
                table = model.encoder.embed.weight.detach().cpu().numpy()[rows]
                out.lexicon = SynonymLexicon.from_embeddings(words, table, s.k, s.min_similarity)
        if cfg.back_translation is not None:
            b = cfg.back_translation
            if b.dictionary is not None:
                out.translators = (DictionaryTranslator.from_tsv(b.dictionary),
                                   DictionaryTranslator.from_tsv(b.dictionary, reverse=True))
            else:
                out.translators = (HFTranslator(b.forward_model), HFTranslator(b.backward_model))
        return out

    def apply(self, shots: list[Sentence], target_order: str | None, rng: np.random.Generator) -> list[Sentence]:
        """The k target sentences plus what each configured augmentation adds."""
        cfg, out = self.config, list(shots)
        if cfg.reorder is not None:
            r = cfg.reorder
            order = target_order if r.order == "auto" else r.order
            if order is not None and self.source_sentences:  # 'auto' with no S-O clause in the pool: nothing to match
                size = min(r.source_sentences, len(self.source_sentences))
                picks = rng.choice(len(self.source_sentences), size=size, replace=False)
                out += [reorder(self.source_sentences[i], order, r.flip_adpositions, r.flip_adjectives) for i in picks]
        if self.lexicon is not None and cfg.synonyms is not None:
            out += [replace_synonyms(s, self.lexicon, cfg.synonyms.prob, rng) for _ in range(cfg.synonyms.copies) for s in shots]
        if self.translators is not None:
            out += back_translate(shots, *self.translators)
        return out
