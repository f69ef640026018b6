"""Algorithmic tasks: each target is what the task's definition says, checked by an independent oracle,
laid out as input + blanks with only the blank positions scored."""

import numpy as np
import pytest

from petra.data.algorithmic import BLANK_ID, FIRST_SYMBOL_ID, build_task, evaluate_modular
from petra.data.batches import IGNORE
from petra.errors import PetraError


def _split(task, batch):
    """(inputs, outputs) back as symbol lists per example, from a Batch."""
    ids, tags = batch.ids.numpy(), batch.tags.numpy()
    out = []
    for row_ids, row_tags in zip(ids, tags):
        blanks = row_ids == BLANK_ID
        # Blanks form one block at the end and are exactly the scored region (plus masked tail).
        first = int(np.argmax(blanks))
        assert blanks[first:].all() and not blanks[:first].any()
        assert (row_tags[:first] == IGNORE).all()
        out.append(((row_ids[:first] - FIRST_SYMBOL_ID).tolist(), row_tags[first:].tolist()))
    return out


@pytest.mark.parametrize("n", [1, 5, 16])
def test_reverse_duplicate_sort_parity(n):
    rng = np.random.default_rng(n)
    for name, expect in [
        ("reverse_string", lambda x: x[::-1]),
        ("duplicate_string", lambda x: x + x),
        ("bucket_sort", sorted),
        ("parity_check", lambda x: [sum(x) % 2]),
    ]:
        task = build_task(name)
        batch = task.batch(rng, 8, n)
        assert batch.ids.shape == (8, task.sequence_length(n)) and bool(batch.mask.all())
        for inputs, outputs in _split(task, batch):
            assert len(inputs) == n and outputs == expect(inputs), name


def test_modular_arithmetic_matches_python_evaluation():
    assert evaluate_modular([1, 5, 2, 7, 3], 5) == 2  # 1 + 2 * 3 = 7 = 2 (mod 5)
    assert evaluate_modular([1, 6, 1, 6, 1], 5) == 4  # 1 - 1 - 1 = -1 = 4
    assert evaluate_modular([0, 7, 1, 5, 4, 7, 3, 6, 2], 5) == 0  # 0*1 + 4*3 - 2 = 10 = 0
    task, symbols = build_task("modular_arithmetic", modulus=5), "+-*"
    for inputs, (value,) in _split(task, task.batch(np.random.default_rng(0), 200, 9)):
        text = "".join(str(s) if i % 2 == 0 else symbols[s - 5] for i, s in enumerate(inputs))
        assert value == eval(text) % 5, text  # Python's precedence is the oracle
    # Even lengths are shortened to stay well formed (the paper does the same).
    assert task.batch(np.random.default_rng(0), 2, 8).ids.shape[1] == 7 + 1


def test_binary_addition_little_endian_with_termination_and_masked_tail():
    task = build_task("binary_addition")
    for n in (1, 2, 7, 12):
        batch = task.batch(np.random.default_rng(n), 50, n)
        assert batch.ids.shape[1] == n + n + 1
        for inputs, outputs in _split(task, batch):
            if 2 in inputs:
                plus = inputs.index(2)
                a, b = inputs[:plus], inputs[plus + 1 :]
            else:
                a, b = inputs, []
            value = lambda bits: sum(bit << i for i, bit in enumerate(bits))  # noqa: E731
            stop = outputs.index(2)
            assert value(outputs[:stop]) == value(a) + value(b)
            assert all(t == IGNORE for t in outputs[stop + 1 :])


def test_sampling_is_deterministic_given_the_generator():
    task = build_task("reverse_string")
    a = task.batch(np.random.default_rng(7), 4, 6)
    b = task.batch(np.random.default_rng(7), 4, 6)
    assert (a.ids == b.ids).all() and (a.tags == b.tags).all()


def test_corpus_feeds_the_standard_accuracy_path():
    task = build_task("duplicate_string", alphabet=3)
    corpus = task.corpus(np.random.default_rng(0), 5, 4)
    assert len(corpus) == 5 and all(len(ids) == 12 for ids in corpus.ids)
    assert max(int(ids.max()) for ids in corpus.ids) < task.vocab_size


def test_bad_task_or_option_is_one_clear_error():
    with pytest.raises(PetraError, match="unknown algorithmic task 'rev'"):
        build_task("rev")
    with pytest.raises(PetraError, match="parity_check"):
        build_task("parity_check", alphabet=3)
    with pytest.raises(PetraError, match="reverse_string"):
        build_task("reverse_string", modulus=5)
