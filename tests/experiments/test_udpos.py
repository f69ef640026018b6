"""The UD-POS transfer experiment: config checks, and a tiny run end to end.

The default tests build their treebanks as `datasets` folders from the synthetic grammar (an SVO
source, an SOV target with train + test, a test-only VSO target), so they need no shared data;
the run on real UD treebanks is marked slow.
"""

import math
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from petra.cli import app
from petra.data.hf_datasets import export_splits
from petra.data.synthetic import LanguageSpec, generate
from petra.errors import PetraError
from petra.experiments.udpos import load_udpos_config, run

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
REPO = Path(__file__).resolve().parents[2]

TINY = {
    "name": "tiny",
    "encodings": ["sinusoidal"],
    "seeds": [0],
    "model": {"dim": 16, "layers": 1, "heads": 2, "ffn_dim": 32, "max_len": 48},
    "tokenizer": {"vocab_size": 300, "min_frequency": 1},
    "pretrain": {"enabled": True, "epochs": 1, "batch_size": 32},
    "finetune": {"epochs": 2, "batch_size": 32, "lr": 0.003, "warmup_steps": 5},
    "kshot": {"shots": [0, 10, 500], "epochs": 2, "batch_size": 8},
    "run": {"workers": 1},
}


@pytest.fixture(scope="module")
def banks(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("banks")
    svo, sov, vso = (LanguageSpec(name=n, word_order=n.upper(), shared_vocab=0.5) for n in ("svo", "sov", "vso"))
    return {
        "svo": export_splits({"train": generate(svo, 150, 1), "test": generate(svo, 40, 2)}, root / "svo"),
        "sov": export_splits({"train": generate(sov, 60, 3), "test": generate(sov, 40, 4)}, root / "sov"),
        "vso": export_splits({"test": generate(vso, 40, 5)}, root / "vso"),
    }


def _config(tmp_path: Path, banks: dict[str, Path], **sections) -> Path:
    data = {**TINY, "data": {"source": str(banks["svo"]), "targets": [str(banks["sov"]), str(banks["vso"])]}}
    data.update(sections)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_configs_are_valid():
    config = load_udpos_config(REPO / "configs" / "ud_pos.yaml")
    assert len(config.encodings) == 4 and len(config.seeds) == 3
    assert config.data.source == "English-EWT" and len(config.data.targets) == 5
    assert load_udpos_config(REPO / "configs" / "ud_pos_all.yaml").data.targets == "all"
    assert load_udpos_config(REPO / "configs" / "ud_pos_ewt.yaml").data.targets == []


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"augment": {"reorder": {"order": "SXV"}}}, "augment.reorder"),
        ({"augment": {"synonyms": {"model_embeddings": True, "lexicon": "x.tsv"}}}, "augment.synonyms"),
        ({"augment": {"back_translation": {"forward_model": "m"}}}, "augment.back_translation"),
        ({"kshot": {"shots": [10, -1]}}, "kshot"),
        ({"tokenizer": {"kind": "sentencepiece"}}, "tokenizer.kind"),
        ({"encodings": ["nope"]}, "(top level)"),
    ],
)
def test_bad_config_names_the_field(tmp_path, section, field):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(section))
    with pytest.raises(PetraError, match=rf"c.yaml: invalid config field '{re.escape(field)}"):
        load_udpos_config(path)


def test_tiny_run_zero_shot_k_shot_and_scratch(tmp_path, banks):
    augment = {"reorder": {"order": "auto", "source_sentences": 15}, "synonyms": {"model_embeddings": True, "prob": 1.0}}
    config = load_udpos_config(_config(tmp_path, banks, augment=augment))
    data, results = run(config)
    assert data.stats["mix_sentences"] == 150 + 60  # source train + the SOV pool; test splits never
    sov, vso = data.targets
    assert (sov.pool_split, len(sov.pool), sov.order) == ("train", 60, "SOV")  # 'auto' measured SOV
    assert vso.pool_split == "" and vso.order is None
    (unit,) = results
    assert 0.0 <= unit.source.accuracy <= 1.0 and unit.source.pretrain_seconds > 0
    cells = {(r.target, r.shots): r for r in unit.targets}
    # zero-shot for both; 10-shot only where a pool exists; 500 > pool size: skipped, not faked
    assert set(cells) == {("sov", 0), ("vso", 0), ("sov", 10)}
    assert math.isnan(cells["sov", 0].scratch_accuracy) and not math.isnan(cells["sov", 10].scratch_accuracy)
    assert cells["sov", 10].train_sentences == 10 + 15 + 10  # k + re-ordered source + one synonym copy each
    assert cells["sov", 10].pool_split == "train"


def test_cli_writes_the_results_folder(tmp_path, banks):
    out = tmp_path / "out"
    config = _config(tmp_path, banks, seeds=[0, 1], kshot={"shots": [0, 10], "epochs": 1, "batch_size": 8})
    result = CliRunner().invoke(app, ["udpos", str(config), "-o", str(out)])
    assert result.exit_code == 0, result.output
    for name in ("config.yaml", "metrics.json", "runs.csv", "summary.csv", "source.csv", "targets.csv",
                 "accuracy.png", "tokenizer/tokenizer.json"):
        assert (out / name).is_file(), name
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 2 * 3  # 2 seeds x (sov 0, sov 10, vso 0)
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["seeds"]) == {2}
    assert "wall time" in result.output


needs_ud = pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")


@needs_ud
@pytest.mark.slow
def test_real_treebanks_tiny_run(tmp_path):
    data = {
        **TINY, "data": {"targets": ["Wolof-WTB", "Tagalog-TRG"], "source_train": 300, "mix_sentences": 300, "test": 50},
        "kshot": {"shots": [0, 10], "epochs": 1},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["udpos", str(path), "--data-dir", str(SHARED), "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    runs = pd.read_csv(tmp_path / "o" / "runs.csv")
    assert set(zip(runs["target"], runs["shots"])) == {("UD_Wolof-WTB", 0), ("UD_Wolof-WTB", 10), ("UD_Tagalog-TRG", 0)}


def test_token_dropout_hides_real_tokens_only():
    import torch

    from petra.data.batches import Batch
    from petra.experiments.udpos import TokenDropout

    seen = []
    ids = torch.tensor([[5, 6, 7], [8, 0, 0]])
    batch = Batch(ids, ids != 0, torch.zeros_like(ids), torch.zeros(2, dtype=torch.long))
    dropout = TokenDropout(lambda model, b: seen.append(b.ids) or torch.zeros(()), 1.0, 2, torch.Generator().manual_seed(0))
    dropout(None, batch)
    assert seen[0].tolist() == [[2, 2, 2], [2, 0, 0]]  # every real token masked, padding kept
    TokenDropout(lambda model, b: seen.append(b.ids) or torch.zeros(()), 0.0, 2, torch.Generator())(None, batch)
    assert torch.equal(seen[1], ids)
