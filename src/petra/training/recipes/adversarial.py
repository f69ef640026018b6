from petra.training.recipes import register
from petra.training.recipes.base import Recipe, every_parameter

# The discriminator behind gradient reversal is added by the fine-tuning (petra.training.adversarial):
# it trains, but is a training aid, not part of the kept model.
register(Recipe("adversarial", "fine-tune everything with a gradient-reversed language discriminator on source and "
                "target batches", lambda model, setup: {"everything": every_parameter(model)}, source_batches=True))
