"""A pretrained encoder's own tokenizer (``model.pretrained``) behind the interface of petra's fitted
tokenizers: words -> sub-word ids without special tokens (the model adds its ``[CLS]`` / ``[SEP]``,
petra.models.pretrained), so word labels align to first sub-words exactly as for petra's own models.
Its ids are the model's (BERT: [PAD] 0, [UNK] 100, [MASK] 103; XLM-R: <pad> 1, <unk> 3, ...)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

BYTE_PIECE = re.compile(r"^<0x[0-9A-Fa-f]{2}>$")  # SentencePiece byte fallback
CONFIG_FILE = "tokenizer_config.json"  # what tells a saved pretrained tokenizer from petra's tokenizer.json


@dataclass(frozen=True)
class PretrainedTokenizer:
    tokenizer: Any  # transformers.PreTrainedTokenizerFast

    @classmethod
    def load(cls, folder: str | Path) -> PretrainedTokenizer:
        """From a model folder (or ``pkg:MODULE/PATH``), or a folder the tokenizer was saved to alone."""
        from petra.hf.pretrained import load_tokenizer, resolve_folder

        saved = Path(folder)
        return cls(load_tokenizer(saved if (saved / CONFIG_FILE).is_file() else resolve_folder(folder)))

    def save(self, directory: str | Path) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(directory)
        return directory / CONFIG_FILE

    @property
    def pad_id(self) -> int:
        return self.tokenizer.pad_token_id

    @property
    def unk_id(self) -> int:
        return self.tokenizer.unk_token_id

    @property
    def mask_id(self) -> int:
        return self.tokenizer.mask_token_id

    @property
    def cls_id(self) -> int:
        return self.tokenizer.cls_token_id

    @property
    def sep_id(self) -> int:
        return self.tokenizer.sep_token_id

    def __len__(self) -> int:
        return len(self.tokenizer)

    def word_pieces(self, words: Sequence[Sequence[str]]) -> list[list[list[int]]]:
        """For each sentence, the sub-word ids of each word; a word reduced to nothing (only characters
        the normaliser drops) becomes the unknown token, so every word keeps a first sub-word."""
        if not words:
            return []
        encoded = self.tokenizer([list(w) for w in words], is_split_into_words=True, add_special_tokens=False)
        result = []
        for row, sentence in enumerate(words):
            pieces: list[list[int]] = [[] for _ in sentence]
            for token_id, word_id in zip(encoded["input_ids"][row], encoded.word_ids(row)):
                if word_id is not None:
                    pieces[word_id].append(token_id)
            result.append([p or [self.unk_id] for p in pieces])
        return result

    @cached_property
    def byte_ids(self) -> frozenset[int]:
        return frozenset(i for token, i in self.tokenizer.get_vocab().items() if BYTE_PIECE.match(token))

    def whole_words(self) -> tuple[list[str], list[int]]:
        """Vocabulary entries that are whole words (word-start pieces of letters only), and their ids."""
        specials = set(self.tokenizer.all_special_ids)
        words, rows = [], []
        for token, index in sorted(self.tokenizer.get_vocab().items(), key=lambda item: item[1]):
            if index in specials or token.startswith("##"):
                continue
            word = token.removeprefix("▁").removeprefix("Ġ")
            if word and word.isalpha():
                words.append(word)
                rows.append(index)
        return words, rows

    def text(self, words: Sequence[str]) -> list[str]:
        return self.tokenizer.convert_ids_to_tokens([p for w in self.word_pieces([words])[0] for p in w])
