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

import matplotlib.pyplot as plt
import pandas as pd
import yaml
from matplotlib.figure import Figure

from petra.errors import PetraError
from petra.results import figures
from petra.results.summary import summary_frame

STYLE = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
h1{margin-bottom:0}.sub{color:#666;margin-top:.2em}table{border-collapse:collapse;font-size:.9em;margin:1em 0}
td,th{border-bottom:1px solid #ddd;padding:.3em .7em;text-align:right}td:nth-child(-n+3),th:nth-child(-n+3){text-align:left}
tr.neg td{background:#fde2e2}.card{background:#f4f7fb;border-radius:8px;padding:.8em 1.2em;margin:1em 0}
.alarm{color:#b00020;font-weight:600}img{max-width:100%}figcaption{color:#555;font-size:.9em}"""


REQUIRED_COLUMNS = ("encoding", "seed", "target", "recipe", "accuracy", "scratch_accuracy", "zero_shot_accuracy",
                    "source_accuracy")


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
    return runs


def load_run(directory: Path) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    runs = read_runs(directory)
    metrics = json.loads((directory / "metrics.json").read_text()) if (directory / "metrics.json").is_file() else {}
    curves = pd.read_csv(directory / "curves.csv") if (directory / "curves.csv").is_file() else pd.DataFrame()
    return metrics, runs, curves


def headline(summary: pd.DataFrame) -> list[str]:
    """One sentence per target and k: the best PE + recipe, and how sure we are it beats scratch."""
    lines = []
    tuned = summary[summary["scratch_mean"].notna()]  # zero-shot rows have no scratch to beat
    keys = ["target", "shots"] if "shots" in tuned else ["target"]
    for key, rows in tuned.groupby(keys, sort=False):
        best = rows.loc[rows["accuracy_mean"].idxmax()]
        if best["seeds"] < 2:
            sure = "with one seed (no interval) and apparently"
        else:
            sure = "reliably" if best["gain_ci_low"] > 0 else "not reliably"
        k = f" at k = {int(best['shots'])}" if "shots" in best else ""
        lines.append(
            f"<b>{html.escape(str(best['target']))}</b>{k}: best is <b>{html.escape(best['encoding'])}</b> with "
            f"<b>{html.escape(best['recipe'])}</b> — accuracy {best['accuracy_mean']:.3f} "
            f"(95% CI {best['accuracy_ci_low']:.3f}–{best['accuracy_ci_high']:.3f}, {int(best['seeds'])} seeds), "
            f"{sure} above scratch (gain {best['gain_mean']:+.3f}, CI {best['gain_ci_low']:+.3f}…{best['gain_ci_high']:+.3f})."
        )
    return lines


def _sections(runs: pd.DataFrame, summary: pd.DataFrame, curves: pd.DataFrame) -> list[Section]:
    sections = [Section("Accuracy per PE and recipe", "Bars: mean over seeds with 95% bootstrap CI; dots: seeds; "
                        "gray: from-scratch baseline; red edge: negative-transfer alarm.",
                        figures.accuracy_with_ci(runs, summary))]
    if not curves.empty:
        sections.append(Section("Fine-tuning learning curves", "Target test accuracy during full fine-tuning; "
                                "line: mean over seeds, band: min–max.", figures.learning_curves(curves, "accuracy", "full")))
        sections.append(Section("Pretraining loss", "Pretraining loss per step (masked-LM and the task, jointly or one after the other).",
                                figures.learning_curves(curves, "loss", "pretrain")))
    if "shots" in runs and runs["shots"].nunique() > 1:
        recipe = next(r for r in runs["recipe"] if r != "zero_shot")
        sections.append(Section(f"Accuracy against k ({recipe})", "Per target: accuracy after fine-tuning on k target "
                                "sentences (k = 0: zero-shot), mean ± std over seeds, per PE; dashed: the same k "
                                "sentences trained from scratch.", figures.accuracy_vs_shots(runs, recipe)))
    drift = figures.pe_drift(runs)
    if drift is not None:
        sections.append(Section("Positional-encoding drift", "How far fine-tuning moved trainable PE parameters "
                                "(relative Frobenius change); PEs without parameters cannot drift.", drift))
    return sections


def _compute_seconds(runs: pd.DataFrame) -> float:
    """Training time summed over units (one pretraining each) and fine-tunings: unlike the wall
    time of the last invocation, it does not shrink when finished units are reused."""
    pretrain = runs.drop_duplicates(["encoding", "seed"])["pretrain_seconds"].sum()
    cells = [c for c in ("encoding", "seed", "target", "recipe", "shots") if c in runs]
    return float(pretrain + runs.drop_duplicates(cells)["finetune_seconds"].sum())


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


TABLE_COLUMNS = {
    "target": "target", "encoding": "PE", "recipe": "recipe", "shots": "k", "seeds": "seeds", "accuracy_mean": "accuracy",
    "accuracy_std": "std", "accuracy_worst": "worst seed", "scratch_mean": "scratch", "zero_shot_mean": "zero-shot",
    "gain_mean": "gain", "gain_ci_low": "gain CI low", "gain_ci_high": "gain CI high", "steps_to_95_mean": "steps to 95%",
    "pe_drift_mean": "PE drift", "cka_mean": "CKA",
}


def _table(summary: pd.DataFrame) -> pd.DataFrame:
    columns = [c for c in TABLE_COLUMNS if c in summary]
    return summary[columns].rename(columns=TABLE_COLUMNS)


def _html_table(summary: pd.DataFrame) -> str:
    table = _table(summary)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    rows = []
    for flag, (_, row) in zip(summary["negative_transfer"], table.iterrows()):
        cells = "".join(f"<td>{_fmt(v)}</td>" for v in row)
        rows.append(f"<tr class='{'neg' if flag else ''}'>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _fmt(value) -> str:
    if isinstance(value, float):
        return "–" if pd.isna(value) else f"{value:.3f}"
    return html.escape(str(value))


def write_report(directory: Path) -> tuple[Path, Path]:
    directory = Path(directory)
    metrics, runs, curves = load_run(directory)
    summary = summary_frame(runs)
    name = metrics.get("name", directory.name)
    config = yaml.safe_load((directory / "config.yaml").read_text()) if (directory / "config.yaml").is_file() else {}
    ks = f" × k in {{{', '.join(map(str, sorted(runs['shots'].unique())))}}}" if "shots" in runs else ""
    facts = (f"{runs['encoding'].nunique()} PEs × {runs['seed'].nunique()} seeds × {runs['target'].nunique()} targets × "
             f"{runs.loc[runs['recipe'] != 'zero_shot', 'recipe'].nunique()} recipes{ks}: {len(runs)} rows; {_compute_seconds(runs):.0f} s of training")
    alarms = summary[summary["negative_transfer"]]
    alarm_html = ("<p>No negative-transfer alarm: no gain CI lies wholly below zero.</p>" if alarms.empty else
                  "<p class='alarm'>Negative transfer (gain CI below zero): " + ", ".join(
                      f"{r.encoding}/{r.recipe} on {r.target}{f' (k = {r.shots})' if 'shots' in summary else ''} "
                      f"({r.gain_mean:+.3f})" for r in alarms.itertuples()) + "</p>")
    files = directory / "report_files"
    files.mkdir(exist_ok=True)
    blocks, md_figs = [], []
    for i, section in enumerate(_sections(runs, summary, curves)):
        png = _png(section.figure)
        (files / f"figure{i}.png").write_bytes(png)
        blocks.append(f"<h2>{section.title}</h2><figure><img src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
                      f"<figcaption>{section.caption}</figcaption></figure>")
        md_figs.append(f"## {section.title}\n\n![{section.title}](report_files/figure{i}.png)\n\n{section.caption}\n")
    source = config.get("data", {}).get("source", {}).get("name", "source")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>petra report: {html.escape(name)}</title>"
            f"<style>{STYLE}</style></head><body><h1>petra report: {html.escape(name)}</h1>"
            f"<p class='sub'>pretrained on <b>{html.escape(str(source))}</b>; {facts}</p>"
            f"<div class='card'>{'<br>'.join(headline(summary))}</div>{alarm_html}"
            f"<h2>Summary</h2>{_html_table(summary)}{''.join(blocks)}</body></html>")
    html_path, md_path = directory / "report.html", directory / "report.md"
    html_path.write_text(page)
    md = [f"# petra report: {name}\n", f"Pretrained on **{source}**; {facts}.\n",
          *[f"- {_strip_tags(line)}" for line in headline(summary)], "", _strip_tags(alarm_html), "",
          "## Summary\n", _markdown_table(_table(summary)), "", *md_figs]
    md_path.write_text("\n".join(md))
    return html_path, md_path


def _markdown_table(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(html.unescape(_fmt(v)) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def _strip_tags(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text.replace("<b>", "**").replace("</b>", "**")))
