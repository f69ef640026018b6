"""LoRA (Hu et al. 2022) through ``peft``: low-rank updates B·A beside the attention and feed-forward
Linear layers of the frozen encoder, found by the names the encoder gives (``linear_layers``). After
training each update is merged into its
layer (W + (α/r)·B·A), so the scored and kept model is a plain petra model: nothing to rebuild."""

from torch import nn

from petra.training.recipes import register
from petra.training.recipes.base import Recipe, task_head

def _lora(model, setup):
    from peft import LoraConfig, inject_adapter_in_model

    rank = setup.option("lora_rank", 8)
    config = LoraConfig(r=rank, lora_alpha=setup.option("lora_alpha", 16), lora_dropout=0.0,
                        target_modules=model.encoder.linear_layers)
    inject_adapter_in_model(config, model.encoder)
    added = [p for name, p in model.encoder.named_parameters() if ".lora_" in name]
    return {"LoRA": added, "task head": task_head(model)}


def merge(model: nn.Module) -> None:
    """Fold every LoRA update into its Linear layer and put the plain layer back in its place."""
    from peft.tuners.lora import LoraLayer

    for name, module in list(model.named_modules()):
        if isinstance(module, LoraLayer):
            module.merge()
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent) if parent else model, child, module.get_base_layer())


def _needs_blocks(config):
    return "needs the transformer architecture (its Linear layers)" if config.model.architecture == "lstm" else None


register(Recipe("lora", "freeze the model; train low-rank updates of the attention and feed-forward layers (peft), "
                "the task head (and the target's embedding rows); merged after training", _lora, frozen_encoder=True,
                finish=merge, check=_needs_blocks))
