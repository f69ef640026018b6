"""`petra report RESULTS_DIR`: an HTML + Markdown report of a finished run; `petra compare A B`: two runs
of one experiment that differ in a setting, compared cell by cell and across targets."""

from __future__ import annotations

from pathlib import Path

import typer

from rich.table import Table

from petra.cli.app import EXPERIMENTS, app, console


@app.command(rich_help_panel=EXPERIMENTS)
def report(results_dir: Path = typer.Argument(..., help="a folder written by `petra run` or `petra demo`")) -> None:
    """Write report.html (self-contained) and report.md into RESULTS_DIR.

    Example: petra report runs/demo
    """
    from petra.results.report import write_report

    html_path, md_path = write_report(results_dir)
    console.print(f"report: [bold]{html_path}[/bold] (and {md_path.name})")


@app.command(rich_help_panel=EXPERIMENTS)
def compare(
    a: Path = typer.Argument(..., help="a results folder (the reference)"),
    b: Path = typer.Argument(..., help="a results folder of the same experiment with one setting changed"),
    out: Path = typer.Option(None, "--out", help="also write compare_cells.csv and compare_across.csv here"),
) -> None:
    """B against A: every cell both ran, paired on seeds and test sentences, and the verdict across targets.

    Example: petra compare runs/ud_positions runs/ud_positions_per_language
    """
    from petra.results.versus import compare_runs, versus_lines

    found = compare_runs(a, b)
    changed = "; ".join(f"{k}: {va!r} -> {vb!r}" for k, (va, vb) in found.differs.items()) or "no setting"
    console.print(f"A = {a}\nB = {b}\nB differs from A in: {changed}")
    table = Table(title="B - A per cell (95% CI over seeds and sentences)")
    for column in ("target", "PE", "recipe", "k", "A", "B", "B - A"):
        table.add_column(column, justify="right" if column in ("k", "A", "B", "B - A") else "left")
    for r in found.cells.itertuples():
        mark = "" if r.ci_low <= 0 <= r.ci_high else " *"
        table.add_row(r.target, r.encoding, r.recipe, str(r.shots), f"{r.accuracy_a:.3f}", f"{r.accuracy_b:.3f}",
                      f"{r.difference:+.3f} [{r.ci_low:+.3f}, {r.ci_high:+.3f}]{mark}")
    console.print(table)
    for line in versus_lines(found):
        console.print(line)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        found.cells.to_csv(out / "compare_cells.csv", index=False)
        found.across.to_csv(out / "compare_across.csv", index=False)
        console.print(f"tables in {out}")
