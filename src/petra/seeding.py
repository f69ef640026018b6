"""Deterministic seeds for every stage of a run, identical in any process."""

from __future__ import annotations

import random
import zlib

import numpy as np
import torch


def stage_seed(seed: int, *parts: str) -> int:
    """A seed for (seed, stage...) that does not depend on Python's per-process string hashing."""
    return zlib.crc32("/".join([str(seed), *parts]).encode()) & 0x7FFFFFFF


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
