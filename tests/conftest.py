import pytest
import torch

from petra.data.synthetic import LanguageSpec, generate
from petra.models.hf_tiny import build_tiny_model


@pytest.fixture(autouse=True)
def _few_threads():
    # Tests use tiny models: more threads only add overhead on a 2-core machine.
    torch.set_num_threads(1)
    yield


SIZES = dict(hidden=32, layers=2, heads=4, ffn=64, max_len=48)  # tiny Hugging Face models (tests/hf, pretrained runs)


@pytest.fixture(scope="session")
def texts() -> list[str]:
    return [" ".join(s.words) for s in generate(LanguageSpec(name="svo", vocab_size=120), 300, seed=3)]


@pytest.fixture(scope="session")
def tiny_dirs(tmp_path_factory, texts):
    """arch -> folder with a tiny random MLM model and its tokenizer, built on first use."""
    built: dict[str, object] = {}

    def get(arch: str, encoding: str = "sinusoidal"):
        key = f"{arch}-{encoding}"
        if key not in built:
            folder = tmp_path_factory.mktemp(key)
            built[key] = build_tiny_model(folder, texts, arch, vocab_size=400, encoding=encoding, **SIZES)
        return built[key]

    return get
