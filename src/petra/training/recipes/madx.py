"""MAD-X (Pfeiffer et al. 2020) as published: the model after masked-LM pretraining stays frozen;
each language gets its own adapters (a bottleneck per block and an invertible adapter on the
embeddings) trained by masked-LM on that language's own text; a task adapter is trained on the
source task through the source's language adapter; at a target, the target's language adapter
takes the source's place (batches carry their language). Zero-shot through MAD-X is then a real
cross-lingual result; k-shot trains the task adapter and head (and the target's embedding rows,
``finetune.embeddings``) on the k sentences."""

from petra.models.language import add_madx, language_adapter_parameters, task_adapter_parameters
from petra.training.recipes import register
from petra.training.recipes.base import Recipe, SourceStage, only, task_head


def _added(model, setup) -> None:
    if not hasattr(model.encoder.blocks[0], "task_adapter"):
        add_madx(model, setup.option("adapter_bottleneck", 16), setup.num_languages)


def _per_source(model, stage: SourceStage) -> None:
    """Language adapters by masked-LM, one language at a time, then the task adapter on the source."""
    _added(model, stage.setup)
    for language, corpora in sorted(stage.texts.items()):
        only(model, language_adapter_parameters(model, language))
        stage.train(model, corpora, True, f"language-{language}")
    only(model, task_adapter_parameters(model) + task_head(model))
    stage.train(model, [stage.task], False, "task")


def _task_adapter(model, setup):
    _added(model, setup)
    return {"task adapters": task_adapter_parameters(model), "task head": task_head(model)}


def _check(config):
    if config.model.architecture == "lstm":
        return "needs the transformer architecture (the lstm has no blocks)"
    p = config.pretrain
    if "mlm" not in p.objectives or p.task_epochs is None:
        return ("starts from the masked-LM-pretrained model, before the task: set pretrain.objectives [mlm, task] "
                "and pretrain.task_epochs")
    if config.targets_without_text:
        return (f"trains each target's language adapter on its own text, and {config.targets_without_text[0]!r} has "
                "none: set pretrain.mix.target_text or give every target text:")
    return None


register(Recipe("madx", "MAD-X: language adapters trained by masked-LM on each language's text, a task adapter "
                "on the source through the source's; the target's language adapter swapped in (zero-shot), k-shot "
                "trains the task adapter and head (and the target's embedding rows)", _task_adapter,
                per_source=_per_source, masked_lm_base=True, frozen_encoder=True,
                kept=lambda finetune: {"madx_bottleneck": finetune.adapter_bottleneck}, check=_check))
