"""`petra advise`'s files: advice.csv (every candidate, every feature), advice.md and a self-contained
advice.html that answer first (the top sources with their predicted transfer and interval, then what
result stores support), and advice.png; `petra advise-eval`'s leave_one_out.csv and features.csv."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

from petra.results.advice import Advice
from petra.results.figures import plt, save
from petra.results.report_sections import markdown_table

SHOWN = 10  # candidates in the answer and the figure


def ranking_figure(advice: Advice):
    top = advice.ranking.head(SHOWN).iloc[::-1]
    figure, axis = plt.subplots(figsize=(6.5, 0.35 * len(top) + 1.2))
    errors = [top["predicted"] - top["predicted_low"], top["predicted_high"] - top["predicted"]]
    axis.barh(top["source"], top["predicted"], xerr=errors, color="#4c72b0", alpha=0.8, capsize=3)
    axis.set_xlabel(f"predicted {advice.outcome.replace('_', '-')} accuracy (90% interval)")
    axis.set_title(f"Sources for {advice.target}, ranked by {advice.ranker}")
    figure.tight_layout()
    return figure


def answer_lines(advice: Advice, evidence: list[str], top: int = 3) -> list[str]:
    best = advice.ranking.head(top)
    picks = "; ".join(f"{r.source} (predicted {r.predicted:.3f} [{r.predicted_low:.3f}, {r.predicted_high:.3f}])"
                      for r in best.itertuples())
    return [f"Transfer to {advice.target} from: {picks}.", *advice.notes, *evidence]


def _table(advice: Advice) -> pd.DataFrame:
    columns = ["rank", "source", "predicted", "predicted_low", "predicted_high", "word_overlap", "char_coverage",
               "combined", "uriel.syntactic", "uriel.genetic", "source_size"]
    return advice.ranking.head(SHOWN)[[c for c in columns if c in advice.ranking.columns]]


def write_advice(out: Path, advice: Advice, evidence: list[str], about: str) -> list[Path]:
    """advice.csv, advice.md, advice.html and advice.png in ``out``; ``about``: where the ranker's data came from."""
    out.mkdir(parents=True, exist_ok=True)
    advice.ranking.to_csv(out / "advice.csv", index=False)
    png = save(ranking_figure(advice), out / "advice.png")
    lines, table = answer_lines(advice, evidence), _table(advice)
    md = [f"# Which source for {advice.target}?", "", *(f"- {line}" for line in lines), "",
          markdown_table(table.round(3)), "", "![ranking](advice.png)", "", about, ""]
    (out / "advice.md").write_text("\n".join(md))
    image = base64.b64encode(png.read_bytes()).decode()
    page = [f"<html><head><meta charset='utf-8'><title>petra advise: {html.escape(advice.target)}</title></head><body>",
            f"<h1>Which source for {html.escape(advice.target)}?</h1><ul>",
            *(f"<li>{html.escape(line)}</li>" for line in lines), "</ul>",
            table.to_html(index=False, float_format=lambda v: f"{v:.3f}", border=0),
            f"<p><img src='data:image/png;base64,{image}' alt='ranking'></p><p>{html.escape(about)}</p></body></html>"]
    (out / "advice.html").write_text("\n".join(page))
    return [out / "advice.csv", out / "advice.md", out / "advice.html", png]


def write_evaluation(out: Path, evaluation: pd.DataFrame, signal: pd.DataFrame) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    evaluation.to_csv(out / "leave_one_out.csv", index=False)
    signal.to_csv(out / "features.csv", index=False)
    return [out / "leave_one_out.csv", out / "features.csv"]
