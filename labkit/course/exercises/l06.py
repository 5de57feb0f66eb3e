"""Self-checks of notebooks/06_build_with_langchain."""

from __future__ import annotations

import re
from typing import Any

from labkit.course.check import Exercise, NotYet, run

ANSWERS = {"What colour is the sky on a clear day?": {"blue"}, "Which animal says meow?": {"cat", "cats", "kitten"}}
TOOL_PROMPTS = ["What is the weather in Paris?", "What is 2 + 2?", "Is it snowing in Oslo?", "Say hello."]


def _one_word(engine: str, question: str, out: Any) -> None:
    """"Not yet" unless the chain's output ``out`` is one lowercase word that answers ``question``."""
    if not isinstance(out, str):
        raise NotYet(f"on {engine} the chain returned {type(out).__name__}, not a string: end it with a "
                     "parser (StrOutputParser, then your own step)")
    if not re.fullmatch(r"[a-z0-9'-]+", out):
        raise NotYet(f"on {engine}, {question!r} gave {out!r}: not one lowercase word without punctuation. "
                     "A prompt asks; only a parsing step (a RunnableLambda) guarantees it")
    if out not in ANSWERS[question]:
        expected = " or ".join(repr(word) for word in sorted(ANSWERS[question]))
        where = ("a word of the question, not its answer" if out in re.findall(r"[a-z0-9'-]+", question.lower())
                 else "one clean word, but not the answer")
        raise NotYet(f"on {engine}, {question!r} gave {out!r}: {where} (expected {expected}). Make the model "
                     "answer in one word (show it a question and its one-word answer in the prompt), and have "
                     "the parser keep the word that answers")


def one_word_chain(function: Any) -> tuple[bool, str]:
    """06.1: ``one_word_chain(llm)`` returns a chain whose output is the one-word answer, on two engines."""
    from labkit import engines

    seen = []
    for engine in ("ollama", "llama.cpp"):
        chain = run(function, engines.chat_model(engine, max_tokens=24))
        if not hasattr(chain, "invoke"):
            raise NotYet(f"return the chain (prompt | llm | parser); you returned {type(chain).__name__}")
        for question in ANSWERS:
            try:
                out = chain.invoke({"question": question})
            except Exception as exc:
                raise NotYet(f"on {engine}, invoking the chain with {{'question': ...}} failed: {exc}. Does your "
                             "prompt template use the variable {question}?") from None
            _one_word(engine, question, out)
            seen.append(f"{engine}: {out}")
    return True, ("the same chain gave the right word, clean, on both engines (" + "; ".join(seen) + "). The prompt "
                  "asks, the parser enforces: a small model does not always obey the prompt.")


def call_rate(function: Any) -> tuple[bool, str]:
    """06.2: ``call_rate(llm, prompts)`` = share of prompts with a well-formed get_weather call."""
    from langchain_core.caches import InMemoryCache
    from langchain_core.tools import tool
    from langchain_openai import ChatOpenAI

    from labkit import engines
    from labkit.engines.builders import ollama_base_url

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        return "sunny"

    seen = InMemoryCache()  # the check reads the very replies your function got, without asking again
    paths = {
        "qwen2.5-coder:0.5b decides": engines.ollama_chat("qwen2.5-coder:0.5b", num_ctx=2048, num_predict=64,
                                                          cache=seen).bind_tools([get_weather]),
        "forced": ChatOpenAI(base_url=f"{ollama_base_url()}/v1", api_key="local", model="smollm2:135m",
                             temperature=0, max_tokens=64, cache=seen).bind_tools([get_weather], tool_choice="any"),
    }
    found = []
    for name, llm in paths.items():
        got = run(function, llm, list(TOOL_PROMPTS))
        try:
            value = float(got)
        except (TypeError, ValueError):
            raise NotYet(f"return a number between 0 and 1; you returned {got!r}") from None
        if not 0 <= value <= 1:
            raise NotYet(f"a share is between 0 and 1; you returned {value}: divide by the number of prompts")
        replies = llm.batch(TOOL_PROMPTS)
        wanted = sum(any(c["name"] == "get_weather" and isinstance(c["args"].get("city"), str)
                         for c in r.tool_calls) for r in replies) / len(TOOL_PROMPTS)
        if abs(value - wanted) > 1e-9:
            hint = ("a reply counts only if its .tool_calls (a list) holds a call named get_weather whose args "
                    "hold a string city; text in .content is not a call") if value > wanted else (
                    "a reply with a call usually has empty text: look at .tool_calls, not .content")
            raise NotYet(f"on the '{name}' path your rate is {value:.2f}, but {wanted:.2f} of the replies hold a "
                         f"well-formed call; {hint}")
        found.append(f"{name}: {value:.2f}")
    return True, "right on both paths (" + ", ".join(found) + "): a model that decides calls for some prompts " \
                 "only; forced calls are always well-formed, but they come whether or not the question needed the tool."


def plain_agent(answer: Any) -> tuple[bool, str]:
    """06.3: what the plain create_agent run shows."""
    choice = str(answer).strip().lower()[:1]
    if choice == "b":
        return True, ("create_agent offers the tools on every turn, and a 0.5B model that has just read a result "
                      "tends to call again; nothing ends the loop but LangGraph's recursion limit. Rule 3 ends it: "
                      "when no new call is left, the model gets the facts and no tools, so it can only answer.")
    if choice == "a":
        return False, ("a ToolMessage is text in the prompt like any other message (the chat template writes it "
                       "as a tool response); the model reads it. What was it offered on the next turn?")
    if choice == "c":
        return False, ("get_weather is a dictionary lookup: it returns a string for any city and raises nothing. "
                       "Look at what the model did on each turn, not the tool")
    return False, "answer 'a', 'b' or 'c'"


EXERCISES = {
    "06.1": Exercise("Write one_word_chain(llm): a chain that answers with one lowercase word.", one_word_chain),
    "06.2": Exercise("Write call_rate(llm, prompts): the share of well-formed get_weather calls.", call_rate),
    "06.3": Exercise("What does the plain create_agent run tell you?", plain_agent),
}
