import pytest
import torch


@pytest.fixture(autouse=True)
def _few_threads():
    # Tests use tiny models: more threads only add overhead on a 2-core machine.
    torch.set_num_threads(1)
    yield


def _with_tokenizer(text: str, path) -> str:
    """A YAML config ``text`` told to use the saved tokenizer at ``path`` instead of fitting one."""
    if "tokenizer: {" in text:
        return text.replace("tokenizer: {", f"tokenizer: {{path: {path}, ")
    return text + f"tokenizer: {{path: {path}}}\n"


@pytest.fixture
def with_tokenizer():
    return _with_tokenizer
