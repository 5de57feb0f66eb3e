"""Self-checks of notebooks/00_start_here."""

from __future__ import annotations

from typing import Any

from labkit.course.check import Exercise, NotYet, close, number, run

QUESTIONS = ("What is the capital of France? Answer in one word.", "What colour is the sky?")


def bits_per_weight(function: Any) -> tuple[bool, str]:
    """00.1: ``bits_per_weight(name)`` for every model in the store."""
    from labkit import models

    for name in models.names():
        entry = models.info(name)
        expected = entry.size * 8 / entry.parameters
        got = number(run(function, name), "bits per weight")
        if close(got, expected, 0.01):
            continue
        if close(got, expected / 8, 0.01):
            raise NotYet(f"{name}: {got:.3f} is bytes per weight; multiply by 8 for bits")
        if got in (4.5, 5.0, 4.84):
            raise NotYet(f"{name}: {got} is a quantization format's nominal figure; use the file's size")
        raise NotYet(f"{name}: expected about {expected:.2f}, got {got:.2f}. Bits per weight = file bytes x 8 / "
                     "parameters (models.info(name).size and .parameters)")
    smol = models.info("smollm2:135m")
    return True, (f"e.g. {smol.size * 8 / smol.parameters:.2f} for smollm2:135m: more than Q4_1's 5.0 because "
                  "some tensors stay at higher precision and the file carries the vocabulary.")


def greedy_answers(questions: tuple[str, ...]) -> list[str]:
    """The reference: the course model's greedy chat answers through llama.cpp, as the exercise asks."""
    from labkit import models
    from labkit.engines.llamacpp import load

    llm = load(models.path("smollm2:135m"), n_ctx=512, seed=0)
    replies = [llm.create_chat_completion(messages=[{"role": "user", "content": question}], temperature=0.0,
                                          max_tokens=32) for question in questions]
    llm.close()
    return [reply["choices"][0]["message"]["content"].strip() for reply in replies]


def ask(function: Any) -> tuple[bool, str]:
    """00.2: ``ask(question)`` answers greedily through llama.cpp with the chat template.

    Two questions with different answers, so a function that returns one fixed text (or ignores
    its argument) cannot pass.
    """
    expected = greedy_answers(QUESTIONS)
    for question, reference in zip(QUESTIONS, expected):
        got = run(function, question)
        if not isinstance(got, str):
            raise NotYet(f"return the answer's text (a str); you returned {type(got).__name__}")
        got = got.strip()
        if got == reference:
            continue
        if got in expected:
            raise NotYet(f"asked {question!r}, your function answered {got!r}: the answer to another question. "
                         "Send the question you are given (the argument), not a fixed text")
        if reference.startswith(got) and got:
            raise NotYet("your answer stops early: allow up to 32 tokens (max_tokens=32)")
        raise NotYet(f"greedy decoding with the chat template answers {question!r} with {reference!r}; yours "
                     f"said {got!r}. Use create_chat_completion (it applies the chat template) with temperature=0.")
    return True, f"greedy decoding gives the same answer every time: {expected[0]!r}."


def register_name(answer: Any) -> tuple[bool, str]:
    """00.3: the Ollama-style name for Llama 3.2 3B."""
    from labkit.models.registry import NAME_PATTERN

    text = str(answer).strip()
    if text == "llama3.2:3b":
        return True, "model name, then ':' and a tag for the size: the names Ollama's library uses."
    if text != text.lower() or not NAME_PATTERN.fullmatch(text):
        return False, "names are lower case: letters, digits, '.', '_' or '-', with an optional ':tag'."
    family, _, tag = text.partition(":")
    if family != "llama3.2":
        return False, (f"{family!r} is not how Ollama's library writes the family: the model's name and version "
                       "run together, without a hyphen (as in 'smollm2' or 'gemma3').")
    if not tag:
        return False, "a valid name, but Ollama's library calls the 3B size of Llama 3.2 by a tag after ':'."
    if tag.startswith("3b-"):
        return False, "the library has such longer tags too, but the plain size ('3b') names its default download."
    return False, f"':{tag}' is not the 3B size: the tag after ':' names the size of the download you have."


EXERCISES = {
    "00.1": Exercise("Write bits_per_weight(name) for any model in the store.", bits_per_weight),
    "00.2": Exercise("Write ask(question): a greedy answer from llama.cpp with the chat template.", ask),
    "00.3": Exercise("Under which Ollama-style name would you register Llama 3.2 3B?", register_name),
}
