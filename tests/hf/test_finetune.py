"""Fine-tuning HF models with petra's pipeline (UD-POS, agent task) and the hf-* commands."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest
from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel
from typer.testing import CliRunner

from petra.cli import app
from petra.config import OptimConfig
from petra.data.batches import IGNORE
from petra.data.sentence import Sentence
from petra.data.synthetic import LanguageSpec, generate
from petra.data.vocab import LabelSet
from petra.experiments.hf_finetune import HFFinetuneConfig, align_first_subword, run
from petra.hf import load_model

PETRA = [sys.executable, "-c", "from petra.cli import entry; entry()"]


def write_treebank(root, name="UD_Synthetic-Tiny", n_train=160, n_test=60):
    """A small CoNLL-U treebank from a synthetic language (real UD data is never copied into tests)."""
    folder = root / "ud" / name
    folder.mkdir(parents=True)
    sentences = generate(LanguageSpec(name="tiny", vocab_size=120), n_train + n_test, seed=7)
    for split, part in (("train", sentences[:n_train]), ("test", sentences[n_train:])):
        blocks = []
        for s in part:
            rows = [f"{i}\t{w}\t_\t{u}\t_\t_\t{h}\t{d}\t_\t_"
                    for i, (w, u, h, d) in enumerate(zip(s.words, s.upos, s.heads, s.deprels), start=1)]
            blocks.append("\n".join(rows) + "\n")
        (folder / f"xx_tiny-ud-{split}.conllu").write_text("\n".join(blocks))
    return root


def test_first_subword_carries_the_word_label(tiny_dirs):
    tokenizer = AutoTokenizer.from_pretrained(tiny_dirs("bert"), local_files_only=True)
    sentence = Sentence(("bakalomiru", "ka", "zzqx"), ("NOUN", "ADP", "VERB"), (0, 1, 1), ("root", "case", "dep"), "x")
    labels = LabelSet.build(["ADP", "NOUN", "VERB"])
    corpus, lost = align_first_subword(tokenizer, [sentence], labels, max_subwords=64)
    pieces = tokenizer.convert_ids_to_tokens(corpus.ids[0].tolist())
    tags = corpus.tags[0]
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]" and tags[0] == tags[-1] == IGNORE
    assert len(pieces) > 5  # the made-up words are split into several sub-words
    labelled = [(piece, labels.tags[t]) for piece, t in zip(pieces, tags) if t != IGNORE]
    assert [tag for _, tag in labelled] == ["NOUN", "ADP", "VERB"]
    assert not any(piece.startswith("##") for piece, _ in labelled)  # only word-initial pieces
    assert lost == 0
    _, lost = align_first_subword(tokenizer, [sentence], labels, max_subwords=4)
    assert lost >= 1  # words past the cap are counted, not silently dropped


@pytest.mark.parametrize("arch, pe", [("bert", "keep"), ("bert", "alibi"), ("roberta", "rope")])
def test_pos_fine_tuning_learns(tmp_path, tiny_dirs, arch, pe):
    config = HFFinetuneConfig(
        model_dir=tiny_dirs(arch), task="pos", encodings=[pe], treebank="Synthetic-Tiny",
        data_dir=write_treebank(tmp_path), train_sentences=160, test_sentences=60,
        optim=OptimConfig(epochs=4, batch_size=16, lr=3e-3, warmup_steps=5),
    )
    (record,) = run(config)
    assert record.steps == 4 * 10
    assert record.accuracy > record.initial_accuracy + 0.3
    assert record.accuracy > 0.6


def test_agent_task_on_a_petra_model(tiny_dirs):
    config = HFFinetuneConfig(
        model_dir=tiny_dirs("petra", "rope"), task="agent", train_sentences=64, test_sentences=32,
        optim=OptimConfig(epochs=1, batch_size=16, lr=1e-3, warmup_steps=1), seeds=[0, 1],
    )
    records = run(config)
    assert [(r.encoding, r.seed, r.steps) for r in records] == [("keep", 0, 4), ("keep", 1, 4)]
    assert all(0.0 <= r.accuracy <= 1.0 and np.isfinite(r.final_loss) for r in records)


def test_cli_surgery_then_fine_tune(tmp_path, tiny_dirs):
    runner = CliRunner()
    surgered = tmp_path / "rope-bert"
    result = runner.invoke(app, ["hf-surgery", str(tiny_dirs("bert")), "--pe", "rope", "-o", str(surgered)])
    assert result.exit_code == 0, result.output
    assert re.search(r"(\d+)/\1 other tensors unchanged", " ".join(result.output.split()))
    assert load_model(surgered, "mlm").config.petra_pe["name"] == "rope"
    assert (surgered / "tokenizer.json").is_file()

    data = write_treebank(tmp_path / "data")
    out = tmp_path / "out"
    result = runner.invoke(app, [
        "hf-finetune", str(surgered), "--task", "pos", "--data-dir", str(data), "--treebank", "Synthetic-Tiny",
        "--train-sentences", "32", "--test-sentences", "16", "--epochs", "1", "--lr", "1e-3", "-o", str(out),
    ])
    assert result.exit_code == 0, result.output
    runs = json.loads((out / "metrics.json").read_text())["runs"]
    assert [r["encoding"] for r in runs] == ["keep"] and runs[0]["steps"] == 2


def test_cli_errors_are_one_line(tmp_path):
    gpt2 = tmp_path / "gpt2"
    GPT2LMHeadModel(GPT2Config(vocab_size=50, n_positions=16, n_embd=16, n_layer=1, n_head=2, bos_token_id=0, eos_token_id=0)).save_pretrained(gpt2)
    result = subprocess.run([*PETRA, "hf-surgery", str(gpt2), "--pe", "rope", "-o", str(tmp_path / "x")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "does not support model_type 'gpt2'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_pes_are_compared_paired_so_a_copied_table_reproduces_keep(tmp_path, tiny_dirs):
    """Same seed -> same head init, batch order and dropout for every PE; `learned` surgery copies the
    pretrained table, so it must train exactly like the untouched model."""
    config = HFFinetuneConfig(
        model_dir=tiny_dirs("bert"), task="pos", encodings=["keep", "learned"], treebank="Synthetic-Tiny",
        data_dir=write_treebank(tmp_path), train_sentences=48, test_sentences=32,
        optim=OptimConfig(epochs=1, batch_size=16, lr=3e-3, warmup_steps=1),
    )
    keep, learned = run(config)
    assert keep.initial_accuracy == learned.initial_accuracy
    assert keep.accuracy == pytest.approx(learned.accuracy, abs=1e-9)
    assert keep.final_loss == pytest.approx(learned.final_loss, rel=1e-5)
