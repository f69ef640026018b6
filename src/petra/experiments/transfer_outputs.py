"""The results folder of a transfer run: resolved config, tokenizer, per-run metrics, summary and claims
(computed once here and handed to the report), the distance of each language pair, and the report."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from petra.experiments.transfer_config import Config
from petra.experiments.transfer import TransferResults
from petra.experiments.transfer_data import TransferData
from petra.results.figures import accuracy_with_ci, sample_efficiency
from petra.results.writer import records, write_results
from petra.tasks import get_task
from petra.results.coverage import COVERAGE_FILE
from petra.results.across import ACROSS_FILE
from petra.results.replication import REPLICATION_FILE, Tables, summarise
from petra.results.time_profile import TIME_FILE, time_table


COVERAGE_COLUMNS = ("unknown_rate", "byte_rate", "pieces_per_word", "test_types_seen", "own_text_sentences")


@dataclass(frozen=True)
class RunOutputs:
    directory: Path
    runs: pd.DataFrame
    summary: pd.DataFrame
    across: pd.DataFrame
    replication: pd.DataFrame
    tables: Tables  # summary and claims, as the report reads them
    notes: list[str] = field(default_factory=list)  # what could not be added (e.g. distances of a language)


def _in_config_order(runs: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Rows ordered as the config lists PEs, targets, k and recipes (tables and plots follow it)."""
    from petra.training.recipes import ZERO_SHOT

    order = {
        "source": {s.name: i for i, s in enumerate(config.data.sources)},
        "encoding": {e: i for i, e in enumerate(config.encodings)},
        "target": {t.name: i for i, t in enumerate(config.data.targets)},
        "shots": {k: i for i, k in enumerate(config.finetune.shots)},  # 'all' (its k varies) sorts last
        "recipe": {r: i for i, r in enumerate([ZERO_SHOT, *config.finetune.recipes])},
    }
    rank = {column: runs[column].map(ranks) for column, ranks in order.items()}
    by = ["source", "encoding", "seed", "target", "shots", "recipe"]
    rank["shots"] = rank["shots"].fillna(len(config.finetune.shots) + runs["shots"] / (1 + runs["shots"].max()))
    index = pd.DataFrame({**rank, "seed": runs["seed"]}).sort_values(by).index
    return runs.loc[index].reset_index(drop=True)


def target_table(data: TransferData) -> pd.DataFrame:
    """What each target offered: test size, k-shot pool (its largest k; under test folds, what the
    other folds hold), measured word order, truncated test words, and how the tokenizer covers it."""
    covered = {row["language"]: row for row in data.stats["coverage"] if row["role"] == "target"}
    return pd.DataFrame([
        {"target": t.name, "test_sentences": len(t.test), "pool_split": t.pool.split or "-", "pool_sentences": t.pool.size,
         "folds": len(t.pool.folds), "dominant_order": t.order or "-", "test_truncated_words": t.truncated_test_words,
         **{k: v for k, v in covered[t.name].items() if k in COVERAGE_COLUMNS}}
        for t in data.targets.values()
    ])


def write(directory: Path, config: Config, results: TransferResults, seconds: float,
          data_dir: str | Path | None = None) -> RunOutputs:
    """Every file of the results folder, then the distance of each (source, target) pair beside its
    gain and the report, which reads the summary and claims computed here."""
    from petra.results.report import write_report

    outputs = write_outputs(directory, config, results, seconds)
    notes = results.notes + _link_distances(directory, data_dir)
    write_report(directory, outputs.tables)
    return replace(outputs, notes=notes)


def _link_distances(out: Path, data_dir: str | Path | None) -> list[str]:
    """Distance of each (source, target) pair and its gain (what `petra transfer-link` writes), for
    the report; the results are already written, so a language that cannot be profiled only costs
    this section (and a note saying so)."""
    from petra.errors import PetraError
    from petra.results.transfer_link import write_link

    try:
        write_link(out, out, str(data_dir) if data_dir else None)
    except PetraError as exc:
        return [f"distance vs gain not computed: {exc}"]
    return []


def write_outputs(directory: Path, config: Config, results: TransferResults, seconds: float) -> RunOutputs:
    runs = _in_config_order(results.runs.drop(columns=["key"], errors="ignore"), config)
    found = summarise(runs, results.scores, config.replicate)
    summary = found.summary
    metrics = {"wall_seconds": round(seconds, 2), "units_reused_from_store": results.reused,
               "runs": records(runs), "summary": records(summary)}
    tables = {"runs.csv": runs, "summary.csv": summary, "curves.csv": results.curves.drop(columns=["key"], errors="ignore"),
              "scores.parquet": results.scores.drop(columns=["key"], errors="ignore")}
    for name, table in ((ACROSS_FILE, found.across), (REPLICATION_FILE, found.replication)):
        (directory / name).unlink(missing_ok=True)  # a folder written before keeps no stale verdicts
        if not table.empty:
            tables[name] = table
            metrics[name.removesuffix(".csv")] = records(table)
    if results.data is not None:  # None when every unit came from the store: the files of that run stay
        results.data.tokenizer.save(directory / "tokenizer")
        tables["targets.csv"] = targets = target_table(results.data)
        tables[COVERAGE_FILE] = pd.DataFrame(results.data.stats["coverage"])
        metrics.update(data=results.data.stats, targets=records(targets), missing_cells=results.missing)
    (directory / TIME_FILE).unlink(missing_ok=True)  # units stored before profiles were kept: nothing to report
    spent = time_table(results.profiles, results.preparation_seconds, results.idle_seconds)
    if not spent.empty:
        tables[TIME_FILE] = spent
        metrics["time"] = dict(zip(spent["part"], spent["seconds"].round(2)))
    tables.update(get_task(config.task).tables(results.scores))  # parsing: arcs.csv; FEATS: features.csv
    claimed = runs[~runs["seed"].isin(config.replicate)]  # figures show what the claims rest on
    figures = {"accuracy.png": accuracy_with_ci(claimed, summary)}
    if runs["shots"].nunique() > 1:
        figures["sample_efficiency.png"] = sample_efficiency(summary)
    write_results(directory, config, metrics, tables, figures)
    return RunOutputs(directory, runs, summary, found.across, found.replication, found)
