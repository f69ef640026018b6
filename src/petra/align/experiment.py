"""The alignment experiment: two synthetic languages with disjoint vocabularies, one MLM-trained
petra model each, their word vectors aligned by Procrustes (seed dictionary) and adversarially
(no dictionary), scored by BLI precision@1/@5 on held-out pairs of the exact gold dictionary.

Flow: config -> corpora (:func:`petra.data.synthetic.generate`) -> one model per language and
seed (:func:`petra.experiments.phases.fit`) -> input-embedding and averaged contextual vectors
-> maps (Procrustes, Procrustes + refinement, adversarial, adversarial + refinement) -> NN and
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from pydantic import Field

from petra.align.adversarial import AdversarialConfig, adversarial_align
from petra.align.dictionary import Entry, gold_dictionary, index_pairs, pos_of, split_pairs
from petra.align.procrustes import RefineConfig, procrustes, refine
from petra.align.references import frequency_rank_precision
from petra.align.retrieval import RETRIEVALS, Retrieval, normalize_embeddings, precision_at_k, translate
from petra.align.vectors import WordVectors, contextual_vectors, corpus_counts, input_embeddings
from petra.config import DeviceSection, ModelConfig, PretrainConfig, Section
from petra.device import resolve_device
from petra.data.batches import EncodedCorpus, encode
from petra.data.grammar import NUM_AGENT_CLASSES
from petra.data.synthetic import LanguageSpec, generate
from petra.data.vocab import LabelSet, Vocab
from petra.errors import PetraError
from petra.experiments.phases import fit
from petra.experiments.seeding import seed_everything, stage_seed
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


class AlignConfig(DeviceSection):  # `device`: where the two language models train (petra.device)
    name: str = "align"
    encoding: str = "sinusoidal"
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    model: ModelConfig = ModelConfig()
    data: AlignData = AlignData()
    pretrain: AlignPretrain = AlignPretrain()
    align: AlignSettings = AlignSettings()
    output_dir: Path = Path("runs/align")
    embedding_init_std: float | None = Field(
        0.02, gt=0, description="re-draw input embeddings from N(0, std^2) (BERT: 0.02); None keeps nn.Embedding's N(0, 1)")
    threads: int = Field(1, gt=0, description="torch CPU threads (tiny models run fastest on one)")


@dataclass(frozen=True)
class Language:
    spec: LanguageSpec
    vocab: Vocab
    corpus: EncodedCorpus
    counts: np.ndarray


@dataclass(frozen=True)
class AlignRecord:
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
    corpus = encode(sentences, vocab, LabelSet.build(t for s in sentences for t in s.upos), "upos")
    return Language(spec, vocab, corpus, corpus_counts(corpus, len(vocab)))


def train_language_model(cfg: AlignConfig, lang: Language, seed: int) -> tuple[PetraModel, dict]:
    """An MLM (+ optional agent-class task) model of one language, seeded by (seed, language)."""
    p = cfg.pretrain
    heads = {"mlm": HeadSpec("token", len(lang.vocab))}
    if "task" in p.objectives:
        heads["task"] = HeadSpec("sequence", NUM_AGENT_CLASSES)
    seed_everything(stage_seed(seed, lang.spec.name, "init"))
    model = build_model(cfg.model, cfg.encoding, len(lang.vocab), heads)
    if cfg.embedding_init_std is not None:
        # Rare words get few updates: with N(0, 1) rows their vectors stay mostly initial noise,
        # which no map can align; a small init leaves what training wrote (Devlin et al. 2019).
        torch.nn.init.normal_(model.encoder.embed.weight, std=cfg.embedding_init_std)
    model.to(resolve_device(cfg.device))
    generator = torch.Generator().manual_seed(stage_seed(seed, lang.spec.name, "mask"))
    mlm = MLMObjective(len(lang.vocab), lang.vocab.mask_id, p.mask_prob, generator) if "mlm" in p.objectives else None
    objective = JointObjective("sequence", p.task_weight if "task" in p.objectives else 0.0, mlm, p.mlm_weight)
    seed_everything(stage_seed(seed, lang.spec.name, "train"))
    result = fit(model, lang.corpus, objective, p, lang.vocab.pad_id, stage_seed(seed, lang.spec.name, "train"))
    tail = result.losses[-50:]
    return model, {"language": lang.spec.name, "seed": seed, "seconds": result.seconds, "steps": result.steps,
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
    cfg: AlignConfig, src: WordVectors, tgt: WordVectors, entries: list[Entry], seed: int, kind: str,
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
            records.append(AlignRecord(seed, kind, name, retrieval, p[1], p[5], pos1,
                                       n_seed if name.startswith("procrustes") else 0, n_test, seconds))
    # In-sample oracle: Procrustes fitted on every gold pair, test pairs included. No method can
    # beat it with an orthogonal map; its distance from 1 measures how far from isomorphic the
    # two spaces are (Søgaard et al. 2018).
    oracle = procrustes(x[pairs[:, 0]], y[pairs[:, 1]])
    for retrieval in cfg.align.retrievals:
        p = precision_at_k(x @ oracle, y, test, retrieval)
        records.append(AlignRecord(seed, kind, "oracle-procrustes-all-pairs", retrieval, p[1], p[5],
                                   _pos_at_1(x @ oracle, y, test, tgt_pos_rows, retrieval), len(pairs), n_test, 0.0))
    for name, by_pos in (("frequency-rank", False), ("frequency-rank-within-pos", True)):
        p = frequency_rank_precision(test, [src_pos[w] for w in src.words], tgt_pos_rows, by_pos)
        records.append(AlignRecord(seed, kind, name, "-", p[1], p[5], float("nan"), 0, n_test, 0.0))
    return records


def run(cfg: AlignConfig, on_step: Callable[[str], None] | None = None) -> tuple[list[AlignRecord], list[dict]]:
    """All seeds; returns the records and, per trained model, what its training did."""
    note = on_step or (lambda _: None)
    torch.set_num_threads(cfg.threads)
    d = cfg.data
    entries = gold_dictionary(d.source, d.target)
    if cfg.align.seed_pairs >= len(entries):  # fail before any training, not after it
        raise PetraError(f"align.seed_pairs ({cfg.align.seed_pairs}) must be below the {len(entries)} gold pairs "
                         "the two lexicons share, to leave held-out pairs")
    src_lang, tgt_lang = (prepare_language(s, d.sentences, d.seed) for s in (d.source, d.target))
    records, trainings = [], []
    for seed in cfg.seeds:
        models = {}
        for lang in (src_lang, tgt_lang):
            note(f"seed {seed}: training the {lang.spec.name} model")
            models[lang.spec.name], info = train_language_model(cfg, lang, seed)
            trainings.append(info)
        for kind in cfg.align.vectors:
            note(f"seed {seed}: aligning {kind} vectors")
            src_vecs = word_vectors(kind, models[d.source.name], src_lang, seed)
            tgt_vecs = word_vectors(kind, models[d.target.name], tgt_lang, seed)
            records += align_vectors(cfg, src_vecs, tgt_vecs, entries, seed, kind)
    return records, trainings


def records_as_dicts(records: list[AlignRecord]) -> list[dict]:
    return [asdict(r) for r in records]
