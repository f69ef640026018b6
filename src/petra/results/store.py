"""The results store: one immutable Parquet record per unit of work, keyed by a hash of the
resolved config and seed, plus its learning curves and (while it runs) its checkpoints.

Layout under ``root``: ``records/<key>.parquet``, ``curves/<key>.parquet``, ``scores/<key>.parquet``
(per record, the per-sentence test scores paired comparisons resample), ``work/<key>/``, and
``shared/<name>/`` for what every unit of a config uses (the fitted tokenizer). The other
experiments (lengthgen, bound, align) keep each unit's result as returned, in ``units/<key>.pkl``.
Files are written to a temporary name and renamed, so a crash never leaves half a record, and
re-running a config skips every unit whose record exists.
"""

from __future__ import annotations

import os
import pickle
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd


def atomic_write_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


class ResultStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)  # its folders are made as something is first written there
        self.root.mkdir(parents=True, exist_ok=True)

    def _record(self, key: str) -> Path:
        return self.root / "records" / f"{key}.parquet"

    def has(self, key: str) -> bool:
        return self._record(key).is_file()

    def put(self, key: str, records: pd.DataFrame, curves: pd.DataFrame, scores: pd.DataFrame,
            profile: pd.DataFrame | None = None) -> None:
        """Store a finished unit once (``profile``: its wall seconds per part); its work folder
        (checkpoints) is then removed."""
        if self.has(key):
            raise FileExistsError(f"record {key} already stored; records are immutable")
        for sub in ("records", "curves", "scores", "profiles"):
            (self.root / sub).mkdir(exist_ok=True)
        if profile is not None:
            atomic_write_parquet(profile.assign(key=key), self.root / "profiles" / f"{key}.parquet")
        atomic_write_parquet(curves.assign(key=key), self.root / "curves" / f"{key}.parquet")
        atomic_write_parquet(scores.assign(key=key), self.root / "scores" / f"{key}.parquet")
        atomic_write_parquet(records.assign(key=key), self._record(key))  # last: marks the unit done
        shutil.rmtree(self.work_dir(key), ignore_errors=True)

    def _unit(self, key: str) -> Path:
        return self.root / "units" / f"{key}.pkl"

    def has_unit(self, key: str) -> bool:
        return self._unit(key).is_file()

    def put_unit(self, key: str, result: Any) -> None:
        """Keep a finished unit's result (the experiment's own records) so a rerun need not compute it again."""
        path = self._unit(key)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(pickle.dumps(result))
        os.replace(tmp, path)

    def unit(self, key: str) -> Any:
        # written by put_unit from this folder's own runs (as trusted as its checkpoints)
        return pickle.loads(self._unit(key).read_bytes())

    def work_dir(self, key: str) -> Path:
        return self.root / "work" / key

    def shared_dir(self, name: str) -> Path:
        (self.root / "shared").mkdir(exist_ok=True)
        return self.root / "shared" / name

    def records(self, keys: Iterable[str]) -> pd.DataFrame:
        return _concat(self._record(k) for k in keys)

    def curves(self, keys: Iterable[str]) -> pd.DataFrame:
        return _concat(self.root / "curves" / f"{k}.parquet" for k in keys)

    def scores(self, keys: Iterable[str]) -> pd.DataFrame:
        return _concat(self.root / "scores" / f"{k}.parquet" for k in keys)

    def profiles(self, keys: Iterable[str]) -> pd.DataFrame:
        """Per unit and part, the wall seconds it took (units stored before profiles were kept: none)."""
        return _concat(self.root / "profiles" / f"{k}.parquet" for k in keys)


def _concat(paths: Iterable[Path]) -> pd.DataFrame:
    frames = [pd.read_parquet(p) for p in paths if p.is_file()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
