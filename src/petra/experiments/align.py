"""The alignment experiment: two synthetic languages with disjoint vocabularies, one MLM-trained
petra model each, their word vectors aligned by Procrustes (seed dictionary) and adversarially
(no dictionary), scored by BLI precision@1/@5 on held-out pairs of the exact gold dictionary.

Flow: config -> corpora (:func:`petra.data.synthetic.generate`) -> per (encoding, seed) unit, one
model per language (:func:`petra.experiments.phases.fit`) -> input-embedding and averaged contextual
vectors -> maps (Procrustes, Procrustes + refinement, adversarial, adversarial + refinement) -> NN and
CSLS retrieval -> records.

References read the scores: an in-sample oracle (Procrustes on every gold pair) bounds what an
orthogonal map can reach, and two frequency-rank translators show what corpus counts alone give.
In this grammar lexemes of one part of speech are exchangeable apart from their Zipf rank (and,
for nouns, their agent class, which only the sentence task sees), so no distributional method
can single out most translations: the scores measure that limit as much as the methods.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, model_validator

from petra.align.adversarial import AdversarialConfig, adversarial_align
from petra.align.dictionary import Entry, gold_dictionary, index_pairs, pos_of, split_pairs
from petra.align.procrustes import RefineConfig, procrustes, refine
from petra.align.references import frequency_rank_precision
from petra.align.retrieval import RETRIEVALS, Retrieval, normalize_embeddings, precision_at_k, translate
from petra.align.vectors import WordVectors, contextual_vectors, corpus_counts, input_embeddings
from petra.config import ExperimentConfig, RunSection
from petra.device import prepare_unit
from petra.encodings import DEFAULT_ENCODING
from petra.experiments.executors import run_units
from petra.experiments.transfer_config import PretrainConfig
from petra.section import Section
from petra.data.batches import EncodedCorpus, encode
from petra.data.grammar import NUM_AGENT_CLASSES
from petra.data.synthetic import LanguageSpec, generate
from petra.data.vocab import LabelSet, Vocab
from petra.errors import FieldError, PetraError
from petra.experiments.phases import fit
from petra.seeding import seed_everything, stage_seed
from petra.models import HeadSpec, PetraModel, build_model
from petra.training.objectives import JointObjective, MLMObjective

Method = Literal["procrustes", "adversarial"]
VectorKind = Literal["input", "contextual"]


class AlignData(Section):
    source: LanguageSpec = LanguageSpec(name="svo", word_order="SVO", shared_vocab=0.0, vocab_size=500, seed=1)
    target: LanguageSpec = LanguageSpec(name="sov", word_order="SOV", adposition="post", shared_vocab=0.0,
                                        vocab_size=500, seed=2)
    sentences: int = Field(20000, gt=0, description="training sentences per language")
    seed: int = 1234


class AlignSettings(Section):
    seed_pairs: int = Field(200, gt=0, description="gold pairs given to Procrustes; the rest are held out")
    methods: list[Method] = Field(default_factory=lambda: ["procrustes", "adversarial"], min_length=1)
    retrievals: list[Retrieval] = Field(default_factory=lambda: list(RETRIEVALS), min_length=1)
    vectors: list[VectorKind] = Field(default_factory=lambda: ["input", "contextual"], min_length=1)
    min_count: int = Field(5, ge=1, description="words seen fewer times in either corpus are left out")
    refine_iterations: int = Field(5, ge=0)
    adversarial_epochs: int = Field(5, gt=0)
    adversarial_iterations: int = Field(500, gt=0, description="map updates per adversarial epoch")
    adversarial_restarts: int = Field(2, gt=0, description="games; the unsupervised criterion picks one")
    adversarial_hidden: int = Field(256, gt=0, description="discriminator width (MUSE: 2048 for 300-d, 75k words)")
    adversarial_beta: float = Field(0.001, gt=0, le=0.5, description="orthogonality step of eq. 7 (MUSE: 0.001)")


class AlignPretrain(PretrainConfig):
    """MLM pretraining of each language's model; add ``task`` to also predict the subject's
    agent class, the one signal that tells nouns of equal frequency apart."""

    objectives: list[Literal["mlm", "task"]] = Field(default_factory=lambda: ["mlm"], min_length=1)
    epochs: int = Field(5, gt=0)
    batch_size: int = Field(64, gt=0)
    warmup_steps: int = Field(100, ge=0)


class AlignRun(RunSection):
    output_dir: Path = Path("runs/align")


# Fields that moved when align joined the other experiments' config base: old name -> new place.
MOVED = {"encoding": "encodings (a list)", "output_dir": "run.output_dir", "threads": "run.threads",
         "device": "run.device"}


class AlignConfig(ExperimentConfig):
    """One unit per (encoding, seed): a model per language, their word vectors aligned and scored."""

    experiment: Literal["align"] = "align"
    name: str = "align"
    encodings: list[str] = Field(default_factory=lambda: [DEFAULT_ENCODING], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    data: AlignData = AlignData()
    pretrain: AlignPretrain = AlignPretrain()
    align: AlignSettings = AlignSettings()
    embedding_init_std: float | None = Field(
        0.02, gt=0, description="re-draw input embeddings from N(0, std^2) (BERT: 0.02); None keeps nn.Embedding's N(0, 1)")
    run: AlignRun = AlignRun()

    @model_validator(mode="before")
    @classmethod
    def _moved_fields(cls, data: Any) -> Any:
        moved = [key for key in MOVED if isinstance(data, dict) and key in data]
        if moved:
            raise FieldError(moved[0], f"'{moved[0]}' is now {MOVED[moved[0]]}")
        return data


@dataclass(frozen=True)
class Language:
    spec: LanguageSpec
    vocab: Vocab
    corpus: EncodedCorpus
    counts: np.ndarray


@dataclass(frozen=True)
class AlignRecord:
    encoding: str
    seed: int
    vectors: str  # input | contextual
    method: str  # procrustes, procrustes+refine, adversarial, adversarial+refine, or a reference
    retrieval: str  # nn | csls | - (references)
    p_at_1: float
    p_at_5: float
    pos_at_1: float  # the top-1 word has the gold translation's part of speech
    seed_pairs: int
    test_pairs: int
    seconds: float  # fitting the map


def prepare_language(spec: LanguageSpec, n: int, data_seed: int) -> Language:
    sentences = generate(spec, n, seed=stage_seed(data_seed, spec.name))
    vocab = Vocab.build(w for s in sentences for w in s.words)
    corpus = encode(sentences, vocab, LabelSet.build(t for s in sentences for t in s.upos))
    return Language(spec, vocab, corpus, corpus_counts(corpus, len(vocab)))


def train_language_model(cfg: AlignConfig, lang: Language, encoding: str, seed: int, device) -> tuple[PetraModel, dict]:
    """An MLM (+ optional agent-class task) model of one language, seeded by (seed, language)."""
    p = cfg.pretrain
    heads = {"mlm": HeadSpec("token", len(lang.vocab))}
    if "task" in p.objectives:
        heads["task"] = HeadSpec("sequence", NUM_AGENT_CLASSES)
    seed_everything(stage_seed(seed, lang.spec.name, "init"))
    model = build_model(cfg.model, encoding, len(lang.vocab), heads)
    if cfg.embedding_init_std is not None:
        # Rare words get few updates: with N(0, 1) rows their vectors stay mostly initial noise,
        # which no map can align; a small init leaves what training wrote (Devlin et al. 2019).
        torch.nn.init.normal_(model.encoder.embed.weight, std=cfg.embedding_init_std)
    model.to(device)
    generator = torch.Generator().manual_seed(stage_seed(seed, lang.spec.name, "mask"))
    mlm = MLMObjective(len(lang.vocab), lang.vocab.mask_id, p.mask_prob, generator) if "mlm" in p.objectives else None
    objective = JointObjective("sequence", p.task_weight if "task" in p.objectives else 0.0, mlm, p.mlm_weight)
    seed_everything(stage_seed(seed, lang.spec.name, "train"))
    result = fit(model, lang.corpus, objective, p, lang.vocab.pad_id, stage_seed(seed, lang.spec.name, "train"))
    tail = result.losses[-50:]
    return model, {"language": lang.spec.name, "encoding": encoding, "seed": seed, "seconds": result.seconds, "steps": result.steps,
                   "final_loss": float(np.mean(tail)) if tail else float("nan"), "vocab": len(lang.vocab) - 3}


def word_vectors(kind: str, model: PetraModel, lang: Language, seed: int) -> WordVectors:
    if kind == "input":
        return input_embeddings(model, lang.vocab, lang.counts)
    return contextual_vectors(model, lang.corpus, lang.vocab, seed=stage_seed(seed, lang.spec.name, "contextual"))


def _frequent(vectors: WordVectors, min_count: int) -> WordVectors:
    v = vectors.by_frequency()
    keep = v.counts >= min_count
    return WordVectors(tuple(w for w, k in zip(v.words, keep) if k), v.vectors[keep], v.counts[keep])


def _maps(
    cfg: AlignConfig, x: np.ndarray, y: np.ndarray, seed_pairs: np.ndarray, seed: int,
) -> list[tuple[str, np.ndarray, float]]:
    """(name, W, seconds) for every requested method, before and after refinement."""
    a, out = cfg.align, []
    refine_cfg = RefineConfig(iterations=a.refine_iterations, retrieval="csls")
    if "procrustes" in a.methods:
        start = time.perf_counter()
        w = procrustes(x[seed_pairs[:, 0]], y[seed_pairs[:, 1]])
        out.append(("procrustes", w, time.perf_counter() - start))
        refined = refine(x, y, w, refine_cfg, seed_pairs)
        out.append(("procrustes+refine", refined.w, time.perf_counter() - start))
    if "adversarial" in a.methods:
        start = time.perf_counter()
        adv_cfg = AdversarialConfig(epochs=a.adversarial_epochs, iterations=a.adversarial_iterations,
                                    restarts=a.adversarial_restarts, dis_hidden=a.adversarial_hidden,
                                    beta=a.adversarial_beta, refine=refine_cfg)
        result = adversarial_align(x, y, adv_cfg, seed=stage_seed(seed, "adversarial"))
        seconds = time.perf_counter() - start
        out.append(("adversarial", result.adversarial_w, seconds))
        out.append(("adversarial+refine", result.alignment.w, seconds))
    return out


def _pos_at_1(mapped: np.ndarray, y: np.ndarray, test: np.ndarray, tgt_pos: list[str], retrieval: Retrieval) -> float:
    queries = np.unique(test[:, 0])
    gold_pos = {int(s): tgt_pos[int(t)] for s, t in test}
    best = translate(mapped, y, queries, retrieval, top=1)[:, 0]
    return float(np.mean([tgt_pos[int(b)] == gold_pos[int(q)] for q, b in zip(queries, best)]))


def align_vectors(
    cfg: AlignConfig, src: WordVectors, tgt: WordVectors, entries: list[Entry], encoding: str, seed: int, kind: str,
) -> list[AlignRecord]:
    """Every method x retrieval on one pair of vector sets, plus the frequency references."""
    src, tgt = _frequent(src, cfg.align.min_count), _frequent(tgt, cfg.align.min_count)
    pairs, _ = index_pairs(entries, src.index, tgt.index)
    rng = np.random.default_rng(stage_seed(seed, "split"))
    seed_pairs, test = split_pairs(pairs, cfg.align.seed_pairs, rng)
    src_pos, tgt_pos = pos_of(entries)
    tgt_pos_rows = [tgt_pos[w] for w in tgt.words]
    x, y = normalize_embeddings(src.vectors), normalize_embeddings(tgt.vectors)
    n_seed, n_test = len(seed_pairs), len(np.unique(test[:, 0]))
    records = []
    for name, w, seconds in _maps(cfg, x, y, seed_pairs, seed):
        for retrieval in cfg.align.retrievals:
            p = precision_at_k(x @ w, y, test, retrieval)
            pos1 = _pos_at_1(x @ w, y, test, tgt_pos_rows, retrieval)
            records.append(AlignRecord(encoding, seed, kind, name, retrieval, p[1], p[5], pos1,
                                       n_seed if name.startswith("procrustes") else 0, n_test, seconds))
    # In-sample oracle: Procrustes fitted on every gold pair, test pairs included. No method can
    # beat it with an orthogonal map; its distance from 1 measures how far from isomorphic the
    # two spaces are (Søgaard et al. 2018).
    oracle = procrustes(x[pairs[:, 0]], y[pairs[:, 1]])
    for retrieval in cfg.align.retrievals:
        p = precision_at_k(x @ oracle, y, test, retrieval)
        records.append(AlignRecord(encoding, seed, kind, "oracle-procrustes-all-pairs", retrieval, p[1], p[5],
                                   _pos_at_1(x @ oracle, y, test, tgt_pos_rows, retrieval), len(pairs), n_test, 0.0))
    for name, by_pos in (("frequency-rank", False), ("frequency-rank-within-pos", True)):
        p = frequency_rank_precision(test, [src_pos[w] for w in src.words], tgt_pos_rows, by_pos)
        records.append(AlignRecord(encoding, seed, kind, name, "-", p[1], p[5], float("nan"), 0, n_test, 0.0))
    return records


@dataclass(frozen=True)
class AlignResults:
    records: list[AlignRecord]  # in unit order (encoding, then seed)
    trainings: list[dict]  # per trained model: what its training did
    failures: list[str]
    reused: int = 0  # units found finished in the store


def run_unit(cfg: AlignConfig, languages: tuple[Language, Language], entries: list[Entry], encoding: str, seed: int,
             ) -> tuple[list[AlignRecord], list[dict]]:
    """Both languages' models for (encoding, seed), then every vector kind aligned and scored."""
    device = prepare_unit(cfg.run.threads, cfg.run.device)
    models, trainings = [], []
    for lang in languages:
        model, info = train_language_model(cfg, lang, encoding, seed, device)
        models.append(model)
        trainings.append(info)
    records = []
    for kind in cfg.align.vectors:
        src_vecs, tgt_vecs = (word_vectors(kind, model, lang, seed) for model, lang in zip(models, languages))
        records += align_vectors(cfg, src_vecs, tgt_vecs, entries, encoding, seed, kind)
    return records, trainings


def units(cfg: AlignConfig) -> list[tuple[str, int]]:
    return [(e, s) for e in cfg.encodings for s in cfg.seeds]


def run(cfg: AlignConfig, executor=None, on_unit_done: Callable[[str, int], None] | None = None,
        store=None) -> AlignResults:
    """Every (encoding, seed) unit on ``executor``, kept in ``store`` as it finishes (see run_units)."""
    d = cfg.data
    entries = gold_dictionary(d.source, d.target)
    if cfg.align.seed_pairs >= len(entries):  # fail before any training, not after it
        raise PetraError(f"align.seed_pairs ({cfg.align.seed_pairs}) must be below the {len(entries)} gold pairs "
                         "the two lexicons share, to leave held-out pairs")
    languages = tuple(prepare_language(s, d.sentences, d.seed) for s in (d.source, d.target))
    done = run_units(cfg, run_unit, units(cfg), lambda unit: (cfg, languages, entries, *unit), executor, on_unit_done,
                     store)
    finished = [r for r in done.results if r is not None]
    return AlignResults([x for records, _ in finished for x in records], [t for _, ts in finished for t in ts],
                        [f for _, f in done.failures], done.reused)
