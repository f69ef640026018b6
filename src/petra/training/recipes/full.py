from petra.training.recipes import register
from petra.training.recipes.base import Recipe, every_parameter

register(Recipe("full", "fine-tune every parameter", lambda model, setup: {"everything": every_parameter(model)}))
