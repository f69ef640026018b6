"""Atomic checkpoints (write to a temporary file, then rename) so a kill -9 at any moment leaves
either the previous checkpoint or the new one, never a torn file."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch


def atomic_torch_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def atomic_write_json(obj: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj))
    os.replace(tmp, path)


@dataclass(frozen=True)
class Checkpointer:
    """Where one training phase saves its state, and how often (``every`` steps; 0 = only at the
    end and on interruption). ``at_end`` False skips the save after the last step, for a phase
    whose caller records its outcome itself (a fine-tuning's scores): that file would be deleted
    unread."""

    path: Path
    every: int = 0
    at_end: bool = True
    loaded: list[tuple[str, int]] = field(default_factory=list, compare=False)  # (phase, step) of each load

    def load(self) -> dict[str, Any] | None:
        if not self.path.is_file():
            return None
        saved = torch.load(self.path, weights_only=False)
        self.loaded.append((self.path.stem, len(saved["losses"])))  # what a resumed run can say it reused
        return saved

    def save(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_torch_save(state, self.path)

    def due(self, step: int) -> bool:
        return self.every > 0 and step % self.every == 0
