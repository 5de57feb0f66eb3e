"""Tokenizers agree across engines, and logits are real distributions."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.engines import tokens

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Ünïcödé, emojis 🙂 and numbers 1234567 tokenize too.",
    "def add(a, b):\n    return a + b\n",
]


@pytest.mark.parametrize("text", TEXTS)
def test_llama_cpp_and_transformers_give_the_same_ids(text: str) -> None:
    assert tokens.same_ids("smollm2:135m", text)


def test_chat_template_wraps_messages() -> None:
    text = tokens.chat_template_text("smollm2:135m", [{"role": "user", "content": "Hi"}])
    assert text.startswith("<|im_start|>system\n")  # SmolLM2's template adds a default system prompt
    assert text.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    assert tokens.same_ids("smollm2:135m", text)
    pieces = [t.piece for t in tokens.tokenize("smollm2:135m", text)]
    assert pieces[0] == "<|im_start|>"  # parsed as one special token, not as characters
    with pytest.raises(ValueError, match="no chat template"):
        tokens.chat_template_text("gemma3:270m", [{"role": "user", "content": "Hi"}])


def test_next_token_distributions_agree_between_engines() -> None:
    prompt = "The capital of France is"
    llama = tokens.next_token_distribution("smollm2:135m", prompt, k=3)
    hf = tokens.next_token_distribution("smollm2:135m", prompt, k=3, engine="transformers")
    assert llama[0][0] == hf[0][0] == " Paris"
    assert llama[0][1] == pytest.approx(hf[0][1], abs=0.05)
    assert sum(p for _, p in llama) <= 1.0


def test_temperature_sharpens_and_flattens() -> None:
    logits = tokens.next_token_logits("smollm2:135m", "The capital of France is")
    cold, warm, hot = (tokens.softmax(logits, t) for t in (0.3, 1.0, 2.0))
    for probs in (cold, warm, hot):
        assert probs.sum() == pytest.approx(1.0)
    assert cold.max() > warm.max() > hot.max()
    greedy = tokens.softmax(logits, 0)
    assert greedy.max() == 1.0 and int(np.argmax(greedy)) == int(np.argmax(logits))
