"""Self-checks of notebooks/03_llamacpp."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.course.check import Exercise, NotYet, run

MODEL = "smollm2:135m"
PROMPTS = ("The capital of France is", "Water freezes at a temperature of")
# scale 1, so x / d lands exactly on halves: ggml rounds them away from zero, numpy's round to even
HALVES = np.array([127.0] + [sign * (n + 0.5) for n in range(15) for sign in (1, -1)] + [-126.0], dtype=np.float32)


def _reference(prompt: str, k: int) -> list[list[tuple[str, float]]]:
    """Top-k next tokens from llama.cpp, without and with a BOS token in front."""
    from labkit import models
    from labkit.engines.llamacpp import load
    from labkit.engines.tokens import last_logits, softmax

    llm = load(models.path(MODEL), n_ctx=256, seed=0)
    out = []
    for bos in (False, True):
        llm.reset()
        llm.eval(llm.tokenize(prompt.encode(), add_bos=bos, special=True))
        probs = softmax(last_logits(llm))
        top = np.argsort(probs)[::-1][:k]
        out.append([(llm.detokenize([int(t)], special=True).decode("utf-8", errors="replace"), float(probs[t]))
                    for t in top])
    llm.close()
    return out


def _same(pairs: list[tuple[str, float]], reference: list[tuple[str, float]]) -> bool:
    """The same tokens in the same order, each probability within 0.01."""
    return [t for t, _ in pairs] == [t for t, _ in reference] and \
        all(abs(p - q) < 0.01 for (_, p), (_, q) in zip(pairs, reference))


def _pairs(got: Any, k: int) -> list[tuple[str, float]]:
    """The learner's reply as k (token, probability) pairs, or "not yet" saying what is off."""
    try:
        pairs = [(str(token), float(p)) for token, p in got]
    except (TypeError, ValueError):
        raise NotYet(f"return a list of (token text, probability) pairs; you returned {got!r:.120}") from None
    if len(pairs) != k:
        raise NotYet(f"asked for k={k} tokens, got {len(pairs)}")
    if any(p < 0 for _, p in pairs):
        raise NotYet("negative values are log-probabilities or raw logits: turn logits into probabilities with "
                     "a softmax (exp(x - max) / sum)")
    if any(p > 1 for _, p in pairs):
        raise NotYet("values above 1 are raw logits: apply a softmax to get probabilities")
    return pairs


def top_tokens(function: Any) -> tuple[bool, str]:
    """03.1: ``top_tokens(prompt, k)`` with the raw llama-cpp-python API, on two prompts."""
    k, firsts = 5, []
    for prompt in PROMPTS:
        pairs = _pairs(run(function, prompt, k), k)
        references = _reference(prompt, k)
        firsts.append(references[0][0])
        if any(_same(pairs, reference) for reference in references):
            continue
        reference = references[0]
        if [t for t, _ in pairs] != [t for t, _ in reference]:
            raise NotYet(f"after {prompt!r} llama.cpp ranks {[t for t, _ in reference]}; you returned "
                         f"{[t for t, _ in pairs]}. Evaluate the prompt you are given, sort by probability, highest "
                         "first, and read the logits of the LAST position")
        raise NotYet(f"after {prompt!r}, the right tokens, but the probabilities differ: use temperature 1 (plain "
                     "softmax of the logits)")
    return True, (f"the same {k} tokens and probabilities as the kit's wrapper: {firsts[0][0]!r} first after "
                  f"{PROMPTS[0]!r} with p = {firsts[0][1]:.2f}. The raw API is three calls: tokenize, eval, read the "
                  "logits of the last position.")


def q8_0_block(function: Any) -> tuple[bool, str]:
    """03.2: ``quantize_block_q8_0(values)`` -> 34 bytes, byte for byte as llama.cpp stores Q8_0."""
    from labkit.quant import blocks, errors

    rng = np.random.default_rng(0)
    weights, _ = errors.course_tensor(MODEL)
    tests = [rng.standard_normal(32).astype(np.float32), np.linspace(-1, 1, 32, dtype=np.float32),
             weights.reshape(-1)[:32].astype(np.float32), np.array([0.5, -0.5] * 16, dtype=np.float32) / 127 * 3,
             HALVES]
    for values in tests:
        got = run(function, values.copy())
        data = bytes(got) if not isinstance(got, np.ndarray) else got.astype(np.uint8).tobytes()
        expected = blocks.quantize_q8_0(values).tobytes()
        if len(data) != 34:
            hint = " (a float32 scale takes 4 bytes; Q8_0 stores it as float16)" if len(data) == 36 else ""
            raise NotYet(f"a Q8_0 block is 34 bytes (a 2-byte scale + 32 one-byte weights); yours has {len(data)}"
                         + hint)
        if data[:2] != expected[:2]:
            raise NotYet("the scale (first 2 bytes) differs: d = max(|x|) / 127, stored as float16 "
                         "(np.float16(d).tobytes())")
        if data != expected:
            diff = sum(a != b for a, b in zip(data[2:], expected[2:]))
            raise NotYet(f"{diff} of the 32 weights differ: q = round(x / d) as int8, where a half rounds away "
                         "from zero (ggml's roundf; numpy's round sends 0.5 to the even number)")
    return True, "byte for byte what llama.cpp writes: 34 bytes for 32 weights, 8.5 bits per weight."


def q3_larger(answer: Any) -> tuple[bool, str]:
    """03.3: why Q3_K_M can be larger than Q4_0 for this model."""
    choice = str(answer).strip().lower()[:1]
    if choice == "a":
        return True, ("K-quants work in super-blocks of 256 weights; SmolLM2's rows of 576 are not a multiple of "
                      "256, so most 'Q3_K' tensors fall back to Q4_0/Q5_0, and Q3_K_M keeps some Q5/Q6 types.")
    if choice == "b":
        return False, "Q3_K really is about 3.4 bits per weight where it applies; look at which types the file holds."
    if choice == "c":
        return False, "every file carries the same ~1.8 MB header; that cannot make one level larger than another."
    return False, "answer 'a', 'b' or 'c'"


EXERCISES = {
    "03.1": Exercise("Write top_tokens(prompt, k) with the raw llama-cpp-python API.", top_tokens),
    "03.2": Exercise("Write quantize_block_q8_0(values): 32 floats to 34 bytes.", q8_0_block),
    "03.3": Exercise("Why is this model's Q3_K_M file larger than its Q4_0 file?", q3_larger),
}
