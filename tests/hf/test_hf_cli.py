"""The hf-* commands, and UD-POS transfer of a pretrained model through `petra run`."""

import re
import subprocess
import sys

import pandas as pd
import torch
from transformers import GPT2Config, GPT2LMHeadModel
from typer.testing import CliRunner

from petra.cli import app
from petra.data.batches import IGNORE
from petra.data.pretrained_tokenizer import PretrainedTokenizer
from petra.data.sentence import Sentence
from petra.data.synthetic import LanguageSpec, generate
from petra.data.vocab import LabelSet
from petra.data.word_labels import encode_sentences
from petra.hf import load_model

PETRA = [sys.executable, "-c", "from petra.cli import entry; entry()"]


def write_treebank(root, name="UD_Synthetic-Tiny", n_train=160, n_test=60, seed=7):
    """A small CoNLL-U treebank from a synthetic language (real UD data is never copied into tests)."""
    folder = root / "ud" / name
    folder.mkdir(parents=True)
    sentences = generate(LanguageSpec(name="tiny", vocab_size=120), n_train + n_test, seed=seed)
    for split, part in (("train", sentences[:n_train]), ("test", sentences[n_train:])):
        blocks = []
        for s in part:
            rows = [f"{i}\t{w}\t_\t{u}\t_\t_\t{h}\t{d}\t_\t_"
                    for i, (w, u, h, d) in enumerate(zip(s.words, s.upos, s.heads, s.deprels), start=1)]
            blocks.append("\n".join(rows) + "\n")
        (folder / f"xx_tiny-ud-{split}.conllu").write_text("\n".join(blocks))
    return root


def test_first_subword_carries_the_word_label(tiny_dirs):
    """The pretrained model's own tokenizer splits words into its sub-words; the first carries the label."""
    tokenizer = PretrainedTokenizer.load(tiny_dirs("bert"))
    sentence = Sentence(("bakalomiru", "ka", "zzqx"), ("NOUN", "ADP", "VERB"), (0, 1, 1), ("root", "case", "dep"), "x")
    labels = LabelSet.build(["ADP", "NOUN", "VERB"])
    corpus, cut = encode_sentences([sentence], tokenizer, labels, max_len=64)
    pieces = tokenizer.tokenizer.convert_ids_to_tokens(corpus.ids[0].tolist())
    tags = corpus.tags[0]
    assert "[CLS]" not in pieces and "[SEP]" not in pieces  # the model puts them around each sentence itself
    assert len(pieces) > 4  # the made-up words are split into several sub-words
    labelled = [(piece, labels.tags[t]) for piece, t in zip(pieces, tags) if t != IGNORE]
    assert [tag for _, tag in labelled] == ["NOUN", "ADP", "VERB"]
    assert not any(piece.startswith("##") for piece, _ in labelled)  # only word-initial pieces
    assert cut.words == 0
    _, cut = encode_sentences([sentence], tokenizer, labels, max_len=2)
    assert cut.words >= 1  # words past the cap are counted, not silently dropped


def test_cli_surgery_writes_a_model_that_loads_with_its_pe(tmp_path, tiny_dirs):
    runner = CliRunner()
    surgered = tmp_path / "rope-bert"
    result = runner.invoke(app, ["hf-surgery", str(tiny_dirs("bert")), "--pe", "rope", "-o", str(surgered)])
    assert result.exit_code == 0, result.output
    assert re.search(r"(\d+)/\1 other tensors unchanged", " ".join(result.output.split()))
    assert load_model(surgered, "mlm").config.petra_pe["name"] == "rope"
    assert (surgered / "tokenizer.json").is_file()


def test_petra_run_transfers_a_pretrained_model_between_conllu_treebanks(tmp_path, tiny_dirs):
    """UD-POS through `petra run` on CoNLL-U files (synthetic, never real UD data copied into tests): the
    pretrained encoder learns the source's tags and the report lists every PE."""
    data = write_treebank(tmp_path / "data")
    write_treebank(tmp_path / "data", "UD_Synthetic-Other", seed=8)
    config = tmp_path / "c.yaml"
    config.write_text(f"""
encodings: [keep, alibi]
seeds: [0]
model: {{pretrained: {tiny_dirs("roberta")}, max_len: 40}}
task: {{type: token, labels: upos}}
data: {{source: {{treebank: Synthetic-Tiny}}, targets: [{{treebank: Synthetic-Other}}], source_train: 160, test: 40}}
pretrain: {{objectives: [task], epochs: 4, batch_size: 16, lr: 3.0e-3, warmup_steps: 5}}
finetune: {{recipes: [full], shots: [0, 20], epochs: 2, batch_size: 8, curve_points: 0}}
run: {{workers: 1}}
""")
    out = tmp_path / "out"
    result = subprocess.run([*PETRA, "run", str(config), "--data-dir", str(data), "-o", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    runs = pd.read_csv(out / "runs.csv")
    assert sorted(set(runs["encoding"])) == ["alibi", "keep"] and len(runs) == 4
    assert (runs["source_accuracy"] > 0.6).all(), runs["source_accuracy"]
    assert (out / "tokenizer" / "tokenizer_config.json").is_file()  # the model's own tokenizer, kept with the run
    assert "model: the pretrained encoder" in (out / "report.md").read_text()

    # `petra export`: the fine-tuned, surgered model as the architecture's own token classifier, which the
    # Auto classes load (petra_roberta) and which, given the tokenizer's [CLS] ... [SEP], scores as petra did
    exported = tmp_path / "exported"
    done = CliRunner().invoke(app, ["export", str(out), "--target", "Synthetic-Other", "--encoding", "alibi",
                                    "-o", str(exported)])
    assert done.exit_code == 0, done.output
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from petra.results.kept_models import Choice, find_kept, load_model as load_kept

    hf = AutoModelForTokenClassification.from_pretrained(exported, local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(exported)
    words = ["the", "dog", "sees", "a", "cat"]
    encoded = tokenizer(words, is_split_into_words=True, return_tensors="pt")
    _, kept = find_kept(out, Choice("Synthetic-Other", "alibi", "full"))
    ids = encoded["input_ids"][:, 1:-1]
    with torch.no_grad():
        ours = load_kept(kept, "Synthetic-Other")(ids, torch.ones_like(ids, dtype=torch.bool), "task")
        theirs = hf(**encoded).logits[:, 1:-1]
    torch.testing.assert_close(theirs, ours, rtol=1e-4, atol=1e-5)


def test_cli_errors_are_one_line(tmp_path):
    gpt2 = tmp_path / "gpt2"
    GPT2LMHeadModel(GPT2Config(vocab_size=50, n_positions=16, n_embd=16, n_layer=1, n_head=2, bos_token_id=0, eos_token_id=0)).save_pretrained(gpt2)
    result = subprocess.run([*PETRA, "hf-surgery", str(gpt2), "--pe", "rope", "-o", str(tmp_path / "x")],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "does not support model_type 'gpt2'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
