"""The blocks of the report page other than figures: the answer across targets, the distance
slopes, the target x k grid, replication, break-even k, few test sentences, what each recipe
trained; HTML (and Markdown where the twin shows them)."""

from __future__ import annotations

import html

import pandas as pd

from petra.results.claims import FEW_TEST_SENTENCES, ONE_SEED, Claim, break_even, claim_text, describe
from petra.results.replication import replication_lines


def fmt(value) -> str:
    if isinstance(value, float):
        return "–" if pd.isna(value) else f"{value:.3f}"
    return html.escape(str(value))


def few_test_sentences(summary: pd.DataFrame) -> str:
    few = summary[summary["test_sentences"].notna() & (summary["test_sentences"] < FEW_TEST_SENTENCES)]
    if few.empty:
        return ""
    counts = few.groupby("target", sort=False)["test_sentences"].min()
    return ("<p class='alarm'>Fewer than 100 test sentences scored (intervals are wide, a difference of a few "
            "sentences moves the accuracy): " + ", ".join(f"{html.escape(str(t))} ({int(n)})" for t, n in counts.items())
            + "</p>")


def break_even_html(summary: pd.DataFrame) -> str:
    """Configurations x targets: the break-even k, or '> largest k' when scratch never caught up."""
    table = break_even(summary)
    if table.empty or summary["shots"].nunique() < 2:  # one k: no curve to read it from
        return ""
    several = table["source"].nunique() > 1
    table["configuration"] = [describe(r, several) for r in table.to_dict(orient="records")]
    table["cell"] = [f"{int(r.break_even_k)}" if pd.notna(r.break_even_k) else f"> {r.largest_k} (not reached)"
                     for r in table.itertuples()]
    grid = table.pivot_table(index="configuration", columns="target", values="cell", aggfunc="first", sort=False)
    targets = list(dict.fromkeys(table["target"]))
    head = "".join(f"<th>{html.escape(str(t))}</th>" for t in targets)
    rows = "".join(f"<tr><td>{html.escape(c)}</td>" + "".join(f"<td>{html.escape(str(grid.at[c, t]))}</td>"
                                                              if pd.notna(grid.at[c, t]) else "<td>–</td>" for t in targets)
                   + "</tr>" for c in grid.index)
    return ("<h2>Break-even k</h2><p>The smallest k at which training from scratch catches up: its 95% CI reaches "
            f"the transfer CI.</p><table><tr><th>configuration</th>{head}</tr>{rows}</table>")


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def recipes_html(table: pd.DataFrame) -> str:
    if table.empty:
        return ""
    return (f"<details><summary><b>What each recipe trained</b> ({len(table)} recipes: parameters counted)</summary>"
            f"{table.to_html(index=False, escape=True, formatters={'fewest': '{:,}'.format, 'most': '{:,}'.format})}"
            "</details>")


def answer_html(lines: list[str]) -> str:
    """The PE verdicts open the page; those on recipes and sources follow, folded."""
    if not lines:
        return ""
    first = [line for line in lines if line.startswith("PE ")] or lines
    more = [line for line in lines if line not in first]
    folded = (f"<details><summary>recipes and sources ({len(more)})</summary>" + "<br>".join(html.escape(x) for x in more)
              + "</details>") if more else ""
    return ("<div class='card'><b>Across targets</b> (languages as the unit: random-effects mean of the per-target "
            "paired differences, HKSJ 95% interval; across_targets.csv)<br>" + "<br>".join(html.escape(x) for x in first)
            + folded + "</div>")


def distance_html(lines: list[str]) -> str:
    if not lines:
        return ""
    return ("<details><summary><b>Does the PE difference move with the distance to the source?</b> "
            f"({sum('it moves' in x for x in lines)} of {len(lines)} slopes exclude zero; weighted meta-regression, "
            "Knapp-Hartung interval)</summary>" + "<br>".join(html.escape(x) for x in lines) + "</details>")


GRID_COLOURS = {"best": "#d4edda", "tie": "#eceff3", ONE_SEED: "#fff3cd"}


def grid_html(found: list[Claim]) -> str:
    """Targets x k, each cell its claim: the best configuration (green), 'tie' (gray) or a one-seed lead
    (yellow); hovering shows the claim in words."""
    if not found:
        return ""
    ks = sorted({c.shots for c in found})
    by_cell = {(c.target, c.shots): c for c in found}
    rows = []
    for target in dict.fromkeys(c.target for c in found):
        cells = []
        for k in ks:
            claim = by_cell.get((target, k))
            if claim is None or claim.runner_up is None:
                cells.append("<td>–</td>")
                continue
            lead = "tie" if claim.tie else "best" if claim.difference.seed_evidence else ONE_SEED
            text = "tie" if lead == "tie" else claim.best["label"] + (" (1 seed)" if lead == ONE_SEED else "")
            cells.append(f"<td style='background:{GRID_COLOURS[lead]};text-align:left' title='{html.escape(claim_text(claim))}'>"
                         f"{html.escape(text)}</td>")
        rows.append(f"<tr><td>{html.escape(target)}</td>{''.join(cells)}</tr>")
    head = "".join(f"<th>{'zero-shot' if k == 0 else f'k = {k}'}</th>" for k in ks)
    return ("<h2>Per target and k</h2><p>Green: the best configuration (its paired 95% CI against the runner-up excludes "
            "zero); gray: a tie; yellow: the highest with one seed (no seed-level evidence). Hover a cell for the numbers; "
            f"every claim in words is further down.</p><table><tr><th>target</th>{head}</tr>{''.join(rows)}</table>")


REPLICATION_COLUMNS = {"target": "target", "shots": "k", "claim": "claim", "best": "best", "runner_up": "runner-up",
                       "difference": "difference", "ci_low": "CI low", "ci_high": "CI high",
                       "again_difference": "again", "again_ci_low": "again CI low", "again_ci_high": "again CI high",
                       "again_best": "new seeds' best", "verdict": "verdict"}


def replication_html(table: pd.DataFrame, seeds: list[int]) -> str:
    """Each claim against the same comparison on the replication seeds (placed before the figures:
    it says how far to trust the headline above it)."""
    if table.empty:
        return ""
    lines = "<br>".join(html.escape(line) for line in replication_lines(table, seeds))
    shown = table[list(REPLICATION_COLUMNS)].rename(columns=REPLICATION_COLUMNS)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in shown.columns)
    rows = "".join("<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>" for row in shown.itertuples(index=False))
    return (f"<h2>Replication</h2><p>{lines}</p><p>Each claim above against the same two configurations compared "
            "on the replication seeds alone ('again'; replication.csv).</p>"
            f"<div class='wide'><table><tr>{head}</tr>{rows}</table></div>")


def replication_md(table: pd.DataFrame, seeds: list[int]) -> list[str]:
    if table.empty:
        return []
    shown = table[list(REPLICATION_COLUMNS)].rename(columns=REPLICATION_COLUMNS)
    return ["## Replication\n", *[f"- {line}" for line in replication_lines(table, seeds)], "", markdown_table(shown), ""]


def markdown_table(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(html.unescape(fmt(v)) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)
