"""Algorithmic sequence tasks for length generalization, in the non-autoregressive encoder setup of
Ruoss et al. (2023, "Randomized Positional Encodings Boost Length Generalization of Transformers",
Sec. 4; their code: google-deepmind/randomized_positional_encodings, ``experiments/utils.py``,
``make_model_with_empty_targets``).

A sequence is the input string followed by as many BLANK tokens as the output has; the model
predicts the output at the blank positions (token classification), so the input and output of
a length-``n`` example together span ``n + output_length(n)`` positions. Token ids: 0 = [PAD],
1 = [BLANK], input symbol ``s`` = ``2 + s``. Output classes are the task's output symbols.
Accuracy is per output token, as in the paper; for binary addition only tokens up to and
including the termination token count (the rest are padding zeros, ``IGNORE`` here).

Every task samples fresh data per call from a ``numpy.random.Generator``: training never
repeats an example, as in the paper.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from petra.data.batches import IGNORE, Batch, EncodedCorpus
from petra.errors import PetraError

PAD_ID, BLANK_ID, FIRST_SYMBOL_ID = 0, 1, 2

Sampler = Callable[[np.random.Generator, int, int], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class AlgorithmicTask:
    """``sample(rng, batch, n) -> (inputs (B, n'), targets (B, m))`` with ``m = output_length(n)``.

    ``inputs`` hold symbols in ``[0, input_size)``; ``targets`` classes in ``[0, output_size)`` or
    ``IGNORE``. ``n'`` is ``n`` except for modular arithmetic, whose expressions have odd length.
    """

    name: str
    input_size: int
    output_size: int
    output_length: Callable[[int], int]
    sample: Sampler

    @property
    def vocab_size(self) -> int:
        return FIRST_SYMBOL_ID + self.input_size

    def sequence_length(self, n: int) -> int:
        """Positions a length-``n`` example occupies (input + blanks): what the PE must cover."""
        return n + self.output_length(n)

    def batch(self, rng: np.random.Generator, batch_size: int, n: int) -> Batch:
        """One batch of ``batch_size`` examples of input length ``n`` (no padding needed)."""
        inputs, targets = self.sample(rng, batch_size, n)
        return _to_batch(inputs, targets)

    def corpus(self, rng: np.random.Generator, size: int, n: int) -> EncodedCorpus:
        """``size`` examples of length ``n`` as an :class:`EncodedCorpus` (for ``evaluate.accuracy``)."""
        batch = self.batch(rng, size, n)
        ids, tags = batch.ids.numpy(), batch.tags.numpy()
        return EncodedCorpus(list(ids), list(tags), np.zeros(size, dtype=np.int64))


def _to_batch(inputs: np.ndarray, targets: np.ndarray) -> Batch:
    batch, n = inputs.shape
    m = targets.shape[1]
    ids = np.concatenate([inputs + FIRST_SYMBOL_ID, np.full((batch, m), BLANK_ID)], axis=1).astype(np.int64)
    tags = np.concatenate([np.full((batch, n), IGNORE), targets], axis=1).astype(np.int64)
    ids_t = torch.from_numpy(ids)
    return Batch(ids_t, torch.ones_like(ids_t, dtype=torch.bool), torch.from_numpy(tags), torch.zeros(batch, dtype=torch.int64))


def _strings(rng: np.random.Generator, batch: int, n: int, alphabet: int) -> np.ndarray:
    return rng.integers(0, alphabet, size=(batch, n))


def reverse_string(alphabet: int = 2) -> AlgorithmicTask:
    """s_1 .. s_n -> s_n .. s_1 (the paper uses binary strings)."""

    def sample(rng, batch, n):
        x = _strings(rng, batch, n, alphabet)
        return x, x[:, ::-1].copy()

    return AlgorithmicTask("reverse_string", alphabet, alphabet, lambda n: n, sample)


def duplicate_string(alphabet: int = 2) -> AlgorithmicTask:
    """s -> s s (output twice the input length)."""

    def sample(rng, batch, n):
        x = _strings(rng, batch, n, alphabet)
        return x, np.concatenate([x, x], axis=1)

    return AlgorithmicTask("duplicate_string", alphabet, alphabet, lambda n: 2 * n, sample)


def parity_check(alphabet: int = 2) -> AlgorithmicTask:
    """Binary string -> whether the number of 1s is odd (one output token)."""
    if alphabet != 2:
        raise PetraError(f"parity_check takes binary strings: alphabet must be 2, got {alphabet}")

    def sample(rng, batch, n):
        x = _strings(rng, batch, n, 2)
        return x, (x.sum(axis=1, keepdims=True) % 2)

    return AlgorithmicTask("parity_check", 2, 2, lambda n: 1, sample)


def bucket_sort(alphabet: int = 5) -> AlgorithmicTask:
    """Tokens from a fixed alphabet -> the same tokens sorted increasingly (the paper's "sort")."""

    def sample(rng, batch, n):
        x = _strings(rng, batch, n, alphabet)
        return x, np.sort(x, axis=1)

    return AlgorithmicTask("bucket_sort", alphabet, alphabet, lambda n: n, sample)


def evaluate_modular(expression: list[int], modulus: int) -> int:
    """Value of ``r0 op r1 op ...`` mod ``modulus`` with the usual precedence (* before + and -).

    Operators are encoded ``modulus + {0: +, 1: -, 2: *}``, as in the paper's task.
    """
    total, term, sign = 0, expression[0], 1
    for op, value in zip(expression[1::2], expression[2::2]):
        if op == modulus + 2:
            term *= value
        else:
            total += sign * term
            term, sign = value, (1 if op == modulus else -1)
    return (total + sign * term) % modulus


def modular_arithmetic(modulus: int = 5) -> AlgorithmicTask:
    """``r0 op r1 op ... rk`` (residues and + - *) -> its value mod ``modulus``; inputs of even length
    ``n`` are shortened to ``n - 1`` so every expression is well formed, as in the paper."""
    if modulus < 2:
        raise PetraError(f"modular_arithmetic modulus must be >= 2, got {modulus}")

    def sample(rng, batch, n):
        n = max(1, n - (n % 2 == 0))
        x = np.empty((batch, n), dtype=np.int64)
        x[:, 0::2] = rng.integers(0, modulus, size=(batch, (n + 1) // 2))
        x[:, 1::2] = modulus + rng.integers(0, 3, size=(batch, n // 2))
        y = np.array([[evaluate_modular(row.tolist(), modulus)] for row in x])
        return x, y

    return AlgorithmicTask("modular_arithmetic", modulus + 3, modulus, lambda n: 1, sample)


def _little_endian(value: int, width: int) -> list[int]:
    return [(value >> i) & 1 for i in range(width)]


def binary_addition() -> AlgorithmicTask:
    """``a + b`` in little-endian binary (``+`` is symbol 2) -> the sum in little-endian binary, then
    the termination token 2, then zeros up to ``n + 1`` outputs; tokens after the termination are not
    scored (the paper's ``accuracy_mask``). Operand lengths split ``n - 1`` at random; operands >= 1."""

    def sample(rng, batch, n):
        inputs = np.zeros((batch, n), dtype=np.int64)
        targets = np.full((batch, n + 1), IGNORE, dtype=np.int64)
        for row in range(batch):
            if n <= 2:  # too short for "a+b": a bare number, its own sum (as in the paper)
                a, width_a, b = int(rng.integers(0, 2**n)), n, 0
                inputs[row] = _little_endian(a, n)
            else:
                width_a = int(rng.integers(1, n - 1))
                width_b = n - 1 - width_a
                a = int(rng.integers(1, 2**width_a))
                b = int(rng.integers(1, 2**width_b))
                inputs[row] = _little_endian(a, width_a) + [2] + _little_endian(b, width_b)
            total = a + b
            bits = _little_endian(total, max(1, total.bit_length()))  # 0 is spelled "0"
            targets[row, : len(bits) + 1] = bits + [2]
        return inputs, targets

    return AlgorithmicTask("binary_addition", 3, 3, lambda n: n + 1, sample)


TASKS: dict[str, Callable[..., AlgorithmicTask]] = {
    "reverse_string": reverse_string,
    "duplicate_string": duplicate_string,
    "parity_check": parity_check,
    "modular_arithmetic": modular_arithmetic,
    "binary_addition": binary_addition,
    "bucket_sort": bucket_sort,
}


def build_task(name: str, **options: int) -> AlgorithmicTask:
    """The task ``name`` with its options (``alphabet`` for strings, ``modulus`` for arithmetic)."""
    if name not in TASKS:
        raise PetraError(f"unknown algorithmic task {name!r}; available: {', '.join(TASKS)}")
    try:
        return TASKS[name](**options)
    except TypeError as exc:
        raise PetraError(f"task_options for {name!r}: {exc}") from None
