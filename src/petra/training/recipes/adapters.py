from petra.models.language import add_adapters
from petra.training.recipes import register
from petra.training.recipes.base import Recipe, task_head


def _adapters(model, setup):
    added = add_adapters(model, setup.option("adapter_bottleneck", 16), setup.num_languages)
    return {"adapters": list(added.parameters()), "task head": task_head(model)}


def _needs_blocks(config):
    return "needs the transformer architecture (the lstm has no blocks)" if config.model.architecture == "lstm" else None


register(Recipe("adapters", "freeze the model; train bottleneck adapters per layer, the task head (and the target's "
                "embedding rows)", _adapters, frozen_encoder=True,
                kept=lambda finetune: {"adapter_bottleneck": finetune.adapter_bottleneck}, check=_needs_blocks))
