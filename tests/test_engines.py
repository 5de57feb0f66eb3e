"""The three engine builders return real LangChain objects that run the real model."""

from __future__ import annotations

import pytest

from labkit import engines
from labkit.system import hardware

QUESTION = "What is the capital of France? Answer in one word."


@pytest.fixture(scope="module")
def llamacpp_chat():
    return engines.llamacpp_chat(max_tokens=16, n_ctx=1024)


def test_llamacpp_llm_has_usable_defaults_and_runs(capfd) -> None:
    from langchain_community.llms import LlamaCpp

    llm = engines.llamacpp_llm(max_tokens=6, n_ctx=1024)
    assert isinstance(llm, LlamaCpp)
    assert (llm.n_ctx, llm.n_batch, llm.repeat_penalty, llm.temperature) == (1024, 512, 1.0, 0.0)
    assert llm.client.n_ctx() == 1024
    text = llm.invoke("The capital of France is")
    assert "Paris" in text
    # llama.cpp's C-level load logs never reached the terminal.
    assert "llama_model_loader" not in capfd.readouterr().err


def test_llamacpp_chat_applies_the_gguf_chat_template(llamacpp_chat) -> None:
    from langchain_community.chat_models import ChatLlamaCpp

    assert isinstance(llamacpp_chat, ChatLlamaCpp)
    assert "Paris" in llamacpp_chat.invoke(QUESTION).content
    chunks = [chunk.content for chunk in llamacpp_chat.stream(QUESTION)]
    assert len(chunks) > 1 and "Paris" in "".join(chunks)


def test_base_model_without_template_is_refused_for_chat() -> None:
    with pytest.raises(ValueError, match="no chat template"):
        engines.llamacpp_chat("gemma3:270m")
    with pytest.raises(ValueError, match="without a chat template"):
        engines.hf_chat("gemma3:270m")


@pytest.mark.skipif(bool(hardware.llama_gpu_offload()), reason="this llama.cpp build can offload")
def test_gpu_layers_on_a_cpu_build_says_so(capsys) -> None:
    assert engines.gpu_layers(-1) == 0
    assert "no GPU support" in capsys.readouterr().out
    assert engines.gpu_layers(0) == 0


def test_hf_pipeline_does_not_echo_the_prompt(capsys) -> None:
    from langchain_huggingface import HuggingFacePipeline

    llm = engines.hf_pipeline(max_new_tokens=6)
    assert isinstance(llm, HuggingFacePipeline)
    assert "running on:" in capsys.readouterr().out
    prompt = "The capital of France is"
    text = llm.invoke(prompt)
    assert "Paris" in text and not text.startswith(prompt)


def test_hf_chat_answers() -> None:
    chat = engines.hf_chat(max_new_tokens=12)
    answer = chat.invoke(QUESTION).content
    assert "Paris" in answer and "<|im_start|>" not in answer


def test_missing_gpu_is_a_clear_error() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        engines.pick_device("cuda")
    assert engines.pick_device("auto", announce=False) in ("cpu", "mps")


def test_ollama_builders_always_set_num_ctx(monkeypatch) -> None:
    from langchain_ollama import ChatOllama, OllamaLLM

    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:11500")
    chat = engines.ollama_chat(num_predict=8)
    assert isinstance(chat, ChatOllama)
    assert (chat.num_ctx, chat.temperature, chat.base_url) == (4096, 0.0, "http://127.0.0.1:11500")
    llm = engines.ollama_llm(num_ctx=8192, base_url="http://127.0.0.1:9999/")
    assert isinstance(llm, OllamaLLM) and llm.num_ctx == 8192 and llm.base_url == "http://127.0.0.1:9999"
