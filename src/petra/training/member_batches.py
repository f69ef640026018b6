"""The batches of batched members (petra.training.members): each step's batch per member, and the
members' prepared batches stacked into one whose tensors have a leading member dimension."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, replace

import torch
import torch.nn.functional as F

from petra.data.batches import IGNORE, Batch
from petra.errors import PetraError
from petra.randomness import Members


PAD = {"mask": False, "ids": 0, "inputs": 0}  # any other (B, T) tensor is labels: padded with IGNORE


def _tensors(prepared) -> dict[str, torch.Tensor]:
    """A prepared batch's tensors by name ("batch.ids", "task.tags", "masked.targets", ...)."""
    named = {}
    for part in ("batch", "task"):
        batch = getattr(prepared, part)
        for f in fields(Batch) if batch is not None else ():
            if isinstance(value := getattr(batch, f.name), torch.Tensor):
                named[f"{part}.{f.name}"] = value
    if prepared.masked is not None:
        named["masked.inputs"], named["masked.targets"] = prepared.masked
    return named


def rebuild(template, named: dict[str, torch.Tensor]):
    """``template`` (a prepared batch) with its tensors replaced by ``named``."""
    def batch(part: str) -> Batch | None:
        original = getattr(template, part)
        if original is None:
            return None
        return replace(original, **{f.name: named[key] for f in fields(Batch) if (key := f"{part}.{f.name}") in named})

    masked = None if template.masked is None else (named["masked.inputs"], named["masked.targets"])
    return replace(template, batch=batch("batch"), task=batch("task"), masked=masked)


def stacked(prepared: list) -> tuple[dict[str, torch.Tensor], Members]:
    """The members' prepared tensors stacked along a leading member dimension, padded to the largest
    member: (B, T) ones with padding tokens, (B,) ones (sentence labels) with IGNORE rows; padding is
    never attended to, scored or pooled. And each member's own sizes (a step's :class:`Members`)."""
    batch = [p.batch.ids.shape[0] for p in prepared]
    tokens = [p.batch.ids.shape[1] for p in prepared]
    most, longest = max(batch), max(tokens)
    named = [_tensors(p) for p in prepared]
    stacked = {}
    for key in named[0]:
        value = PAD.get(key.split(".")[1], IGNORE)
        sizes = [(0, longest - n[key].shape[1], 0, most - n[key].shape[0]) if n[key].dim() == 2 else (0, most - n[key].shape[0])
                 for n in named]
        stacked[key] = torch.stack([F.pad(n[key], pad, value=value) if any(pad) else n[key] for n, pad in zip(named, sizes)])
    return stacked, Members([], batch, tokens)


def member_epoch(members_: list, epoch: int) -> Iterator[list[Batch]]:
    """Each step's batches, one per member; they must agree on what batching needs."""
    iterators = [iter(m.epoch_batches(epoch)) for m in members_]
    while True:
        batches = [next(it, None) for it in iterators]
        if all(b is None for b in batches):
            return
        if any(b is None for b in batches) or len({(b.lang, b.labelled) for b in batches}) > 1:
            raise PetraError("batched members got batches that differ in number or language at the same step "
                             "(a member's data must have the same size and language schedule); set run.ensemble: off")
        yield batches
