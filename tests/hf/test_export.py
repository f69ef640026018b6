"""run.keep_models and `petra export`: a tiny UD run keeps the best seed of each cell, and the
exported folder tags a sentence through transformers' pipeline with the run's own numbers."""

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import petra
from petra.cli import app
from petra.errors import PetraError
from petra.experiments.transfer import unit_keys
from petra.results.export import export
from petra.results.kept_models import Choice, choose, kept_models
from petra.training.recipes import available

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_ud = pytest.mark.skipif(not (SHARED / "ud").is_dir(), reason="../shared/data/ud not present")

RECIPES = [r.name for r in available()]  # every recipe's kept model must rebuild to the model that was scored
UD = {
    "name": "export", "encodings": ["rope"], "seeds": [0, 1],
    "model": {"dim": 32, "layers": 1, "heads": 2, "ffn_dim": 64, "max_len": 64},
    "task": {"type": "token", "labels": "upos"},
    "tokenizer": {"vocab_size": 500, "min_frequency": 1},
    "data": {"source": {"treebank": "English-EWT"}, "targets": [{"treebank": "Wolof-WTB"}], "source_train": 300,
             "test": 60},
    # masked-LM first, then the task, with the target's text: what madx starts from and trains its adapters on
    "pretrain": {"objectives": ["mlm", "task"], "epochs": 2, "task_epochs": 2, "batch_size": 16, "lr": 0.003,
                 "warmup_steps": 10, "mix": {"target_text": 60}},
    "finetune": {"recipes": RECIPES, "shots": [0, 40], "epochs": 3, "batch_size": 8, "curve_points": 0,
                 "language_adapter_steps": 20},
}


@pytest.fixture(scope="module")
def ud_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ud") / "r"
    results = petra.run({**UD, "run": {"output_dir": str(out), "workers": 1}}, data_dir=SHARED)
    return out, results


@needs_ud
def test_keep_best_keeps_the_best_seed_of_each_cell(ud_run):
    out, results = ud_run
    config = petra.api._config(out / "config.yaml", {})
    kept = kept_models(out / "store", unit_keys(config).values())
    cells = {(m.meta["recipe"], m.meta["shots"]) for m in kept}
    assert cells == {("zero_shot", 0)} | {(recipe, 40) for recipe in RECIPES}
    runs = results.runs
    for model in kept:
        m = model.meta
        rows = runs[(runs["recipe"] == m["recipe"]) & (runs["shots"] == m["shots"])]
        best = rows.sort_values(["accuracy", "seed"], ascending=[False, True]).iloc[0]
        assert m["seed"] == best["seed"] and m["scores"]["Wolof-WTB"] == pytest.approx(best["accuracy"])
    assert len(kept) == 1 + len(RECIPES)  # one seed per cell: the other seed's models were deleted


@needs_ud
@pytest.mark.parametrize("recipe", RECIPES)
def test_an_exported_model_tags_through_the_pipeline_as_petra_scored_it(ud_run, tmp_path, recipe):
    from transformers import AutoModelForTokenClassification, AutoTokenizer, pipeline

    import petra.models.hf_model  # noqa: F401 - registers model_type "petra" with the Auto classes

    out, results = ud_run
    done = export(out, Choice("Wolof-WTB", "rope", recipe), tmp_path / "m")
    assert done["shots"] == 40 and done["pipeline"] == "token-classification"
    model = AutoModelForTokenClassification.from_pretrained(tmp_path / "m").eval()
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "m")
    assert set(model.config.id2label.values()) >= {"NOUN", "VERB", "PUNCT"}

    # the exported model scores the target's test split as the run did
    from petra.experiments.transfer_data import prepare_data

    data = prepare_data(petra.api._config(out / "config.yaml", {}), SHARED, out / "tokenizer")
    corpus = data.targets["Wolof-WTB"].test
    right = total = 0
    with torch.no_grad():
        for ids, tags in zip(corpus.ids, corpus.tags):
            logits = model(input_ids=torch.tensor(ids)[None]).logits[0]
            scored = torch.tensor(tags) >= 0
            right += int((logits.argmax(-1) == torch.tensor(tags))[scored].sum())
            total += int(scored.sum())
    assert right / total == pytest.approx(done["accuracy"], abs=1e-9)

    sentence = "Xale yi dem nañu ca ekool ba ."
    tagged = pipeline("token-classification", model=model, tokenizer=tokenizer, aggregation_strategy="first")(sentence)
    # words carry UPOS names ('first': a word's tag is its first sub-word's; neighbours with one tag are grouped)
    assert "".join(t["word"] for t in tagged).replace(" ", "") == sentence.replace(" ", "")  # (decoding drops ' .')
    assert {t["entity_group"] for t in tagged} <= set(model.config.label2id) and len(tagged) > 1


@needs_ud
def test_export_says_what_was_kept_when_the_choice_is_not_there(ud_run, tmp_path):
    out, _ = ud_run
    with pytest.raises(PetraError, match=r"no kept model with encoding 'learned'; kept: rope"):
        export(out, Choice("Wolof-WTB", "learned", "full"), tmp_path / "a")
    with pytest.raises(PetraError, match=r"no kept model with k \(--shots\) 10; kept: 40"):
        export(out, Choice("Wolof-WTB", "rope", "full", shots=10), tmp_path / "b")
    with pytest.raises(PetraError, match="no kept model for target 'Irish-IDT'"):
        export(out, Choice("Irish-IDT", "rope", "full"), tmp_path / "c")
    result = CliRunner().invoke(app, ["export", str(out), "--target", "Wolof-WTB", "--encoding", "rope",
                                      "--recipe", "zero_shot", "-o", str(tmp_path / "z")])
    assert result.exit_code == 0, result.output
    assert "not fine-tuned on Wolof-WTB" in result.output
    assert json.loads((tmp_path / "z" / "petra_export.json").read_text())["shots"] == 0


SYNTHETIC = {"encodings": ["sinusoidal"], "seeds": [0], "model": {"dim": 16, "layers": 1, "heads": 2, "ffn_dim": 32},
             "data": {"source_train": 200, "test": 40}, "pretrain": {"epochs": 2, "batch_size": 16},
             "finetune": {"recipes": ["full", "frozen_pe"], "shots": [20], "epochs": 2, "batch_size": 8,
                          "curve_points": 0}}


def test_a_sequence_model_exports_for_text_classification(tmp_path):
    from transformers import pipeline

    import petra.models.hf_model  # noqa: F401

    out = tmp_path / "r"
    results = petra.run({**SYNTHETIC, "run": {"output_dir": str(out), "workers": 1}})
    target = results.runs["target"].iloc[0]
    # frozen_pe on a PE without parameters trained the same model as full: one file under two names
    (full,) = (out / "store" / "models").glob(f"*/full--*--{target}--k20.safetensors")
    frozen = full.with_name(full.name.replace("full--", "frozen_pe--"))
    assert frozen.read_bytes() == full.read_bytes()
    done = export(out, Choice(target, "sinusoidal", "frozen_pe"), tmp_path / "m")
    assert done["pipeline"] == "text-classification"
    words = json.loads((out / "tokenizer" / "vocab.json").read_text())[3:9]
    (label,) = pipeline("text-classification", model=str(tmp_path / "m"))([" ".join(words)])
    assert label["label"].startswith("class_") and 0 <= label["score"] <= 1


def test_keep_models_none_keeps_nothing_and_export_says_so(tmp_path):
    out = tmp_path / "r"
    petra.run({**SYNTHETIC, "run": {"output_dir": str(out), "workers": 1, "keep_models": "none"}})
    assert not (out / "store" / "models").exists()
    with pytest.raises(PetraError, match="kept no models"):
        export(out, Choice("sov", "learned", "full"), tmp_path / "m")


def test_choose_without_source_names_the_sources(tmp_path):
    from petra.results.kept_models import KeptModel

    meta = {"encoding": "rope", "recipe": "full", "shots": 10, "seed": 0, "scores": {"t": 0.5}}
    models = [KeptModel(tmp_path / f"{s}.safetensors", {**meta, "source": s}) for s in ("a", "b")]
    with pytest.raises(PetraError, match=r"several sources: choose one with --source \(a, b\)"):
        choose(models, Choice("t", "rope", "full"))
    assert choose(models, Choice("t", "rope", "full", source="b")).meta["source"] == "b"


def test_rescore_replaces_the_ranking_score_and_keeps_the_weights(tmp_path):
    from petra.results.kept_models import read_meta, rescore, save_model

    model = torch.nn.Module()
    model.encoder = torch.nn.Linear(3, 2)
    path = tmp_path / "models" / "unit" / "full--a--t--k10.safetensors"
    save_model(model, path, {"scores": {"t": 0.5}})
    rescore(path, {"t": 0.75})  # test folds: the fold-pooled accuracy replaces the first fold's
    assert read_meta(path)["scores"] == {"t": 0.75}
    (kept,) = kept_models(tmp_path, ["unit"])
    assert torch.equal(kept.state()["encoder.weight"], model.encoder.weight) and kept.meta["recipe"] == "full"
