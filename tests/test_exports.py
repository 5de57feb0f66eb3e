"""Derived files: the F16 GGUF and the Hugging Face folder load and agree.

The F16 GGUF (llama.cpp) and the Hugging Face export (transformers) hold the
same dequantized weights, so greedy decoding from the same token ids must
agree. The shipped Q4_1 file must agree with them on the first token; it may
drift later because its matrix products also quantize activations.
"""

from __future__ import annotations

import pytest

from labkit import models

PROMPTS = [
    "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nName three colours.<|im_end|>\n<|im_start|>assistant\n",
    "The quick brown fox",
    "Once upon a time, there was a",
    "def add(a, b):\n    return",
]
N_TOKENS = 8


def _llama_greedy(model_path: str) -> list[list[int]]:
    from labkit.engines.llamacpp import load

    llm = load(model_path, n_ctx=256, n_threads=2, seed=0)
    runs = []
    for prompt in PROMPTS:
        ids = llm.tokenize(prompt.encode(), add_bos=False, special=True)
        llm.reset()
        out: list[int] = []
        for token in llm.generate(ids, temp=0.0, top_k=1, repeat_penalty=1.0, reset=True):
            out.append(token)
            if len(out) == N_TOKENS:
                break
        runs.append([*ids, *out])
    return runs


@pytest.fixture(scope="module")
def shipped_runs() -> list[list[int]]:
    return _llama_greedy(str(models.path("smollm2:135m")))


@pytest.fixture(scope="module")
def f16_runs() -> list[list[int]]:
    return _llama_greedy(str(models.f16_path("smollm2:135m")))


def test_f16_gguf_keeps_metadata_and_doubles_precision() -> None:
    from labkit.models import gguf

    source = gguf.header(models.path("smollm2:135m"))
    f16 = gguf.header(models.f16_path("smollm2:135m"))
    keys = {*source.fields, *source.array_lengths} - {"general.file_type"}
    assert keys == {*f16.fields, *f16.array_lengths} - {"general.file_type"}
    assert f16.array_lengths == source.array_lengths  # the same vocabulary, token for token in count
    assert f16.get("general.file_type") == 1  # llama.cpp's LLAMA_FTYPE_MOSTLY_F16
    assert {t.ggml_type for t in f16.tensors} == {"F16", "F32"}
    assert [t.name for t in f16.tensors] == [t.name for t in source.tensors]
    # Cached: a second call returns the same file without rebuilding.
    first = models.f16_path("smollm2:135m")
    mtime = first.stat().st_mtime_ns
    assert models.f16_path("smollm2:135m") == first and first.stat().st_mtime_ns == mtime


def test_hf_export_and_f16_gguf_agree_greedily(f16_runs: list[list[int]], shipped_runs: list[list[int]]) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = models.hf_dir("smollm2:135m")
    assert (folder / "config.json").exists() and (folder / "model.safetensors").exists()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()
    torch.manual_seed(0)
    for prompt, f16_ids, shipped_ids in zip(PROMPTS, f16_runs, shipped_runs):
        prompt_ids = f16_ids[: len(f16_ids) - N_TOKENS]
        # Both engines tokenize the prompt identically.
        assert tokenizer(prompt, add_special_tokens=False)["input_ids"] == prompt_ids
        with torch.no_grad():
            out = model.generate(torch.tensor([prompt_ids]), max_new_tokens=N_TOKENS, do_sample=False,
                                 attention_mask=torch.ones(1, len(prompt_ids), dtype=torch.long))
        hf_ids = out[0].tolist()
        assert hf_ids[len(prompt_ids):] == f16_ids[len(prompt_ids):], prompt
        assert shipped_ids[len(prompt_ids)] == f16_ids[len(prompt_ids)], prompt


def test_hf_export_works_with_langchain_pipeline() -> None:
    from langchain_huggingface import HuggingFacePipeline

    llm = HuggingFacePipeline.from_model_id(
        model_id=str(models.hf_dir("smollm2:135m")),
        task="text-generation",
        pipeline_kwargs={"max_new_tokens": 5, "do_sample": False, "return_full_text": False},
    )
    text = llm.invoke("The capital of France is")
    assert isinstance(text, str) and text.strip()
    assert not text.startswith("The capital of France is")
