"""`petra bench`: training throughput of petra's encoder against transformers' BertForMaskedLM."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape
from rich.table import Table

from petra.cli.app import SPEED, app, console
from petra.encodings import BERT_ENCODING
from petra.errors import PetraError

MIB = 2**20
# vocab, hidden, layers, heads, FFN, seq, batch; demo: configs/demo.yaml (760 token ids, sentences of 8 on average)
PRESETS = {"bert-base": (30522, 768, 12, 12, 3072, 512, 32), "demo": (760, 64, 2, 4, 128, 8, 32)}


def _fmt(values: list[float], scale: float = 1.0, spec: str = ",.0f", suffix: str = "") -> str:
    from petra.perf.bench import spread

    mid, low, high = (v * scale for v in spread(values))
    return escape(f"{mid:{spec}}{suffix} [{low:{spec}}–{high:{spec}}]")  # brackets are Rich markup otherwise


def _mib(n: int) -> str:
    return f"{n / MIB:,.1f}" if n < 10 * MIB else f"{n / MIB:,.0f}"


def _table(result) -> Table:
    """Rows are metrics, columns the two models and their ratio (narrow enough for 120 columns)."""
    petra, hf = result.petra, result.hf
    table = Table(title=escape(f"{result.precision}: median [min–max] over {len(result.ratios)} alternating rounds"))
    table.add_column("")
    for column in (escape(petra.name), escape(hf.name), "petra / transformers"):
        table.add_column(column, justify="right")
    table.add_row("parameters", f"{petra.parameters / 1e6:.2f} M", f"{hf.parameters / 1e6:.2f} M", "")
    table.add_row("tokens/s", _fmt(petra.tokens_per_s), _fmt(hf.tokens_per_s), f"[bold]{_fmt(result.ratios, 1, '.2f', '×')}[/bold]")
    table.add_row("tokens per CPU-second", _fmt(petra.tokens_per_cpu_s), _fmt(hf.tokens_per_cpu_s), _fmt(result.cpu_ratios, 1, ".2f", "×"))
    table.add_row("CPU share", _fmt(petra.cpu_share, 100, ".0f", "%"), _fmt(hf.cpu_share, 100, ".0f", "%"), "")
    table.add_row("MFU", _fmt(petra.mfu, 100, ".1f", "%"), _fmt(hf.mfu, 100, ".1f", "%"), "")
    table.add_row("HFU", _fmt(petra.hfu, 100, ".1f", "%"), _fmt(hf.hfu, 100, ".1f", "%"), "")
    table.add_row(
        "peak tensor MiB (resident + step)",
        *(f"{_mib(side.peak_memory_bytes)} ({_mib(side.resident_bytes)} + {_mib(side.peak_step_bytes)})" for side in (petra, hf)),
        f"{petra.peak_memory_bytes / max(hf.peak_memory_bytes, 1):.2f}×",
    )
    return table


def _report(bench, show_profile: bool) -> None:
    shape = bench.config.shape
    console.print(
        f"sizes: vocab {shape.vocab}, hidden {shape.dim}, layers {shape.layers}, heads {shape.heads}, "
        f"FFN {shape.ffn_dim}, seq {shape.seq_len}, batch {shape.batch}; dropout {bench.config.dropout}; "
        f"petra PE {bench.config.encoding}{' (ablation: last layer and head at every position)' if bench.config.full_head else ''}; "
        f"AdamW {'fused' if bench.config.fused_adamw else 'foreach'}; {bench.threads} threads; device {bench.config.device}"
    )
    for result in bench.results:
        console.print(_table(result))
        m, k, n = result.best_gemm
        console.print(
            f"matmul peak {result.precision}: {_fmt(result.peak_flops, 1e-9, '.3g', ' GFLOP/s')} "
            f"(measured each round; best of the model's GEMM shapes, here {m}×{k}×{n})", highlight=False,
        )
        if show_profile:
            for side in (result.petra, result.hf):
                console.print(f"[bold]{result.precision} {side.name}: one training step, top ops by self CPU time[/bold]")
                console.print(side.profile, highlight=False, soft_wrap=True)
    shares = [share for r in bench.results for side in (r.petra, r.hf) for share in side.cpu_share]
    if shares and statistics.median(shares) < 0.7:
        console.print(
            f"[yellow]note:[/yellow] this process got {statistics.median(shares):.0%} of its threads' time (other "
            "processes held the cores): absolute numbers are low; the alternating ratios stay comparable, and "
            "with --threads 1 the per-CPU-second ratio is the steadiest."
        )
    console.print(
        "MFU: FLOPs the MLM step needs (last layer and head at masked positions only) / wall time / measured "
        "peak; HFU: FLOPs each implementation executes. CPU share: this process's CPU time / (wall time x "
        "threads); well below 100% means other processes held the cores. Memory: parameters + optimizer "
        f"state + the step's peak of new tensors (torch.profiler); process peak RSS {bench.max_rss_bytes / MIB:,.0f} "
        f"MiB. Wall time {bench.seconds:.0f} s.", highlight=False,
    )


def _write_json(bench, path: Path) -> None:
    data = asdict(bench)
    for result in data["results"]:
        for side in ("petra", "hf"):
            result[side].pop("profile")
    try:
        path.write_text(json.dumps(data, indent=2, default=str))
    except OSError as exc:
        raise PetraError(f"cannot write {path}: {exc.strerror}") from None


def _members_report(bench) -> None:
    config = bench.config
    table = Table(title=escape(f"{config.precision}: {config.members} seeds, {config.steps} steps each per round; "
                               f"median [min–max] over {len(bench.ratios)} alternating rounds"))
    table.add_column("")
    table.add_column("tokens/s", justify="right")
    table.add_row(f"{config.members} models one after another", _fmt(bench.separate))
    table.add_row(f"{config.members} members as one batched model", _fmt(bench.batched))
    table.add_row("batched / one after another", f"[bold]{_fmt(bench.ratios, 1, '.2f', '×')}[/bold]")
    console.print(table)
    console.print(f"PE {config.encoding}, dropout {config.dropout}, device {config.device}, {bench.threads} threads; "
                  f"objective masked-LM + sequence task; wall time {bench.seconds:.0f} s.", highlight=False)


def _run_members(members: int, shape, precisions, rounds: int, steps: int, warmup: int, dropout: float,
                 encoding: str, device: str, json_out: Path | None) -> None:
    from petra.perf.members import MembersConfig, run_members_bench

    if members < 1:
        raise PetraError(f"--members must be >= 1, got {members}")
    results = []
    for precision in precisions:
        config = MembersConfig(shape, members, rounds, steps, warmup, dropout, encoding, precision, device)
        results.append(run_members_bench(config, on_round=lambda line: console.print(line, highlight=False)))
        _members_report(results[-1])
    if json_out is not None:
        try:
            json_out.write_text(json.dumps([{**asdict(r), "ratios": r.ratios} for r in results], indent=2, default=str))
        except OSError as exc:
            raise PetraError(f"cannot write {json_out}: {exc.strerror}") from None


@app.command(rich_help_panel=SPEED)
def bench(
    vocab: int = typer.Option(8000, help="vocabulary size"),
    hidden: int = typer.Option(256, help="hidden size"),
    layers: int = typer.Option(4, help="Transformer layers"),
    heads: int = typer.Option(4, help="attention heads"),
    ffn: int = typer.Option(1024, help="feed-forward inner size"),
    seq_len: int = typer.Option(128, "--seq-len", help="tokens per sequence"),
    batch: int = typer.Option(32, help="sequences per batch"),
    precision: str = typer.Option("both", help="fp32, bf16 (autocast, both models) or both"),
    rounds: int = typer.Option(3, help="alternating rounds per precision"),
    steps: int = typer.Option(2, help="training steps of each model per round"),
    warmup: int = typer.Option(1, help="untimed steps of each model first"),
    threads: Optional[int] = typer.Option(None, help="torch threads (default: torch's choice)"),
    encoding: str = typer.Option(BERT_ENCODING, help=f"petra's positional encoding (BERT uses {BERT_ENCODING})"),
    dropout: float = typer.Option(0.1, help="dropout of both models"),
    foreach: bool = typer.Option(False, "--foreach", help="multi-tensor AdamW instead of the fused kernel"),
    full_head: bool = typer.Option(
        False, "--full-head", help="ablation: petra runs its last layer and MLM head at every position, as HF does"
    ),
    profile: bool = typer.Option(False, "--profile", help="print where each model's step time goes (torch.profiler)"),
    profile_rows: int = typer.Option(15, "--profile-rows", help="operators shown by --profile"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="also write the measurements as JSON"),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when available, else CPU), cpu, cuda or cuda:N"),
    preset: Optional[str] = typer.Option(None, "--preset", help="bert-base: vocab 30522, hidden 768, 12 layers, "
                                         "12 heads, FFN 3072, seq 512, batch 32; demo: the demo's model, vocab 760, "
                                         "hidden 64, 2 layers, 4 heads, FFN 128, seq 8, batch 32 (replaces the size options)"),
    members: Optional[int] = typer.Option(None, "--members", help="instead: S seeds of petra's model trained as one "
                                          "batched model against S trained one after another (run.ensemble)"),
    member_steps: int = typer.Option(20, "--member-steps", help="with --members: training steps of each seed per round"),
) -> None:
    """Train petra's encoder and transformers' BertForMaskedLM at the same sizes, alternating; print
    tokens/s, their ratio, MFU against a measured matmul peak, and peak memory. With --members S:
    S seeds batched as one model against S models one after another.

    Example: petra bench --precision both; petra bench --preset demo --members 8 --precision fp32
    """
    from petra.device import check_device, use_threads
    from petra.encodings import get_spec
    from petra.perf.bench import BenchConfig, run_bench
    from petra.perf.flops import ModelShape

    precisions = {"both": ("fp32", "bf16"), "fp32": ("fp32",), "bf16": ("bf16",)}.get(precision)
    if precisions is None:
        raise PetraError(f"--precision must be fp32, bf16 or both, got {precision!r}")
    for name, value, least in (("--rounds", rounds, 1), ("--steps", steps, 1), ("--warmup", warmup, 0)):
        if value < least:
            raise PetraError(f"{name} must be >= {least}, got {value}")
    if not 0.0 <= dropout < 1.0:
        raise PetraError(f"--dropout must be in [0, 1), got {dropout}")
    get_spec(encoding)  # unknown encodings fail here with the zoo's one-line error
    try:
        check_device(device)
    except ValueError as exc:
        raise PetraError(f"--device: {exc}") from None
    if preset is not None:
        if preset not in PRESETS:
            raise PetraError(f"--preset must be one of {sorted(PRESETS)}, got {preset!r}")
        vocab, hidden, layers, heads, ffn, seq_len, batch = PRESETS[preset]
    if json_out is not None and not json_out.parent.is_dir():
        raise PetraError(f"--json: folder {json_out.parent} does not exist")
    shape = ModelShape(vocab, hidden, layers, heads, ffn, seq_len, batch)
    try:
        shape.validate()
    except ValueError as exc:
        raise PetraError(f"bench sizes: {exc}") from None
    if threads is not None:
        if threads < 1:
            raise PetraError(f"--threads must be >= 1, got {threads}")
        use_threads(threads)
    if members is not None:
        if member_steps < 1:
            raise PetraError(f"--member-steps must be >= 1, got {member_steps}")
        return _run_members(members, shape, precisions, rounds, member_steps, warmup, dropout, encoding, device, json_out)
    config = BenchConfig(
        shape=shape, precisions=precisions, rounds=rounds, steps=steps, warmup=warmup, dropout=dropout,
        encoding=encoding, fused_adamw=not foreach, full_head=full_head, device=device,
    )
    result = run_bench(config, profile_rows, on_round=lambda line: console.print(line, highlight=False))
    _report(result, profile)
    if json_out is not None:
        _write_json(result, json_out)
