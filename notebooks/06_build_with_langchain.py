# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Build with LangChain, locally
#
# Lessons 02–04 ran one model on three engines, one engine at a time. Here you compose: one
# LangChain chain that runs unchanged on all three, answers that come back as validated Python
# objects, a model that calls your Python function, and many requests at once.
#
# **You will learn to**
# - build an LCEL chain (`prompt | model | parser`) and swap the engine under it in one line, and
#   know what does *not* carry over (context settings, chat templates, stop tokens) and check
#   what does (streaming);
# - get validated objects with `with_structured_output` (a JSON schema turned into a grammar), and
#   add a fallback for an engine that has no grammar;
# - give a model tools with `bind_tools`, run a minimal agent loop, and measure how often a small
#   model calls a tool when it should, and when it should not;
# - use `ainvoke`, `astream` and `abatch`, and measure what concurrency does on this machine.
#
# **Time:** about 30 minutes, plus 15 for the exercises.

# %%
import asyncio
import os
import time

import pandas as pd

from labkit import engines
from labkit.course.claims import claim, say
from labkit.ollama import ensure_server

base_url = ensure_server()
os.environ["OLLAMA_HOST"] = base_url  # ChatOllama (through engines.chat_model) reads this

# %% [markdown]
# ## 1. One chain, three engines
#
# LCEL composes *runnables* with `|`: a prompt template fills in the messages, the chat model
# answers, a parser turns the message into a string. `engines.chat_model(engine)` returns the
# real LangChain class for each engine — `ChatOllama`, `ChatLlamaCpp`, `ChatHuggingFace` — set
# up alike (greedy, the same context and answer length), so the swap is one line.

# %%
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

prompt = ChatPromptTemplate.from_messages([("system", "You answer in one short sentence."), ("human", "{question}")])
chat_models = {name: engines.chat_model(name, max_tokens=32) for name in engines.ENGINES}

rows = []
for name, llm in chat_models.items():
    chain = prompt | llm | StrOutputParser()  # the same chain; only the model differs
    chain.invoke({"question": "Say hi."})  # warm up: the first call loads weights and caches
    start = time.perf_counter()
    answer = chain.invoke({"question": "What is the capital of France?"})
    seconds = time.perf_counter() - start
    pieces = list(chain.stream({"question": "What is the capital of France?"}))
    try:
        stopped = (prompt | llm.bind(stop=["."]) | StrOutputParser()).invoke({"question": "What is the capital of France?"})
        honoured = "yes" if "." not in stopped else "no"
    except Exception as exc:  # an engine may refuse the argument
        honoured = f"error: {type(exc).__name__}"
    rows.append({"engine": name, "class": type(llm).__name__, "answer": answer.strip(), "seconds": seconds,
                 "stream pieces": len(pieces), "stop ['.'] honoured": honoured})
swap = pd.DataFrame(rows).set_index("engine")
swap.round(2)

# %%
streaming = [name for name, row in swap.iterrows() if row["stream pieces"] > 1]
same = swap["answer"].nunique() == 1
say("The chain ran unchanged on all three engines. {same} Streaming came token by token from {streaming}; "
    "{single} returned the whole answer as one piece.",
    same=("All three gave the same answer." if same else
          f"The answers differ: {swap['answer'].nunique()} different texts from one model, because each engine "
          "runs other weights (Q4_1 for the two llama.cpp-based ones, float32 for transformers) and its own code."),
    streaming=", ".join(streaming) or "none",
    single=", ".join(n for n in swap.index if n not in streaming) or "none");

# %%
honoured = [n for n, row in swap.iterrows() if row["stop ['.'] honoured"] == "yes"]
say("`stop=['.']`, bound with `llm.bind(stop=...)`, ended the answer at the first full stop on {yes}; on {no} "
    "the full stop was still in the answer. Check such an argument on each engine before a chain relies on it; "
    "a parsing step after the model (exercise 1 below) behaves the same everywhere.",
    yes=", ".join(honoured) or "no engine", no=", ".join(n for n in swap.index if n not in honoured) or "none");

# %% [markdown]
# What carries over and what does not:
#
# | | Ollama (`ChatOllama`) | llama.cpp (`ChatLlamaCpp`) | transformers (`ChatHuggingFace`) |
# |---|---|---|---|
# | context size | `num_ctx`, per request; too long → oldest tokens **silently** dropped | `n_ctx`, fixed at load; too long → an error | no setting: the model's own limit |
# | chat template | applied by the server | applied by llama-cpp-python from the GGUF | applied from the tokenizer |
# | end of the answer | the model's end-of-turn token, read by the server | the same token, from the GGUF | the same token, from the generation config |
# | where it runs | another process (a crash stays there) | your process | your process |
#
# The chain itself — prompt, parser, `invoke`/`stream`/`batch` — is portable. Settings are not: a
# chain tuned with `num_ctx=8192` on Ollama needs `n_ctx=8192` at *load* time on llama.cpp. Nor is
# every argument, as the last column of the table shows:

# %% [markdown]
# ## 2. Structured output: objects, not text
#
# `with_structured_output(Person)` sends the pydantic model's JSON schema to the engine. Ollama and
# llama.cpp turn a schema into a **grammar**: at every token the sampler may only pick tokens that
# keep the output valid JSON of that shape, so it always parses. The values are still the model's
# own skill. transformers has no grammar here, so that path asks for JSON in the prompt and parses
# (`PydanticOutputParser`), and a **fallback** hands a failure to a grammar-backed engine.

# %%
from langchain_core.output_parsers import PydanticOutputParser
from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel, Field


class Person(BaseModel):
    """A person mentioned in the text."""

    name: str = Field(description="the person's first name")
    age: int = Field(description="the person's age in years")


SENTENCES = [("Alice is 34 years old.", "Alice", 34), ("My neighbour Tom turned 58 last week.", "Tom", 58),
             ("Priya, aged 27, runs the bakery.", "Priya", 27), ("Grandpa Joe is 81 and still cycles.", "Joe", 81),
             ("At 19, Maria moved to Lisbon.", "Maria", 19), ("Ken celebrated his 40th birthday.", "Ken", 40),
             ("The new intern, Sam, is 22.", "Sam", 22), ("Olga has been 65 since March.", "Olga", 65)]
parser = PydanticOutputParser(pydantic_object=Person)
ask_json = ChatPromptTemplate.from_messages(
    [("system", "Extract the person. {format}"), ("human", "{text}")]).partial(format=parser.get_format_instructions())
extractors = {
    "ollama (grammar)": chat_models["ollama"].with_structured_output(Person),
    "llama.cpp (grammar)": chat_models["llama.cpp"].with_structured_output(Person),
    "transformers (parser)": RunnableLambda(lambda text: {"text": text}) | ask_json | chat_models["transformers"] | parser,
}
fallbacks_used = []
extractors["transformers, fallback to llama.cpp"] = extractors["transformers (parser)"].with_fallbacks(
    [RunnableLambda(lambda text: fallbacks_used.append(text) or extractors["llama.cpp (grammar)"].invoke(text))])


def score(extract) -> tuple[int, int]:
    """(valid objects, objects with the right name and age) over SENTENCES."""
    valid = right = 0
    for text, name, age in SENTENCES:
        try:
            got = extract.invoke(text)
        except Exception:  # the parser's OutputParserException: not valid JSON of this shape
            continue
        valid += isinstance(got, Person)
        right += isinstance(got, Person) and got.name.lower() == name.lower() and got.age == age
    return valid, right


# %%
scores = {path: score(extractors[path]) for path in ("ollama (grammar)", "llama.cpp (grammar)",
                                                     "transformers, fallback to llama.cpp")}
# transformers alone: every sentence the fallback did not have to take (not run twice: it is the slow engine)
alone_valid = len(SENTENCES) - len(fallbacks_used)
scores["transformers (parser)"] = (alone_valid, None)
structured = pd.DataFrame([{"path": path, "valid": v, "right values": r, "of": len(SENTENCES)}
                           for path, (v, r) in scores.items()]).set_index("path")
structured

# %%
grammar_rows = structured.loc[["ollama (grammar)", "llama.cpp (grammar)"]]
claim("With a grammar every answer is a valid Person.", bool((grammar_rows["valid"] == len(SENTENCES)).all()),
      ", ".join(f"{p}: {v}/{len(SENTENCES)}" for p, v in grammar_rows["valid"].items()),
      "a grammar guarantees the shape; if this fails, the engine did not receive the schema")
say("Without one, transformers gave {v} valid objects of {n}; the fallback raised that to {f}. The values were "
    "right in {best} of {n} at best: the grammar fixes the form, not what a 135M-parameter model understands.",
    v=alone_valid, n=len(SENTENCES),
    f=structured.loc["transformers, fallback to llama.cpp", "valid"], best=int(structured["right values"].max()));

# %% [markdown]
# ## 3. Tools: the model calls your function
#
# `bind_tools` sends each tool's name, description and argument schema with the request; the
# model may answer with a **tool call** instead of text. Your code runs the function and sends the
# result back as a `ToolMessage`; the model then answers. That loop is all an "agent" is.
#
# Two things can go wrong with a small model: a call that is not well-formed (bad JSON, missing
# arguments), and a call at the wrong moment (or none at the right one). The kit's server removes
# the first with a grammar, as llama.cpp's server does: a call the model starts can only be
# well-formed. The second is the model's judgement. Measure both, over 20 questions that need the
# tool and 10 that do not:

# %%
from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool

WEATHER = {"Paris": "18 °C, sunny", "Oslo": "2 °C, snow", "Lima": "21 °C, cloudy"}


@tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return WEATHER.get(city, "12 °C, light rain")


CITIES = ["Paris", "London", "Tokyo", "Berlin", "Madrid", "Rome", "Cairo", "Lima", "Oslo", "Delhi"]
NEED = ([f"What is the weather in {c}?" for c in CITIES] + [f"Is it raining in {c} right now?" for c in CITIES[:5]]
        + [f"Use the tool to tell me the weather in {c}." for c in CITIES[5:]])
NO_NEED = ["What is 2 + 2?", "Write a haiku about the sea.", "Who wrote Hamlet?", "Say hello.",
           "What colour is the sky?", "Translate 'cat' into French.", "Name three fruits.",
           "What is the capital of Italy?", "Tell me a joke.", "Spell 'house'."]


def well_formed(message) -> bool:
    """One call of get_weather whose city is a string."""
    return any(c["name"] == "get_weather" and isinstance(c["args"].get("city"), str) for c in message.tool_calls)


# %% [markdown]
# `ChatOllama` cannot *require* a call: Ollama's API has no `tool_choice`, so the model decides.
# The OpenAI-style route `/v1/chat/completions` has one; on the kit's server,
# `tool_choice="any"` (`"required"`) constrains the whole answer to a call. `ChatOpenAI` speaks
# that route to a local server as well as to OpenAI.

# %%
from langchain_openai import ChatOpenAI

tool_paths = {
    "ChatOllama.bind_tools (model decides)": engines.chat_model("ollama", max_tokens=40).bind_tools([get_weather]),
    'ChatOpenAI /v1, tool_choice="any"': ChatOpenAI(base_url=f"{base_url}/v1", api_key="local", model="smollm2:135m",
                                                   temperature=0, max_tokens=40).bind_tools([get_weather],
                                                                                            tool_choice="any"),
}
rates = pd.DataFrame([{"path": path, "well-formed calls, need a tool": sum(map(well_formed, llm.batch(NEED))),
                       "of": len(NEED), "calls, need none": sum(bool(m.tool_calls) for m in llm.batch(NO_NEED)),
                       "of ": len(NO_NEED)} for path, llm in tool_paths.items()]).set_index("path")
rates

# %%
decides, forced = rates.iloc[0], rates.iloc[1]
cut = len(NO_NEED) - forced.iloc[2]
say("Left to decide, the model made {a} well-formed calls in {n} questions that needed one, and {fa} in {m} that "
    "did not. Forced, it called in {b} of {n}, and in {fb} of {m} that needed no tool: a forced answer is always a "
    "call{cut}. A 135M-parameter model cannot judge when a tool is needed; forcing is right only where your code "
    "already knows it is (a step of a workflow), and a larger model earns the freedom to decide.",
    a=decides.iloc[0], n=len(NEED), fa=decides.iloc[2], m=len(NO_NEED), b=forced.iloc[0], fb=forced.iloc[2],
    cut="" if not cut else (f" (the other {cut} ran out of `max_tokens` inside the call's arguments, inventing a "
                           "long city name, so no complete call came back)"));

# %% [markdown]
# Is it the prompt? `python bench/tool_formats.py` asks the same questions in six prompt formats
# (the kit's, SmolLM2's own function-calling prompt, llama.cpp's "tool call or reply" JSON, a yes/no
# question first, forced) and prints each one's calls, false calls and balanced accuracy (0.50 is a
# coin). Run it and see whether any format lets this model decide.
#
# The loop: force the call, run the function, send its result back, and let the model answer
# without tools. A system message tells it to answer in one sentence from the tool's result.

# %%
caller = tool_paths['ChatOpenAI /v1, tool_choice="any"']
answerer = engines.chat_model("ollama", max_tokens=48)


def ask(question: str) -> str:
    messages = [SystemMessage("Answer the user in one sentence, using the tool results."), HumanMessage(question)]
    request = caller.invoke(messages)  # an AIMessage with tool_calls
    messages.append(request)
    for call in request.tool_calls:
        result = get_weather.invoke(call["args"])  # your code runs the tool, not the model
        print(f"  tool call: get_weather({call['args']}) -> {result!r}")
        messages.append(ToolMessage(result, tool_call_id=call["id"]))
    return answerer.invoke(messages).content


for question in ["What is the weather in Oslo?", "Should I take an umbrella in Paris today?"]:
    print(question)
    print("  answer:", ask(question))

# %% [markdown]
# ## 4. Async and concurrency
#
# Every LangChain model has `ainvoke`, `astream` and `abatch`: the same calls, awaited, so a web
# app or a notebook can wait for many at once. The server decodes concurrent requests together (up
# to `OLLAMA_NUM_PARALLEL` at a time, lesson 02), so concurrency changes both each request's
# latency and the total throughput. Eight questions, one after another and then all at once:

# %%
llm = engines.chat_model("ollama", max_tokens=48)
questions = [f"Give one fact about the number {n}." for n in range(1, 9)]


async def timed(question: str) -> tuple[float, int]:
    start = time.perf_counter()
    reply = await llm.ainvoke(question)
    return time.perf_counter() - start, reply.usage_metadata["output_tokens"]


start = time.perf_counter()
one_by_one = [await timed(q) for q in questions]
sequential_s = time.perf_counter() - start
start = time.perf_counter()
together = await asyncio.gather(*(timed(q) for q in questions))
concurrent_s = time.perf_counter() - start
first = None
start = time.perf_counter()
async for piece in llm.astream(questions[0]):
    first = first or time.perf_counter() - start

concurrency = pd.DataFrame([
    {"how": "one after another (await each)", "wall s": sequential_s,
     "mean latency s": sum(t for t, _ in one_by_one) / 8, "tokens/s, all": sum(n for _, n in one_by_one) / sequential_s},
    {"how": "all at once (asyncio.gather / abatch)", "wall s": concurrent_s,
     "mean latency s": sum(t for t, _ in together) / 8, "tokens/s, all": sum(n for _, n in together) / concurrent_s},
]).set_index("how")
concurrency.round(2)

# %%
seq, conc = concurrency.iloc[0], concurrency.iloc[1]
say("All at once, the eight answers took {c:.1f} s instead of {s:.1f} s ({gain} the throughput), while each "
    "request waited {lc:.2f} s on average instead of {ls:.2f} s: the server shares each step among them. "
    "`astream` showed the first piece after {first:.2f} s.",
    c=conc["wall s"], s=seq["wall s"], gain=f"{conc['tokens/s, all'] / seq['tokens/s, all']:.1f}×",
    lc=conc["mean latency s"], ls=seq["mean latency s"], first=first);

# %% [markdown]
# `llm.abatch(questions)` does the same as the `gather` above in one call (with
# `config={"max_concurrency": n}` to cap it).
#
# ## Recall
#
# > A chain is `prompt | model | parser`; the model is the one line that changes between engines,
# > but context size, templates and stop handling belong to each engine. A grammar makes structured
# > output and tool calls well-formed; whether the values or the decision to call are right is the
# > model's skill, so measure it. Async calls let a server batch your requests.
#
# ## Exercises
#
# 1. Write `one_word_chain(llm)`: a chain `prompt | llm | parser` that answers a `{question}` with
#    **one lowercase word** and no punctuation, whatever the model writes around it, and the word
#    must answer the question. The check runs your chain on two engines with two questions whose
#    answers it knows.

# %% jupyter={"source_hidden": true} tags=["solution"]
import re


def one_word_chain(llm):
    """Show the model three one-word answers, then keep one clean word: the last of its first sentence."""
    ask_one = ChatPromptTemplate.from_messages([
        ("system", "You answer every question with a single word."),
        ("human", "What is the capital of Italy?"), ("ai", "Rome"),
        ("human", "What colour is a lemon?"), ("ai", "Yellow"),
        ("human", "Which animal says woof?"), ("ai", "Dog"),
        ("human", "{question}")])

    def one_word(text: str) -> str:
        words = re.findall(r"[a-z0-9'-]+", re.split(r"[.!?\n]", text.strip().lower())[0])
        return words[-1] if words else "unknown"

    return ask_one | llm | StrOutputParser() | RunnableLambda(one_word)


# %%
from labkit.course import check

check.answer("06.1", one_word_chain);

# %% [markdown]
# 2. Write `call_rate(llm, prompts)`: the share (0 to 1) of `prompts` for which `llm.invoke`
#    returns at least one **well-formed** call of `get_weather` (its `city` a string). The check
#    runs it on the two tool paths above with a few prompts.

# %% jupyter={"source_hidden": true} tags=["solution"]
def call_rate(llm, prompts: list[str]) -> float:
    """Share of prompts answered with a usable get_weather call."""
    replies = llm.batch(prompts)
    return sum(well_formed(reply) for reply in replies) / len(prompts)


# %%
check.answer("06.2", call_rate);

# %% [markdown]
# 3. The loop in section 3 sends two requests per question: `caller` (tools bound with
#    `tool_choice="any"`) and then `answerer`, a model with no tools at all. Why not send the tool
#    result back to `caller` for the answer? Answer `"a"`, `"b"` or `"c"`:
#    - a) `caller` cannot read a `ToolMessage`: only a model without tools understands tool results;
#    - b) `caller`'s every answer is held to a call, so it would call again instead of replying in words;
#    - c) it would work as well; two models only make the loop faster.

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_3 = "b"

# %%
check.answer("06.3", answer_3);

# %% [markdown]
# Solutions with explanations: `notebooks/solutions/06_build_with_langchain.md`.
#
# ## Where to go next
#
# `07_private_assistant` builds a document assistant from these pieces: embeddings, a vector store,
# a retrieval chain, and a proof that nothing leaves the machine.
