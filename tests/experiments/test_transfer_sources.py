"""One engine for every language source: synthetic specs, UD treebanks, the user's own CoNLL-U
files and `datasets` folders go through the same transfer experiment (k-shot, scratch, every
recipe, augmentation, store, report).

The default tests build their treebanks from the synthetic grammar (an SVO source, an SOV target
with train + test, a test-only VSO target), so they need no shared data; the runs on real UD
treebanks read ../shared/data.
"""

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from petra.cli import app
from petra.config import load_config, parse_config
from petra.data.hf_datasets import export_splits
from petra.data.synthetic import LanguageSpec, generate
from petra.errors import PetraError
from petra.experiments.transfer import run
from petra.experiments.transfer_data import prepare_data
from petra.results.store import ResultStore

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
REPO = Path(__file__).resolve().parents[2]
needs_ud = pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")

TINY = {
    "name": "tiny",
    "encodings": ["sinusoidal"],
    "seeds": [0],
    "model": {"dim": 32, "layers": 1, "heads": 2, "ffn_dim": 64, "max_len": 48},
    "task": {"type": "token", "labels": "upos"},
    "tokenizer": {"kind": "wordpiece", "vocab_size": 300, "min_frequency": 1},
    "data": {"test": 40},
    "pretrain": {"epochs": 8, "batch_size": 16, "lr": 0.003, "warmup_steps": 10, "mix": {"target_text": 20}},
    "finetune": {"recipes": ["full"], "shots": [0, 10, 500], "epochs": 2, "batch_size": 8, "curve_points": 2},
    "run": {"workers": 1},
}


def conllu(sentences) -> str:
    """CoNLL-U text of ``sentences`` (10 columns, blank line after each sentence)."""
    blocks = []
    for s in sentences:
        rows = [f"{i}\t{w}\t_\t{u}\t_\t_\t{h}\t{r}\t_\t_" for i, (w, u, h, r) in
                enumerate(zip(s.words, s.upos, s.heads, s.deprels), start=1)]
        blocks.append("\n".join(rows) + "\n")
    return "\n".join(blocks) + "\n"


@pytest.fixture(scope="module")
def banks(tmp_path_factory) -> dict[str, Path]:
    """svo: a `datasets` folder; sov: a CoNLL-U folder whose files name their split; vso: one
    test-only CoNLL-U file with a name of the user's choosing."""
    root = tmp_path_factory.mktemp("banks")
    svo, sov, vso = (LanguageSpec(name=n, word_order=n.upper(), shared_vocab=0.5) for n in ("svo", "sov", "vso"))
    (root / "sov").mkdir()
    (root / "sov" / "my-sov-train.conllu").write_text(conllu(generate(sov, 60, 3)))
    (root / "sov" / "my-sov-test.conllu").write_text(conllu(generate(sov, 40, 4)))
    (root / "notes.conllu").write_text(conllu(generate(vso, 40, 5)))
    return {
        "svo": export_splits({"train": generate(svo, 300, 1), "test": generate(svo, 40, 2)}, root / "svo"),
        "sov": root / "sov",
        "vso": root / "notes.conllu",
    }


def _config(banks: dict[str, Path], **sections) -> dict:
    data = {**TINY["data"], "source": {"datasets": str(banks["svo"])},
            "targets": [{"conllu": str(banks["sov"])}, {"conllu": {"test": str(banks["vso"])}, "name": "vso"}]}
    return {**TINY, "data": data, **sections}


TRANSFER_CONFIGS = [p for p in sorted((REPO / "configs").glob("*.yaml")) if p.stem not in ("bound", "lengthgen")]


@pytest.mark.parametrize("path", TRANSFER_CONFIGS, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path):
    config = load_config(path)
    assert config.encodings and config.finetune.shots


def test_udpos_configs_name_real_treebanks():
    config = load_config(REPO / "configs" / "ud_pos_all.yaml")
    assert config.data.source.kind == "treebank" and len(config.data.targets) == 22
    assert config.finetune.shots == [0, 100] and config.pretrain.mix.target_text == 300


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"finetune": {"augment": {"reorder": {"order": "SXV"}}}}, "finetune.augment.reorder"),
        ({"finetune": {"augment": {"synonyms": {"model_embeddings": True, "lexicon": "x.tsv"}}}}, "finetune.augment.synonyms"),
        ({"finetune": {"shots": [10, -1]}}, "finetune"),
        ({"tokenizer": {"kind": "sentencepiece"}}, "tokenizer.kind"),
        ({"data": {"targets": [{"treebank": "Wolof-WTB", "split": "x"}]}}, "data.targets.0.split"),
        ({"data": {"target_train": 100}}, "data"),
        ({"data": {"source": [{"treebank": "Wolof-WTB"}, {"treebank": "Irish-IDT", "split": "x"}]}}, "data.source.1.split"),
        ({"data": {"source": {"treebank": "Wolof-WTB", "split": "x"}}}, "data.source.split"),
        ({"data": {"targets": [{"treebank": "Wolof-WTB"}]}, "task": {"type": "sequence"}}, "(top level)"),
    ],
)
def test_bad_config_names_the_field(tmp_path, section, field):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(section))
    with pytest.raises(PetraError, match=rf"c.yaml: invalid config field '{re.escape(field)}"):
        load_config(path)


def test_sequence_task_on_a_treebank_says_why():
    with pytest.raises(PetraError, match=r"sentence label that only synthetic languages carry; \['Wolof-WTB'\]"):
        parse_config({"data": {"targets": [{"treebank": "Wolof-WTB"}]}})


def test_files_sources_k_shot_scratch_and_augmentation(tmp_path, banks):
    augment = {"reorder": {"order": "auto", "source_sentences": 15}, "synonyms": {"model_embeddings": True, "prob": 1.0}}
    config = parse_config(_config(banks, finetune={**TINY["finetune"], "augment": augment,
                                                   "recipes": ["full", "frozen_adaptive_pe", "adapters"]}))
    data = prepare_data(config)
    assert data.languages == ["svo", "sov", "vso"]
    sov, vso = data.targets["sov"], data.targets["vso"]
    assert (sov.pool.split, sov.pool.size, sov.order) == ("train", 60, "SOV")  # 'auto' re-ordering measured SOV
    # test-only: its 40 test sentences in 5 folds; k sentences come from the 4 folds not scored
    assert (vso.pool.split, len(vso.pool.folds), vso.pool.size) == ("test-folds", 5, 32)
    assert data.stats["unlabelled_sentences"] == 20  # sov's pool only: test splits are never pretraining text
    results = run(config, ResultStore(tmp_path / "store"))
    runs = results.runs.set_index(["target", "recipe", "shots"])
    # zero-shot for both, k = 10 for both; 500 > pool size: reported missing, not faked
    assert set(runs.index) == {(t, "zero_shot", 0) for t in ("sov", "vso")} | {
        (t, r, 10) for t in ("sov", "vso") for r in ("full", "frozen_adaptive_pe", "adapters")}
    assert results.missing == ["sov k=500: its train pool holds 60 sentences",
                               "vso k=500: its test-folds pool holds 32 sentences"]
    assert runs["scratch_accuracy"].isna().sum() == 2 and runs.loc[("sov", "full", 10), "pool"] == "train"
    assert (runs.loc[("vso", "full", 10), "pool"], runs.loc[("vso", "full", 10), "test_sentences"]) == ("test-folds", 40)
    assert runs.loc[("sov", "full", 10), "train_sentences"] == 10 + 15 + 10  # k + re-ordered source + synonym copies
    # UPOS of the grammar's lexicon is learnable: well above the majority tag (NOUN, 42% of words)
    assert runs.loc[("sov", "full", 10), "source_accuracy"] > 0.6


def test_the_command_writes_results_tokenizer_and_report(tmp_path, banks):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(_config(banks, seeds=[0, 1],
                                           finetune={**TINY["finetune"], "shots": [0, 10]})))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["udpos", str(path), "-o", str(out)])  # the old name of `petra run`
    assert result.exit_code == 0, result.output
    for name in ("config.yaml", "metrics.json", "runs.csv", "summary.csv", "targets.csv", "curves.csv",
                 "scores.parquet", "accuracy.png", "sample_efficiency.png", "tokenizer/tokenizer.json", "report.html",
                 "report.md", "transfer_link_languages.csv", "distance_vs_gain.png"):
        assert (out / name).is_file(), name
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 2 * 4  # 2 seeds x (sov 0, sov 10, vso 0, vso 10 on test folds)
    for column in ("encoding", "seed", "target", "recipe", "shots", "accuracy", "scratch_accuracy",
                   "zero_shot_accuracy", "source_accuracy"):
        assert column in runs.columns
    page = (out / "report.html").read_text()
    assert "Sample efficiency" in page and "Break-even k" in page and "Distance and gain per (source, target) pair" in page
    claims = pd.read_csv(out / "summary.csv", keep_default_na=False)["claim"]
    assert set(claims) == {""}  # one PE and one recipe per (target, k): nothing to compare, no claim
    targets = pd.read_csv(out / "targets.csv").set_index("target")
    assert targets.loc["sov", "pool_sentences"] == 60 and targets.loc["vso", "pool_split"] == "test-folds"


def test_conllu_folder_without_split_names_is_named(tmp_path, banks):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "sentences.conllu").write_text("1\ta\t_\tNOUN\t_\t_\t0\troot\t_\t_\n\n")
    config = parse_config(_config(banks, data={**_config(banks)["data"], "targets": [{"conllu": str(folder)}]}))
    with pytest.raises(PetraError, match=r"data.targets\[0\] \(mine\): .*no .conllu file names its split"):
        prepare_data(config)


@needs_ud
def test_synthetic_source_with_treebank_targets(tmp_path):
    """Sources mix freely: one word vocabulary over an SVO grammar and two real treebanks."""
    config = parse_config({
        **TINY, "tokenizer": {"kind": "word"},
        "data": {"source": {"name": "svo"}, "targets": [{"treebank": "Wolof-WTB"}, {"treebank": "Tagalog-TRG"}],
                 "source_train": 200, "test": 30},
        "finetune": {**TINY["finetune"], "shots": [0, 10]},
    })
    results = run(config, ResultStore(tmp_path / "store"), data_dir=SHARED)
    cells = set(zip(results.runs["target"], results.runs["shots"], results.runs["pool"]))
    # Tagalog-TRG has only a test split (55 sentences): fine-tuned on test folds
    assert cells == {("Wolof-WTB", 0, ""), ("Wolof-WTB", 10, "train"), ("Tagalog-TRG", 0, ""), ("Tagalog-TRG", 10, "test-folds")}


@needs_ud
def test_missing_treebank_is_named_before_any_training(tmp_path):
    config = parse_config({**TINY, "data": {"source": {"treebank": "Wolof-WTB"}, "targets": [{"treebank": "Klingon-X"}]}})
    with pytest.raises(PetraError, match=r"data.targets\[0\] \(Klingon-X\): treebank 'Klingon-X' not found"):
        run(config, ResultStore(tmp_path / "store"), data_dir=SHARED)
    assert not list((tmp_path / "store").rglob("*.parquet"))  # no unit recorded


def test_a_fitted_tokenizer_is_kept_and_reused(tmp_path, banks):
    """A run keeps the tokenizer it fitted in its store; a rerun, or `tokenizer.path`, uses it again."""
    config = parse_config(_config(banks))
    kept = tmp_path / "kept"
    first = prepare_data(config, kept_tokenizer=kept)
    assert (kept / "tokenizer.json").is_file()
    again = prepare_data(config, kept_tokenizer=kept)
    assert again.tokenizer.tokenizer.to_str() == first.tokenizer.tokenizer.to_str()
    given = parse_config(_config(banks, tokenizer={"kind": "wordpiece", "path": str(kept)}))
    assert prepare_data(given).tokenizer.tokenizer.to_str() == first.tokenizer.tokenizer.to_str()
    missing = parse_config(_config(banks, tokenizer={"kind": "wordpiece", "path": str(tmp_path / "nope")}))
    with pytest.raises(PetraError, match=r"tokenizer.path: tokenizer file not found"):
        prepare_data(missing)


def test_masked_lm_first_then_the_task():
    """task_epochs: masked-LM on every text, then the task on the labelled languages (XTREME)."""
    from petra.experiments.transfer import run_group

    config = parse_config({**TINY, "tokenizer": {"kind": "word"},
                           "data": {"source": {"name": "svo"}, "targets": [{"name": "sov", "word_order": "SOV"}],
                                    "source_train": 200, "test": 40},
                           "pretrain": {"epochs": 2, "task_epochs": 3, "batch_size": 16, "mix": {"target_text": 20}},
                           "finetune": {**TINY["finetune"], "shots": [20]}})
    data = prepare_data(config)
    result = run_group(config, data, "sinusoidal", [0])[0]
    source_steps = -(-200 // 16)
    mlm_steps = source_steps + -(-20 // 16)  # the source and the target's text
    pretrain_losses = [c for c in result.curves if c["phase"] == "pretrain" and c["kind"] == "loss"]
    assert len(pretrain_losses) == 2 * mlm_steps + 3 * source_steps
    with pytest.raises(PetraError, match="task_epochs .* needs objectives"):
        parse_config({"pretrain": {"objectives": ["task"], "task_epochs": 2}})


def test_several_sources_score_every_target_from_each(tmp_path):
    """data.source as a list: one pretraining per source inside the unit; scratch, which does not
    depend on the source, is trained once and shared (the same number in both sources' rows)."""
    config = parse_config({
        **TINY, "tokenizer": {"kind": "word"},
        "data": {"source": [{"name": "svo"}, {"name": "vso", "word_order": "VSO"}],
                 "targets": [{"name": "sov", "word_order": "SOV"}], "source_train": 150, "test": 40},
        "pretrain": {**TINY["pretrain"], "epochs": 2, "mix": {}},
        "finetune": {**TINY["finetune"], "shots": [0, 20]},
    })
    results = run(config, ResultStore(tmp_path / "store"))
    runs = results.runs.set_index(["source", "recipe", "shots"])
    assert set(runs.index) == {(s, r, k) for s in ("svo", "vso") for r, k in (("zero_shot", 0), ("full", 20))}
    assert runs.loc[("svo", "full", 20), "scratch_accuracy"] == runs.loc[("vso", "full", 20), "scratch_accuracy"]
    assert runs.loc[("svo", "full", 20), "source_accuracy"] != runs.loc[("vso", "full", 20), "source_accuracy"]
    assert set(results.scores["source"]) == {"svo", "vso"}


@needs_ud
def test_ud_pos_beats_the_majority_tag_on_real_treebanks(tmp_path):
    """UPOS tagging on real treebanks, default recipe, small sizes: far above tagging every word with
    the most frequent tag of the sentences trained on."""
    from collections import Counter

    from petra.data.ud import find_treebank

    config = parse_config({**TINY, "data": {"source": {"treebank": "English-EWT"}, "targets": [{"treebank": "Wolof-WTB"}],
                                            "source_train": 400, "test": 150},
                           "model": {"dim": 48, "layers": 2, "heads": 4, "ffn_dim": 96, "max_len": 64},
                           "pretrain": {**TINY["pretrain"], "epochs": 6},
                           "finetune": {**TINY["finetune"], "shots": [100], "epochs": 8}})
    runs = run(config, ResultStore(tmp_path / "store"), data_dir=SHARED).runs.iloc[0]

    def majority(treebank: str, split: str) -> float:
        tags = Counter(t for s in find_treebank(treebank, SHARED).read(split) for t in s.upos)
        return tags.most_common(1)[0][1] / sum(tags.values())

    assert runs["source_accuracy"] > majority("English-EWT", "test") + 0.3  # in-language (NOUN: about 0.17)
    assert runs["accuracy"] > majority("Wolof-WTB", "test") + 0.25  # 100 Wolof sentences after English
