"""Typologically controlled synthetic languages: one shared grammar, many linearisations.

Every language draws its trees from the abstract grammar in :mod:`petra.data.grammar`; a
:class:`LanguageSpec` only decides how a tree is *linearised* (basic word order, adjective and
adposition placement) and how its lexemes are *spelled* (surface forms, optional case suffixes).
So two languages differ exactly in the typological features a transfer experiment varies.

Lexicon: :mod:`petra.data.lexicon` (random CV forms, a shared pool, optional case suffixes).

Lengths. One probability ``p`` steers every optional part (first and second adjective: p each;
obl PP on the clause: p; nmod PP on a noun: p/2), and ``relative_clause_prob`` is the chance that
a noun above the depth limit takes a relative clause. :func:`petra.data.grammar.expected_length`
gives the mean length in closed form; ``p`` is solved from ``mean_length`` by bisection.
Sentences longer than ``max_length`` are redrawn, so the realised mean sits slightly below
``mean_length`` only when ``max_length`` is close to it.

Sentence label: the semantic class (``noun index mod NUM_AGENT_CLASSES``) of the main clause's
subject noun. A noun's class is drawn uniformly and then the noun Zipf-wise within its class, for
every noun alike, so labels are uniform and subject and object are independent and identically
distributed. Chance level is 1/4 = 25%. A bag-of-words model that knew which two nouns are the
main-clause arguments but not which is the subject is right when both share a class (1/4) and
half of the time otherwise: 1/4 + 3/4 * 1/2 = 62.5%; nouns inside PPs and relative clauses only
lower that ceiling. Beyond it only word order helps, or the nominative suffix when
``case_suffixes`` is on (then the task is solvable from the bag of words).

Determinism: a language's forms depend on ``(name, seed, vocab_size, shared_vocab, case_suffixes)``;
a corpus on the spec and the ``seed`` given to :func:`generate`. The language name is mixed into
the corpus seed, so two languages generated with the same seed do not produce translations of
each other (a test set in one is never a reordered training set of another).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import ClassVar, Literal, get_args

from petra.data.grammar import (
    MIN_CLAUSE_WORDS,
    MIN_VOCAB_SIZE,
    NUM_AGENT_CLASSES,
    GrammarParams,
    LexiconSizes,
    Node,
    TreeSampler,
    agent_class,
    expansion_for,
    length_range,
)
from petra.data.lexicon import Lexicon, build_lexicon
from petra.data.sentence import Sentence
from petra.errors import PetraError

__all__ = ["NUM_AGENT_CLASSES", "LanguageSpec", "generate", "word_order_of"]

WordOrder = Literal["SVO", "SOV", "VSO", "VOS", "OVS", "OSV"]
AdjectiveOrder = Literal["AN", "NA"]
Adposition = Literal["pre", "post"]



@dataclass(frozen=True)
class LanguageSpec:
    """One synthetic language: how the shared grammar is linearised and spelled.

    ``seed`` (with ``name``) seeds the language's own surface forms, not the corpus sampling.
    ``mean_length`` is the expected sentence length before the ``max_length`` cap.
    """

    name: str
    word_order: WordOrder = "SVO"
    adjective_order: AdjectiveOrder = "AN"
    adposition: Adposition = "pre"
    case_suffixes: bool = False
    shared_vocab: float = 1.0
    vocab_size: int = 400
    mean_length: float = 8.0
    max_length: int = 40
    relative_clause_prob: float = 0.1
    zipf_exponent: float = 1.0
    seed: int = 0

    kind: ClassVar[str] = "synthetic"
    sentence_labels: ClassVar[bool] = True  # the agent class (see the module docstring)

    def __post_init__(self) -> None:
        _validate(self)

    def read(self, data_dir: object, train: int | None, test: int | None, seed: int,
             splits: object = None) -> dict[str, list[Sentence]]:
        """``train`` + ``test`` sentences from one seeded stream (train first), as every experiment draws them."""
        if train is None or test is None:
            raise PetraError(f"language {self.name!r}: a synthetic language needs a number of train and test sentences")
        sentences = generate(self, train + test, seed)
        return {"train": sentences[:train], "test": sentences[train:]}


def _require(condition: bool, name: str, field: str, message: str) -> None:
    if not condition:
        raise PetraError(f"language {name!r}: {field} {message}")


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate(spec: LanguageSpec) -> None:
    name = spec.name
    _require(isinstance(name, str) and name != "", repr(name), "name", "must be a non-empty string")
    for field, value, allowed in (
        ("word_order", spec.word_order, get_args(WordOrder)),
        ("adjective_order", spec.adjective_order, get_args(AdjectiveOrder)),
        ("adposition", spec.adposition, get_args(Adposition)),
    ):
        _require(value in allowed, name, field, f"must be one of {', '.join(allowed)}, got {value!r}")
    _require(isinstance(spec.case_suffixes, bool), name, "case_suffixes", "must be true or false")
    probabilities = (("shared_vocab", spec.shared_vocab), ("relative_clause_prob", spec.relative_clause_prob))
    for field, value in probabilities:
        _require(_is_number(value) and 0.0 <= value <= 1.0, name, field, f"must lie in [0, 1], got {value!r}")
    _require(
        _is_int(spec.vocab_size) and spec.vocab_size >= MIN_VOCAB_SIZE,
        name, "vocab_size", f"must be an integer >= {MIN_VOCAB_SIZE}, got {spec.vocab_size!r}",
    )
    _require(
        _is_int(spec.max_length) and spec.max_length >= MIN_CLAUSE_WORDS,
        name, "max_length", f"must be an integer >= {MIN_CLAUSE_WORDS}, got {spec.max_length!r}",
    )
    _validate_mean_length(spec)
    _require(_is_number(spec.zipf_exponent) and spec.zipf_exponent >= 0, name, "zipf_exponent",
             f"must be >= 0, got {spec.zipf_exponent!r}")
    _require(_is_int(spec.seed), name, "seed", f"must be an integer, got {spec.seed!r}")


def _validate_mean_length(spec: LanguageSpec) -> None:
    low, high = length_range(spec.relative_clause_prob)
    high = min(high, spec.max_length)
    _require(
        low <= high, spec.name, "max_length",
        f"({spec.max_length}) is below the shortest mean length the grammar reaches with "
        f"relative_clause_prob={spec.relative_clause_prob} ({low:.2f}): raise max_length or lower relative_clause_prob",
    )
    _require(
        _is_number(spec.mean_length) and low <= spec.mean_length <= high,
        spec.name, "mean_length",
        f"must lie in [{low:.2f}, {high:.2f}] (what the grammar reaches with relative_clause_prob="
        f"{spec.relative_clause_prob} and max_length={spec.max_length}), got {spec.mean_length!r}",
    )


def _linearise(node: Node, spec: LanguageSpec, out: list[Node]) -> None:
    if node.pos == "VERB":
        _linearise_clause(node, spec, out)
    elif node.pos == "NOUN":
        _linearise_noun_phrase(node, spec, out)
    else:
        out.append(node)


def _linearise_clause(verb: Node, spec: LanguageSpec, out: list[Node]) -> None:
    """S, V, O in the spec's order; an obl PP goes just before a final verb, else clause-finally."""
    oblique = verb.dependent("obl")
    verb_final = spec.word_order[2] == "V"
    for role in spec.word_order:
        if role == "V":
            if oblique is not None and verb_final:
                _linearise(oblique, spec, out)
            out.append(verb)
        else:
            _linearise(verb.dependent("nsubj" if role == "S" else "obj"), spec, out)
    if oblique is not None and not verb_final:
        _linearise(oblique, spec, out)


def _linearise_noun_phrase(noun: Node, spec: LanguageSpec, out: list[Node]) -> None:
    """Adjectives by ``adjective_order``; nmod PPs and relative clauses follow the head direction
    of the adpositions (after the noun with prepositions, before it with postpositions), the
    usual harmony of head-initial vs head-final languages."""
    head_initial = spec.adposition == "pre"
    adposition = noun.dependent("case")
    adjectives = [d for d in noun.dependents if d.deprel == "amod"]
    phrases = [d for d in noun.dependents if d.deprel in ("nmod", "acl:relcl")]
    if adposition is not None and head_initial:
        out.append(adposition)
    if not head_initial:
        for phrase in reversed(phrases):
            _linearise(phrase, spec, out)
    if spec.adjective_order == "AN":
        out.extend(adjectives)
        out.append(noun)
    else:
        out.append(noun)
        out.extend(adjectives)
    if head_initial:
        for phrase in phrases:
            _linearise(phrase, spec, out)
    if adposition is not None and not head_initial:
        out.append(adposition)


def _realise(root: Node, spec: LanguageSpec, lexicon: Lexicon) -> Sentence:
    order: list[Node] = []
    _linearise(root, spec, order)
    position = {id(node): i for i, node in enumerate(order, start=1)}
    heads = [0] * len(order)
    for node in order:
        for child in node.dependents:
            heads[position[id(child)] - 1] = position[id(node)]
    return Sentence(
        words=tuple(lexicon.word(node) for node in order),
        upos=tuple(node.pos for node in order),
        heads=tuple(heads),
        deprels=tuple(node.deprel for node in order),
        lang=spec.name,
        label=agent_class(root.dependent("nsubj").index),
    )


def generate(spec: LanguageSpec, n: int, seed: int) -> list[Sentence]:
    """``n`` sentences of ``spec``'s language; the same (spec, n, seed) always gives the same list."""
    if not _is_int(n) or n < 0:
        raise PetraError(f"n must be a non-negative integer, got {n!r}")
    if not _is_int(seed):
        raise PetraError(f"seed must be an integer, got {seed!r}")
    params = GrammarParams(
        sizes=LexiconSizes.from_vocab(spec.vocab_size),
        zipf_exponent=spec.zipf_exponent,
        expansion=expansion_for(spec.mean_length, spec.relative_clause_prob),
        relative_clause_prob=spec.relative_clause_prob,
    )
    lexicon = build_lexicon(spec)
    sampler = TreeSampler(params, random.Random(f"corpus\x00{spec.name}\x00{seed}"))
    return [_realise(sampler.sentence(spec.max_length), spec, lexicon) for _ in range(n)]


def word_order_of(sentence: Sentence) -> str | None:
    """The basic order measured from the tree: root verb vs its first ``nsubj`` and ``obj``.

    Returns e.g. ``"SOV"``, or None when the root is not a verb with both a subject and an object.
    """
    roots = [i for i, head in enumerate(sentence.heads, start=1) if head == 0]
    if len(roots) != 1 or sentence.upos[roots[0] - 1] != "VERB":
        return None
    root = roots[0]
    positions = {"V": root}
    for letter, deprel in (("S", "nsubj"), ("O", "obj")):
        found = [i for i, (head, rel) in enumerate(zip(sentence.heads, sentence.deprels), 1)
                 if head == root and rel == deprel]
        if not found:
            return None
        positions[letter] = found[0]
    return "".join(sorted(positions, key=positions.__getitem__))
