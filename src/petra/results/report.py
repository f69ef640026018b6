"""``petra report RESULTS_DIR``: one self-contained HTML page (figures embedded) and a Markdown
twin, built only from the files a run wrote, so any results folder can be reported later."""

from __future__ import annotations

import base64
import html
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from matplotlib.figure import Figure

from petra.errors import PetraError
from petra.results import figures
from petra.results.figures import plt
from petra.results.claims import FEW_TEST_SENTENCES, Claim, claim_text, describe, shown_once
from petra.results.coverage import coverage_warnings
from petra.results.across import across_lines, distance_lines, distance_table
from petra.results.replication import Tables, replication_seeds, summarise
from petra.results.summary import recipe_table
from petra.results.time_profile import time_html, time_md
from petra.tasks import task_class
from petra.tasks.feats import feature_breakdown
from petra.tasks.parse import arc_breakdown
from petra.results.report_sections import (answer_html, break_even_html, count, distance_html, few_test_sentences, fmt,
                                           grid_html, markdown_table, recipes_html, replication_html, replication_md)

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}table{border-collapse:collapse;font-size:.9em;margin:1em 0}
td,th{border-bottom:1px solid #ddd;padding:.3em .7em;text-align:right}td:nth-child(-n+3),th:nth-child(-n+3){text-align:left}
tr.neg td{background:#fde2e2}.card{background:#f4f7fb;border-radius:8px;padding:.8em 1.2em;margin:1em 0}
.alarm{color:#b00020;font-weight:600}img{max-width:100%}figcaption{color:#555;font-size:.9em}
.wide{overflow-x:auto}"""


REQUIRED_COLUMNS = ("encoding", "seed", "target", "recipe", "shots", "accuracy", "scratch_accuracy",
                    "zero_shot_accuracy", "source_accuracy")


@dataclass(frozen=True)
class Section:
    title: str
    caption: str
    figure: Figure


def read_runs(directory: Path) -> pd.DataFrame:
    """``runs.csv`` of a results folder, with the columns every reader relies on."""
    runs_path = directory / "runs.csv"
    if not runs_path.is_file():
        raise PetraError(f"{directory} is not a petra results folder (no runs.csv); run `petra run` or `petra demo` first")
    runs = pd.read_csv(runs_path)
    missing = [c for c in REQUIRED_COLUMNS if c not in runs.columns]
    if missing:
        raise PetraError(f"{runs_path} has no {', '.join(missing)} column(s): it was not written by `petra run` "
                         "(results of the old `petra udpos` pipeline: run the config again with this petra)")
    if "source" not in runs:  # written before runs had several sources: one, named in config.yaml
        runs["source"] = ""
    runs["source"] = runs["source"].fillna("")
    return runs


@dataclass(frozen=True)
class Run:
    """What a results folder holds, as the report reads it."""

    metrics: dict
    runs: pd.DataFrame
    curves: pd.DataFrame
    scores: pd.DataFrame | None  # per-sentence scores (None: results written before they were kept)
    links: pd.DataFrame | None  # per (source, target) pair: distances and gain (transfer_link_languages.csv)


def load_run(directory: Path) -> Run:
    runs = read_runs(directory)
    metrics = json.loads((directory / "metrics.json").read_text()) if (directory / "metrics.json").is_file() else {}
    curves = pd.read_csv(directory / "curves.csv") if (directory / "curves.csv").is_file() else pd.DataFrame()
    scores = pd.read_parquet(directory / "scores.parquet") if (directory / "scores.parquet").is_file() else None
    links_path = directory / "transfer_link_languages.csv"
    links = pd.read_csv(links_path) if links_path.is_file() else None
    return Run(metrics, runs, curves, scores, links)


def headline(found: list[Claim]) -> list[str]:
    """One sentence per target and k: the best configuration against the runner-up (or the tie),
    and how sure we are the best beats scratch."""
    lines = []
    for claim in found:
        row = claim.best
        k = f" at k = {claim.shots}" if claim.shots >= 0 else ""
        text = f"<b>{html.escape(claim.target)}</b>{k}: {html.escape(claim_text(claim))}"
        text += f"; accuracy {row['accuracy_mean']:.3f} (95% CI {row['accuracy_ci_low']:.3f}–{row['accuracy_ci_high']:.3f}, "
        text += f"{int(row['seeds'])} seeds)"
        if pd.notna(row["scratch_mean"]):
            if row["seeds"] < 2:
                sure = "with one seed (no interval) and apparently"
            else:
                sure = "reliably" if row["gain_ci_low"] > 0 else "not reliably"
            text += (f", {sure} above scratch (gain {row['gain_mean']:+.3f}, "
                     f"CI {row['gain_ci_low']:+.3f}…{row['gain_ci_high']:+.3f})")
        if pd.notna(row.get("test_sentences")) and row["test_sentences"] < FEW_TEST_SENTENCES:
            text += f" — only {int(row['test_sentences'])} test sentences scored"
        lines.append(text + ".")
    return lines


def _sections(runs: pd.DataFrame, summary: pd.DataFrame, curves: pd.DataFrame, links: pd.DataFrame | None,
              scores: pd.DataFrame | None) -> list[Section]:
    sections = []
    if runs["shots"].nunique() > 1:
        sections.append(Section("Sample efficiency: accuracy against k", "One panel per target, a colour per PE: "
                                "accuracy after fine-tuning on k target sentences (log axis; k = 0: zero-shot), mean "
                                "over seeds with its 95% CI band, a line style per recipe (and source); thin dashed: "
                                "the same k sentences trained from scratch; dotted line: the break-even k (below).",
                                figures.sample_efficiency(summary)))
    sections += [Section("Accuracy per PE and recipe", "Bars: mean over seeds with its 95% t interval; dots: seeds; "
                        "gray: from-scratch baseline; red edge: negative-transfer alarm.",
                        figures.accuracy_with_ci(runs, summary))]
    def has(kind: str, phase: str) -> bool:
        return not curves.empty and ((curves["kind"] == kind) & (curves["phase"] == phase)).any()

    if has("accuracy", "full"):  # none with finetune.curve_points: 0
        sections.append(Section("Fine-tuning learning curves", "Target test accuracy during full fine-tuning; "
                                "line: mean over seeds, band: min–max.", figures.learning_curves(curves, "accuracy", "full")))
    if has("loss", "pretrain"):
        sections.append(Section("Pretraining loss", "Pretraining loss per step (masked-LM and the task, jointly or one after the other).",
                                figures.learning_curves(curves, "loss", "pretrain")))
    if links is not None and len(links) > 1:
        distances = [c for c in ("combined", "uriel.syntactic") if c in links and links[c].notna().any()]
        if distances:
            sources = ", ".join(dict.fromkeys(links["source"]))
            sections.append(Section("Distance and gain per (source, target) pair", "One point per pair: its structural "
                                    "distance (and URIEL's, for real languages) against the transfer gain at the "
                                    "smallest k > 0, mean over PEs and recipes; bars: std across seeds "
                                    "(`petra transfer-link` for the correlations).",
                                    figures.distance_vs_gain(links, distances, sources)))
    arcs = arc_breakdown(scores)
    if arcs is not None:
        sections.append(Section("Attachment by arc direction and length", "UAS over the gold arcs of each bucket "
                                "('left': the head precedes its dependent; length in words), mean over seeds, per PE at "
                                "the largest k; gray: scratch on the same k sentences (dashed) and zero-shot (dotted), "
                                "mean over PEs. Table: arcs.csv.", figures.arc_breakdown(arcs)))
    features = feature_breakdown(scores)
    if features is not None and not features.empty:
        sections.append(Section("Morphological features", "F1 of each feature (Case, Number, ...) over its gold "
                                "occurrences in the target's test set, mean over seeds, per PE at the largest k; gray: "
                                "scratch on the same k sentences. The headline accuracy is exact-bundle accuracy. "
                                "Table: features.csv.", figures.feature_f1(features)))
    drift = figures.pe_drift(runs)
    if drift is not None:
        sections.append(Section("Positional-encoding drift", "How far fine-tuning moved trainable PE parameters "
                                "(relative Frobenius change); PEs without parameters cannot drift.", drift))
    return sections


def _compute_seconds(runs: pd.DataFrame) -> float:
    """Training time summed over units (one pretraining each) and fine-tunings: unlike the wall
    time of the last invocation, it does not shrink when finished units are reused."""
    pretrain = runs.drop_duplicates(["source", "encoding", "seed"])["pretrain_seconds"].sum()
    cells = ["source", "encoding", "seed", "target", "recipe", "shots"]
    return float(pretrain + runs.drop_duplicates(cells)["finetune_seconds"].sum())


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


TABLE_COLUMNS = {
    "target": "target", "source": "source", "encoding": "PE", "recipe": "recipe", "shots": "k", "seeds": "seeds", "accuracy_mean": "accuracy",
    "accuracy_std": "std", "accuracy_worst": "worst seed", "scratch_mean": "scratch", "zero_shot_mean": "zero-shot",
    "gain_mean": "gain", "gain_ci_low": "gain CI low", "gain_ci_high": "gain CI high", "steps_to_95_mean": "steps to 95%",
    "pe_drift_mean": "PE drift", "cka_mean": "CKA", "test_sentences": "test sentences", "claim": "claim",
    "replication": "again (new seeds)",
}


def _table(summary: pd.DataFrame, with_source: bool) -> pd.DataFrame:
    columns = [c for c in TABLE_COLUMNS if c in summary and (with_source or c != "source")]
    table = summary[columns].copy()
    if "steps_to_95_mean" in table:  # a step count (mean over seeds): no decimals
        table["steps_to_95_mean"] = table["steps_to_95_mean"].map(lambda v: "–" if pd.isna(v) else f"{v:.0f}")
    return table.rename(columns=TABLE_COLUMNS)


def _html_table(summary: pd.DataFrame, with_source: bool) -> str:
    table = _table(summary, with_source)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    rows = []
    for flag, (_, row) in zip(summary["negative_transfer"], table.iterrows()):
        cells = "".join(f"<td>{fmt(v)}</td>" for v in row)
        rows.append(f"<tr class='{'neg' if flag else ''}'>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _sources(runs: pd.DataFrame, config: dict) -> list[str]:
    named = [s for s in dict.fromkeys(runs["source"]) if s]
    if named:
        return named
    source = config.get("data", {}).get("source", {})
    return [str(e.get("name", "source")) for e in (source if isinstance(source, list) else [source])]


def _model_line(config: dict) -> str:
    """What the PEs went into: a pretrained encoder changes what keep, a PE and scratch mean."""
    m = config.get("model", {})
    if m.get("pretrained"):
        return (f"model: the pretrained encoder {m['pretrained']} with its own tokenizer (keep = its own positions, "
                "any other PE put in by surgery; scratch = its architecture, untrained)")
    return f"model: {m.get('architecture', 'transformer')}, dim {m.get('dim')}, {m.get('layers')} layers"


def write_report(directory: Path, tables: Tables | None = None) -> tuple[Path, Path]:
    """report.html and report.md of a results folder; ``tables``: its summary and claims, when the
    writer that just wrote the folder hands them on (else computed from its files)."""
    directory = Path(directory)
    run = load_run(directory)
    again = replication_seeds(directory)
    tables = tables or summarise(run.runs, run.scores, again)
    summary, found = tables.summary, tables.claims
    runs = run.runs[~run.runs["seed"].isin(again)]  # what the claims rest on (the replication has its own section)
    name = run.metrics.get("name", directory.name)
    config = yaml.safe_load((directory / "config.yaml").read_text()) if (directory / "config.yaml").is_file() else {}
    sources = _sources(runs, config)
    ks = f" × k in {{{', '.join(map(str, sorted(runs['shots'].unique())))}}}"
    facts = (f"{runs['encoding'].nunique()} PEs × {runs['seed'].nunique()} seeds × {runs['target'].nunique()} targets × "
             f"{count(runs.loc[runs['shots'] != 0, 'recipe'].nunique(), 'recipe')}{ks}: {len(runs)} rows; "
             f"{_compute_seconds(runs):.0f} s of training")
    task = task_class(config.get("task", {}).get("type", "sequence"))
    if task.headline != "accuracy":  # parsing: LAS; FEATS: exact-bundle accuracy
        others = [m for m in task.metrics if m != task.accuracy_is]
        facts += f"; {task.name}: accuracy = {task.headline}" + (f" ({', '.join(others)}: runs.csv)" if others else "")
    alarms = summary[summary["negative_transfer"]]
    alarm_html = ("<p>No negative-transfer alarm: no gain CI lies wholly below zero.</p>" if alarms.empty else
                  "<p class='alarm'>Negative transfer (gain CI below zero): " + ", ".join(
                      f"{html.escape(describe(r._asdict(), len(sources) > 1))} on {r.target} (k = {r.shots}) ({r.gain_mean:+.3f})"
                      for r in alarms.itertuples()) + "</p>")
    files = directory / "report_files"
    files.mkdir(exist_ok=True)
    blocks, md_figs = [], []
    for i, section in enumerate(_sections(runs, summary, run.curves, run.links, run.scores)):
        png = _png(section.figure)
        (files / f"figure{i}.png").write_bytes(png)
        blocks.append(f"<h2>{section.title}</h2><figure><img src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
                      f"<figcaption>{section.caption}</figcaption></figure>")
        md_figs.append(f"## {section.title}\n\n![{section.title}](report_files/figure{i}.png)\n\n{section.caption}\n")
    # the first figure (the sample-efficiency curve when k varies) and its break-even table open the page
    opening, rest = blocks[:1] + [break_even_html(summary)], blocks[1:]
    few, lines = few_test_sentences(summary), headline(found)
    answer = across_lines(tables.across)  # the answer across languages comes first; the per-cell claims follow
    covered = [f"<span class='alarm'>Coverage: {html.escape(w)}</span>" for w in coverage_warnings(directory)]
    # first: on a poorly covered target every verdict may measure the tokenizer, not the PE
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>petra report: {html.escape(name)}</title>"
            f"<style>{STYLE}</style></head><body><h1>petra report: {html.escape(name)}</h1>"
            f"<p class='sub'>pretrained on <b>{html.escape(', '.join(sources))}</b>; {facts}; "
            f"{html.escape(_model_line(config))}</p>"
            + (f"<div class='card'>{'<br>'.join(covered)}</div>" if covered else "")
            + f"{answer_html(answer)}{distance_html(distance_lines(distance_table(tables.across, run.links)))}"
            f"{grid_html(found)}{alarm_html}{few}{replication_html(tables.replication, again)}"
            f"{''.join(opening)}<details><summary><b>Each (target, k) in words</b> ({len(lines)})</summary>"
            f"<div class='card'>{'<br>'.join(lines)}</div></details>"
            f"<details><summary><b>Summary table</b> ({len(summary)} rows: summary.csv)</summary>"
            f"<div class='wide'>{_html_table(shown_once(summary, runs), len(sources) > 1)}</div></details>"
            f"{recipes_html(recipe_table(runs))}{''.join(rest)}{time_html(directory)}</body></html>")
    html_path, md_path = directory / "report.html", directory / "report.md"
    html_path.write_text(page)
    md = [f"# petra report: {name}\n", f"Pretrained on **{', '.join(sources)}**; {facts}; {_model_line(config)}.\n",
          *[f"- {_strip_tags(line)}" for line in covered], "",
          *(["**Across targets** (across_targets.csv):\n", *[f"- {line}" for line in answer], ""] if answer else []),
          *[f"- {_strip_tags(line)}" for line in lines], "", _strip_tags(alarm_html), _strip_tags(few), "",
          *replication_md(tables.replication, again),
          *md_figs[:1], "## Summary\n", markdown_table(_table(shown_once(summary, runs), len(sources) > 1)), "", *md_figs[1:],
          *time_md(directory)]
    md_path.write_text("\n".join(md))
    return html_path, md_path


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text.replace("<b>", "**").replace("</b>", "**")))
