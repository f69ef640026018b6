from petra.training.recipes import register
from petra.training.recipes.base import Recipe


def _all_but_the_pe(model, setup):
    frozen = {id(p) for p in model.encoding.parameters()}
    return {"everything but the PE": [p for p in model.parameters() if id(p) not in frozen]}


register(Recipe("frozen_pe", "fine-tune everything except the positional encoding's parameters", _all_but_the_pe,
                full_without_pe_parameters=True))
