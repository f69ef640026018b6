"""Sub-word tokenizers and first-sub-word label alignment (XTREME), on tiny corpora built here."""

from pathlib import Path

import numpy as np
import pytest
import torch

from petra.config import ModelConfig
from petra.data.batches import IGNORE, batches
from petra.data.sentence import Sentence
from petra.data.tokenize import FITTED_KINDS, SubwordTokenizer, TokenizerConfig, fit_tokenizer
from petra.data.word_labels import encode_sentences, raw_corpus
from petra.data.vocab import LabelSet
from petra.errors import PetraError
from petra.models import HeadSpec, build_model
from petra.tasks import get_task

TEXT = [
    "the cats were sleeping on the warm windowsill",
    "a dog barked at the sleeping cats",
    "unbelievably , the windowsills were warmer today",
    "dogs and cats sleep",
] * 20


def _sentence(text: str) -> Sentence:
    words = tuple(text.split())
    upos = tuple("PUNCT" if w == "," else "NOUN" if w.endswith("s") else "DET" if w in ("the", "a") else "VERB"
                 for w in words)
    return Sentence(words, upos, tuple([0] + [1] * (len(words) - 1)), ("root",) + ("dep",) * (len(words) - 1), "en")


@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "unigram"])
def test_first_subword_carries_the_word_label(kind):
    tokenizer = SubwordTokenizer.train(TEXT, TokenizerConfig(kind=kind, vocab_size=60, min_frequency=1))
    sentences = [_sentence(t) for t in TEXT[:4]] + [_sentence("zyzzyva windowsill , unbelievably")]
    labels = LabelSet.build(t for s in sentences for t in s.upos)
    corpus, cut = encode_sentences(sentences, tokenizer, labels)
    assert cut.words == 0
    split_somewhere = False
    for sentence, ids, tags, pieces in zip(sentences, corpus.ids, corpus.tags, tokenizer.word_pieces([s.words for s in sentences])):
        assert len(ids) == len(tags) == sum(len(p) for p in pieces)
        # exactly one labelled position per word, at its first sub-word, in word order
        labelled = tags[tags != IGNORE]
        assert [labels.tags[t] for t in labelled] == list(sentence.upos)
        starts = np.cumsum([0] + [len(p) for p in pieces[:-1]])
        assert (tags[starts] != IGNORE).all()
        split_somewhere |= any(len(p) > 1 for p in pieces)
    assert split_somewhere, "a 60-piece vocabulary must split some words, or the test proves nothing"


def test_specials_have_fixed_ids_and_save_load_round_trips(tmp_path):
    tokenizer = SubwordTokenizer.train(TEXT, TokenizerConfig(vocab_size=80, min_frequency=1))
    assert [tokenizer.tokenizer.id_to_token(i) for i in range(3)] == ["[PAD]", "[UNK]", "[MASK]"]
    tokenizer.save(tmp_path)
    loaded = SubwordTokenizer.load(tmp_path)
    words = [("the", "windowsills", "barked", "qqq", "ქართული")]
    assert loaded.word_pieces(words) == tokenizer.word_pieces(words)


SCRIPTS = ["ქართული", "русский", "العربية", "हिन्दी", "日本語", "한국어", "qqq", "niño", "ẓ̌", "🙂"]


@pytest.mark.parametrize("kind", ["wordpiece", "bpe", "unigram"])
def test_no_word_is_unknown_in_any_script(kind):
    """Fitted on English alone, every sub-word kind spells words of other scripts in byte pieces
    instead of [UNK] (Georgian, Cyrillic, Arabic, Devanagari, CJK, Hangul, emoji, combining marks)."""
    tokenizer = SubwordTokenizer.train(TEXT, TokenizerConfig(kind=kind, vocab_size=60, min_frequency=1))
    pieces = tokenizer.word_pieces([SCRIPTS])[0]
    assert all(tokenizer.unk_id not in word for word in pieces)
    assert all(set(word) & tokenizer.byte_ids for word in pieces[:6])  # unseen scripts: spelled in bytes
    assert not any(set(word) & tokenizer.byte_ids for word in tokenizer.word_pieces([TEXT[0].split()])[0])
    decoded = tokenizer.tokenizer.decode([i for word in pieces[:3] for i in word])
    assert all(word in decoded for word in SCRIPTS[:3])  # bytes decode back to the words (pipelines print them)


# 300 CJK characters, each as frequent as many others: more than limit_alphabet, with ties at the cut
CJK = [chr(0x4E00 + i) for i in range(300)]
CJK_TEXT = [" ".join(CJK[i:i + 10] + ["".join(CJK[i:i + 3])]) for i in range(0, 300, 5)] * 2


@pytest.mark.parametrize("kind", FITTED_KINDS)
def test_fit_is_the_same_in_a_fresh_process(kind, tmp_path):
    """Every kind fits the same tokenizer in any process, also when the alphabet is cut among equally
    frequent characters. tokenizers' own training broke ties by hash-map order, seeded per process: its
    BPE alphabet cut, its WordPiece '##' ids and merges (huggingface/tokenizers#1794), its Unigram ids
    and last bits of scores (before the fix: 3 hashes in 3 processes for each of the three)."""
    import subprocess
    import sys

    script = (f"from petra.data.tokenize import TokenizerConfig, fit_tokenizer\n"
              f"from tests.data.test_tokenize import CJK_TEXT, TEXT, _sentence\n"
              f"import sys\nfit_tokenizer(TokenizerConfig(kind={kind!r}, vocab_size=400, min_frequency=1, limit_alphabet=50), "
              f"[_sentence(t) for t in TEXT + CJK_TEXT]).save(sys.argv[1])\n")
    saved = []
    for i in range(3):
        subprocess.run([sys.executable, "-c", script, str(tmp_path / str(i))], check=True, cwd=Path(__file__).parents[2])
        saved.append(next((tmp_path / str(i)).iterdir()).read_bytes())
    assert len(set(saved)) == 1


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(PetraError, match="tokenizer file not found"):
        SubwordTokenizer.load(tmp_path)
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(PetraError, match="tokenizer.json: not a Hugging Face tokenizer"):
        SubwordTokenizer.load(tmp_path)


def test_truncation_is_counted_not_hidden():
    tokenizer = SubwordTokenizer.train(TEXT, TokenizerConfig(vocab_size=200, min_frequency=1))
    sentence = _sentence("the cats were sleeping on the warm windowsill")
    labels = LabelSet.build(sentence.upos)
    corpus, cut = encode_sentences([sentence], tokenizer, labels, max_len=3)
    assert len(corpus.ids[0]) == 3
    assert cut.sentences == 1
    assert cut.words + int((corpus.tags[0] != IGNORE).sum()) == len(sentence)


def test_existing_batches_and_accuracy_score_words_not_subwords():
    """`batches` + the token task's scores work unchanged and count each word once."""
    tokenizer = SubwordTokenizer.train(TEXT, TokenizerConfig(vocab_size=50, min_frequency=1))
    sentences = [_sentence(t) for t in TEXT[:4]]
    labels = LabelSet.build(t for s in sentences for t in s.upos)
    corpus, _ = encode_sentences(sentences, tokenizer, labels)
    torch.manual_seed(0)
    model = build_model(ModelConfig(dim=16, layers=1, heads=2, ffn_dim=16, max_len=64), "sinusoidal",
                        len(tokenizer), {"task": HeadSpec("token", len(labels))}).eval()
    correct = 0
    with torch.no_grad():
        for batch in batches(corpus, 256, tokenizer.pad_id):  # as accuracy() batches: same padding, same logits
            predicted = model(batch.ids, batch.mask, head="task").argmax(-1)
            keep = batch.tags != IGNORE
            correct += int((predicted[keep] == batch.tags[keep]).sum())
    words = sum(len(s) for s in sentences)
    assert get_task("token").scores(model, corpus, tokenizer.pad_id, labels).accuracy == pytest.approx(correct / words)


def test_raw_corpus_has_no_labels_and_same_pieces():
    tokenizer = SubwordTokenizer.train(TEXT, TokenizerConfig(vocab_size=60, min_frequency=1))
    sentences = [_sentence(TEXT[2])]
    raw = raw_corpus(sentences, tokenizer)
    labelled, _ = encode_sentences(sentences, tokenizer, LabelSet.build(sentences[0].upos))
    assert (raw.tags[0] == IGNORE).all()
    assert raw.ids[0].tolist() == labelled.ids[0].tolist()


def test_word_tokenizer_matches_the_word_vocabulary_and_round_trips(tmp_path):
    from petra.data.batches import encode
    from petra.data.tokenize import WordTokenizer, fit_tokenizer, load_tokenizer
    from petra.data.vocab import Vocab

    sentences = [_sentence(t) for t in TEXT]
    tokenizer = fit_tokenizer(TokenizerConfig(kind="word"), sentences)
    assert tokenizer.vocab == Vocab.build(w for s in sentences for w in s.words)
    labels = LabelSet.build(t for s in sentences for t in s.upos)
    ours, cut = encode_sentences(sentences, tokenizer, labels, max_len=64)
    reference = encode(sentences, tokenizer.vocab, labels)  # one id per word, every word labelled
    assert cut.words == 0 and all(np.array_equal(a, b) for a, b in zip(ours.ids, reference.ids))
    assert all(np.array_equal(a, b) for a, b in zip(ours.tags, reference.tags))
    loaded = load_tokenizer(tokenizer.save(tmp_path / "tok").parent)
    assert isinstance(loaded, WordTokenizer) and loaded.vocab == tokenizer.vocab
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "vocab.json").write_text('["a", "b"]')
    with pytest.raises(PetraError, match="not a petra word vocabulary"):
        load_tokenizer(tmp_path / "bad")


def test_unigram_smaller_than_its_alphabet_says_so():
    with pytest.raises(PetraError, match="unigram keeps every character .* has 300"):
        fit_tokenizer(TokenizerConfig(kind="unigram", vocab_size=100), [_sentence(t) for t in CJK_TEXT])
