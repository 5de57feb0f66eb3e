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
# objects, models that call your Python functions (the course model and `qwen2.5-coder:0.5b`, the
# kit's model for tools, side by side), an agent, and many requests at once.
#
# **You will learn to**
# - build an LCEL chain (`prompt | model | parser`) and swap the engine under it in one line, and
#   know what does *not* carry over (context settings, chat templates, stop tokens) and check
#   what does (streaming);
# - get validated objects with `with_structured_output` (a JSON schema turned into a grammar), and
#   add a fallback for an engine that has no grammar;
# - give a model tools with `bind_tools` and measure, on two models, how often each calls the right
#   tool when it should and calls none when it should not; force a call where the engine allows it;
# - build an agent with LangChain's `create_agent`, and the middleware that makes a 0.5B model
#   dependable on it, measured per kind of task;
# - use `ainvoke`, `astream` and `abatch`, and measure what concurrency does on this machine.
#
# **Time:** about 30 minutes, plus 15 for the exercises.

# %%
import asyncio
import os
import re
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
             ("Priya, aged 27, runs the bakery.", "Priya", 27), ("Grandpa Joe is 81 and still cycles.", "Joe", 81)]
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
# ## 3. Tools: the model decides
#
# `bind_tools` sends each tool's name, description and argument schema with the request; the
# model may answer with a **tool call** instead of text. Your code runs the function and sends the
# result back as a `ToolMessage`; the model then answers.
#
# Two things can go wrong: a call that is not well-formed (bad JSON, missing arguments), and a call
# at the wrong moment, or none at the right one. The kit's server removes the first with a grammar,
# as llama.cpp's server does: once the model starts a call, it can only finish it well-formed. The
# second is the model's judgement, and it is what this section measures: two tools, 7 questions
# that need one of them and 6 that need none, on both chat models of the kit, through
# `ChatOllama.bind_tools`, the portable pattern that works unchanged on a real Ollama with a
# tool-capable model (there, `ollama pull qwen2.5-coder:0.5b` first: it fetches Ollama's own build of
# the model, not the kit's copy, so its decisions can differ). The tools' docstrings say what live data they return, and a system message
# states the policy: both change the small model's decisions (`bench/tool_decisions.py` measures
# each on prompts the course does not use).

# %%
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool

WEATHER = {"Paris": "18 °C, sunny", "Oslo": "-2 °C, snow", "Lima": "21 °C, cloudy", "Tokyo": "9 °C, rain",
           "Cairo": "31 °C, clear", "Berlin": "11 °C, windy", "Toronto": "4 °C, fog", "Madrid": "24 °C, sunny"}
RATES = {("USD", "EUR"): 0.92, ("USD", "GBP"): 0.79, ("EUR", "USD"): 1.09, ("GBP", "JPY"): 191.0}


@tool("get_weather", parse_docstring=True)
def get_weather(city: str) -> str:
    """Look up the weather in a city right now, from a live weather service.

    Args:
        city: the name of the city
    """
    return WEATHER.get(city.strip().title(), f"no weather for {city!r}: give a city's name")


@tool("convert_currency", parse_docstring=True)
def convert_currency(amount: float, from_currency: str, to_currency: str) -> str:
    """Convert an amount of money at today's exchange rate, from a live rates service.

    Args:
        amount: how much money to convert
        from_currency: the currency the amount is in, as an ISO code such as "USD"
        to_currency: the currency to convert to, as an ISO code such as "EUR"
    """
    rate = RATES.get((from_currency.upper(), to_currency.upper()))
    if rate is None:
        return f"no rate from {from_currency} to {to_currency}"
    return f"{amount:g} {from_currency.upper()} = {amount * rate:.2f} {to_currency.upper()}"


POLICY = "Call a tool only when the question needs live data that a tool provides; otherwise answer directly."
CITIES = ["Paris", "London", "Tokyo", "Berlin", "Madrid", "Rome", "Cairo", "Lima", "Oslo", "Delhi"]
NEED = ([f"What is the weather in {c}?" for c in CITIES[:2]] + [f"Is it raining in {c} right now?" for c in CITIES[3:4]]
        + [f"Use the tool to tell me the weather in {c}." for c in CITIES[6:7]])
NEED_MONEY = ["How many euros is 40 US dollars today?", "Convert 250 GBP to JPY.", "I have 75 dollars; how much is that in pounds?"]
NO_NEED = ["What is 2 + 2?", "Write a haiku about the sea.", "Say hello.", "What colour is the sky?",
           "Translate 'cat' into French.", "What is the capital of Italy?"]
CHAT_MODELS = ["smollm2:135m", "qwen2.5-coder:0.5b"]


def called(message) -> str | None:
    """The name of the first tool the reply calls, or None."""
    return message.tool_calls[0]["name"] if message.tool_calls else None


def decisions(model: str) -> dict:
    """Right tool, false calls and balanced accuracy of one model deciding, on the prompts above."""
    llm = engines.ollama_chat(model, num_ctx=2048, num_predict=48).bind_tools([get_weather, convert_currency])
    asked = [(q, "get_weather") for q in NEED] + [(q, "convert_currency") for q in NEED_MONEY] + [(q, None) for q in NO_NEED]
    start = time.perf_counter()
    replies = llm.batch([[SystemMessage(POLICY), HumanMessage(q)] for q, _ in asked])
    seconds = time.perf_counter() - start
    false_calls[model] = [f"{q} → {called(r)}" for r, (q, tool_name) in zip(replies, asked) if tool_name is None and called(r)]
    right = sum(called(r) == tool_name for r, (_, tool_name) in zip(replies, asked) if tool_name)
    false = sum(called(r) is not None for r, (_, tool_name) in zip(replies, asked) if tool_name is None)
    need, none = len(NEED) + len(NEED_MONEY), len(NO_NEED)
    return {"model": model, "right tool": right, "of": need, "false calls": false, "of ": none,
            "balanced accuracy": (right / need + (none - false) / none) / 2, "s per answer": seconds / len(asked)}


false_calls: dict[str, list[str]] = {}
deciding = pd.DataFrame([decisions(model) for model in CHAT_MODELS]).set_index("model")
deciding.round(2)

# %%
small, capable = deciding.loc["smollm2:135m"], deciding.loc["qwen2.5-coder:0.5b"]
say("Deciding for itself, SmolLM2-135M chose the right tool for {sr} of {n} questions that needed one and called "
    "a tool for {sf} of {m} that did not (balanced accuracy {sb:.2f}; 0.50 is a coin). Qwen2.5-Coder-0.5B chose "
    "right {qr} times of {n}, with {qf} false calls of {m} (balanced accuracy {qb:.2f}), at {ratio} the time per "
    "answer. {verdict}",
    sr=int(small["right tool"]), n=int(small["of"]), sf=int(small["false calls"]), m=int(small["of "]),
    sb=small["balanced accuracy"], qr=int(capable["right tool"]), qf=int(capable["false calls"]),
    qb=capable["balanced accuracy"],
    ratio=f"{capable['s per answer'] / small['s per answer']:.1f}×",
    verdict=(("The larger model is the one that can decide" if capable["balanced accuracy"] > small["balanced accuracy"]
              + 0.1 else "Here the two decide about equally well; look at which questions each got wrong") + (
        ", and it pays for that in time: every token reads more weights." if capable["s per answer"] > small["s per answer"]
        else "; it was not slower here, which happens when other work shares the CPU (the course model's answers "
             "waited): run the cell again on a quiet machine.")))
say("Qwen's false calls: {calls}.", calls="; ".join(false_calls["qwen2.5-coder:0.5b"]) or "none");

# %% [markdown]
# A false call here is a question with no live data in it answered with a call anyway: the policy
# and the tools' descriptions lower their number (`bench/tool_decisions.py` measures each on prompts
# the course does not use) but do not remove them. A 135M model carries little signal to decide from. Qwen2.5-Coder-0.5B was trained on tool calls;
# it writes them as bare JSON (`{"name": "get_weather", "arguments": {...}}`) rather than in the
# `<tool_call>` tags its template asks for, and the kit's server reads that form as llama.cpp's
# server does. Is it the prompt? `python bench/tool_formats.py --model NAME` asks this section's
# questions in six prompt formats and prints each one's calls and false calls.
#
# ## 4. Forcing a call: where it really works
#
# Where your code already knows a tool must be called (a step of a workflow), you can require a
# call, whatever the model would have chosen. How depends on where the model runs:
#
# | where | how to force | what happens |
# |---|---|---|
# | in your process, `ChatLlamaCpp` | `bind_tools(tools, tool_choice={"type": "function", "function": {"name": ...}})` | llama-cpp-python turns the tool's schema into a grammar: the answer is that call |
# | the kit's server, `/v1/chat/completions` (`ChatOpenAI`) | `tool_choice="any"` / `"required"`, or a named tool | the server holds the answer to a call by grammar |
# | llama.cpp's `llama-server --jinja`, `/v1/chat/completions` | `tool_choice="required"` | the same, in C++ |
# | a real Ollama (`ChatOllama`, `/api/chat` or `/v1`) | no way: Ollama's API has no `tool_choice`, and its `/v1` ignores it | the model decides |
#
# Both of this machine's ways, on the course model, over three questions that need the tool and
# three that do not:

# %%
from langchain_openai import ChatOpenAI

force_get_weather = {"type": "function", "function": {"name": "get_weather"}}
forcing = {
    "ChatLlamaCpp, tool_choice={... 'name': 'get_weather'}":
        chat_models["llama.cpp"].bind_tools([get_weather], tool_choice=force_get_weather),
    "ChatLlamaCpp, tool_choice='get_weather' (a bare name)":
        chat_models["llama.cpp"].bind_tools([get_weather], tool_choice="get_weather"),
    "ChatOpenAI to the kit's /v1, tool_choice='any'":
        ChatOpenAI(base_url=f"{base_url}/v1", api_key="local", model="smollm2:135m", temperature=0,
                   max_tokens=96).bind_tools([get_weather], tool_choice="any"),  # room for an invented city
}
one_at_a_time = {"max_concurrency": 1}  # one in-process model must not run two requests at once
force_questions = NEED[:3] + NO_NEED[:3]
replies = {path: llm.batch(force_questions, one_at_a_time) for path, llm in forcing.items()}
forced = pd.DataFrame([{"path": path, "calls, need the tool": sum(bool(m.tool_calls) for m in got[:3]),
                        "calls, need none": sum(bool(m.tool_calls) for m in got[3:]), "of": 3}
                       for path, got in replies.items()]).set_index("path")
forced

# %%
grammar_paths = forced.drop(index="ChatLlamaCpp, tool_choice='get_weather' (a bare name)")
claim("Forced, every answer is a call, needed or not.", bool((grammar_paths.iloc[:, :2] == 3).all().all()),
      ", ".join(f"{p}: {row.iloc[0]} + {row.iloc[1]} of 6" for p, row in grammar_paths.iterrows()),
      "a forced call comes from a grammar; if this fails, the engine did not receive the tool choice")
bare = forced.loc["ChatLlamaCpp, tool_choice='get_weather' (a bare name)"]
say("`ChatLlamaCpp` accepts `tool_choice='get_weather'` (its docstring allows a name) but passes it on as it is, "
    "and llama-cpp-python forces a call only for the dict form: with the bare name the model made {n} calls in 6 "
    "questions. Check that a forced path really calls before your code relies on it.",
    n=int(bare.iloc[0] + bare.iloc[1]));

# %% [markdown]
# Forcing guarantees the form, never the judgement: the course model forced to call `get_weather`
# for "Write a haiku about the sea" invents a city. Force only where the call is already decided.
#
# ## 5. An agent
#
# An agent is that loop run by the model: call tools, read their results, call again or answer.
# LangChain 1.x's `create_agent` builds it on LangGraph (it replaces LangGraph's prebuilt
# `create_react_agent`, and adds *middleware*: code that runs around each model call, which is
# what a small model needs). We give it three tools and twelve tasks of three kinds: one call,
# two independent calls, and a call that needs another's result (SmolLM2, the contrast, gets the
# first of each kind, to keep the lesson short).

# %%
from langchain.agents import create_agent

OFFICES = {"ana": "Lima", "ben": "Oslo", "chloe": "Cairo", "dev": "Toronto"}


@tool("find_office", parse_docstring=True)
def find_office(person: str) -> str:
    """Look up which city a colleague's office is in, from the company directory. Returns the city's name.

    Args:
        person: the colleague's first name
    """
    return OFFICES.get(person.strip().lower().removesuffix("'s"), f"nobody called {person!r}")


AGENT_TOOLS = [get_weather, convert_currency, find_office]
TASKS = [  # (kind, task, what a right answer must contain)
    ("one call", "What is the weather in Lima?", ["21"]),
    ("one call", "Convert 50 USD to EUR.", ["46"]),
    ("one call", "In which city is Ben's office?", ["Oslo"]),
    ("one call", "What temperature is it in Tokyo?", ["9"]),
    ("two calls", "What is the weather in Paris and in Oslo?", ["18", "-2"]),
    ("two calls", "Compare the weather in Cairo and Berlin.", ["31", "11"]),
    ("two calls", "Convert 100 USD to EUR and 100 USD to GBP.", ["92", "79"]),
    ("two calls", "In which cities are Ana's and Chloe's offices?", ["Lima", "Cairo"]),
    ("one needs another", "What is the weather at Ana's office?", ["21"]),
    ("one needs another", "What temperature is it where Ben works?", ["-2"]),
    ("one needs another", "What is the weather in the city of Dev's office?", ["4"]),
    ("one needs another", "How warm is it at Chloe's office today?", ["31"]),
]


def answered(answer: str, facts: list[str]) -> bool:
    """Every fact in the answer as a whole token ("21" in "21 °C", not in "121")."""
    return all(re.search(rf"(?<![\w.-]){re.escape(fact)}(?![\w])", answer) for fact in facts)


# %% [markdown]
# First, `create_agent` as it comes, with the capable model, on the first task. LangGraph stops a
# graph that runs more than `recursion_limit` steps:

# %%
from langgraph.errors import GraphRecursionError

plain_agent = create_agent(engines.ollama_chat("qwen2.5-coder:0.5b", num_ctx=2048, num_predict=64), AGENT_TOOLS)
start = time.perf_counter()
try:
    plain_answer = plain_agent.invoke({"messages": [("human", TASKS[0][1])]}, {"recursion_limit": 4})
    plain_outcome = f"answered: {plain_answer['messages'][-1].content!r}"
except GraphRecursionError:
    plain_outcome = "no answer: it stopped at the recursion limit"
plain_seconds = time.perf_counter() - start
print(f"{TASKS[0][1]} -> {plain_outcome} ({plain_seconds:.1f} s)")

# %% [markdown]
# A 0.5B model that has just read a tool's result tends to call a tool again, the same one or
# another with invented arguments, instead of answering. Three rules, in one middleware, make it
# dependable:
#
# 1. **Plan first.** The first turn is held by a grammar to a JSON *list* of calls
#    (`plan_schema`): the model names every call it needs at once, so "Paris and Oslo" can become
#    two calls in one turn (parallel calls).
# 2. **Only new calls, only of what was said.** A call made before, or one whose arguments appear
#    neither in the question nor in a tool's result (a city nobody named), is dropped. After the
#    plan the model may call again, once, for what a result revealed (the city of Ana's office).
# 3. **Answer without tools, from the facts.** When no call is left, the model gets the question
#    and the tool results written out as plain facts, and no tools: it can only answer.

# %%
from langchain.agents.middleware import ModelRequest, ModelResponse, wrap_model_call

PLAN = "List the tool calls that answer the question, as a JSON list of calls, one call for each thing it asks about."
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def plan_schema(tools) -> dict:
    """A JSON list of one to four calls of these tools: the grammar the first turn is held to."""
    calls = [{"type": "object", "required": ["name", "arguments"],
              "properties": {"name": {"const": t.name}, "arguments": t.tool_call_schema.model_json_schema()}}
             for t in tools]
    return {"type": "array", "items": {"anyOf": calls}, "minItems": 1, "maxItems": 4}


def was_said(value, text: str) -> bool:
    """Whether an argument appears in the text: a number as a number, anything else as words."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return any(float(n) == value for n in NUMBER.findall(text))
    return str(value).strip().lower() in text.lower()


def small_model_policy(model: str, rounds: int = 2):
    """The three rules above as create_agent middleware, for ``model``."""
    planner = engines.ollama_chat(model, num_ctx=2048, num_predict=96, format=plan_schema(AGENT_TOOLS))

    @wrap_model_call
    def policy(request: ModelRequest, handler) -> ModelResponse:
        question = request.messages[0].text
        results = [m for m in request.messages if isinstance(m, ToolMessage)]
        made = [c for m in request.messages if isinstance(m, AIMessage) for c in m.tool_calls]
        said = "\n".join([question] + [m.text for m in results])
        if sum(bool(getattr(m, "tool_calls", None)) for m in request.messages) < rounds:
            attempts = [request.override(model=planner, system_prompt=PLAN), request] if not results else [request]
            for attempt in attempts:  # rule 1: the plan; if it holds no usable call, the model's own turn
                response = handler(attempt)
                seen, new = {repr((c["name"], c["args"])) for c in made}, []
                for call in response.result[-1].tool_calls:  # rule 2
                    key = repr((call["name"], call["args"]))
                    if key not in seen and all(was_said(v, said) for v in call["args"].values()):
                        seen.add(key)
                        new.append(call)
                if new:
                    response.result[-1] = response.result[-1].model_copy(update={"tool_calls": new, "content": ""})
                    return response
        by_id = {c["id"]: c for c in made}  # rule 3
        facts = "\n".join(f"- {by_id[m.tool_call_id]['name']}({by_id[m.tool_call_id]['args']}) returned: {m.text}"
                          for m in results) or "- no tool was called"
        ask = HumanMessage(f"Question: {question}\nTool results:\n{facts}\n"
                           "Answer the question in one sentence, with the figures and names from the tool results.")
        return handler(request.override(messages=[ask], tools=[], system_prompt=None))

    return policy


def run_agent(model: str, tasks: list[tuple]) -> list[dict]:
    """The tasks through create_agent with the policy; what it called and whether it answered right."""
    agent = create_agent(engines.ollama_chat(model, num_ctx=2048, num_predict=48), AGENT_TOOLS,
                         middleware=[small_model_policy(model)])
    start = time.perf_counter()
    outs = agent.batch([{"messages": [("human", task)]} for _, task, _ in tasks], {"recursion_limit": 12})
    seconds = (time.perf_counter() - start) / len(tasks)
    return [{"model": model, "kind": kind, "task": task, "messages": out["messages"], "s per task": seconds,
             "right": answered(out["messages"][-1].text, facts)} for (kind, task, facts), out in zip(tasks, outs)]


SHORT = TASKS[::4]  # the first task of each kind, for the contrast
runs = pd.DataFrame(run_agent("qwen2.5-coder:0.5b", TASKS) + run_agent("smollm2:135m", SHORT))
agent_success = runs.pivot_table(index="model", columns="kind", values="right", aggfunc="mean")[
    ["one call", "two calls", "one needs another"]]
agent_success["s per task"] = runs.groupby("model")["s per task"].first()
agent_success["tasks"] = runs.groupby("model").size()
agent_success.round(2)

# %%
q = agent_success.loc["qwen2.5-coder:0.5b"]
s = agent_success.loc["smollm2:135m"]
say("With the policy, Qwen2.5-Coder-0.5B completed {one:.0%} of the one-call tasks, {two:.0%} of the two-call tasks "
    "and {dep:.0%} of those where one call needs another's result; SmolLM2-135M, on one task of each kind, "
    "{sone:.0%}, {stwo:.0%} and {sdep:.0%}. "
    "Without it, the same model on the first task: {plain}.",
    one=q["one call"], two=q["two calls"], dep=q["one needs another"], sone=s["one call"], stwo=s["two calls"],
    sdep=s["one needs another"], plain=plain_outcome);

# %% [markdown]
# One task's steps, as the agent ran them (the capable model, a two-call task it got right if it
# got one right):

# %%
two_call_runs = runs[(runs["model"] == "qwen2.5-coder:0.5b") & (runs["kind"] == "two calls")]
shown = two_call_runs.sort_values("right", ascending=False, kind="stable").iloc[0]  # a right one, if any
for message in shown["messages"]:
    if isinstance(message, AIMessage) and message.tool_calls:
        print("model calls:", ", ".join(f"{c['name']}({c['args']})" for c in message.tool_calls))
    elif isinstance(message, ToolMessage):
        print(f"  tool {message.name} returned: {message.text}")
    else:
        print(f"{type(message).__name__.removesuffix('Message').lower()}: {message.text}")
print("right" if shown["right"] else "not right", "by the check, which looks for", next(f for _, t, f in TASKS if t == shown["task"]))

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
#    runs it on Qwen2.5-Coder-0.5B deciding and on the forced course model, with a few prompts.

# %% jupyter={"source_hidden": true} tags=["solution"]
def call_rate(llm, prompts: list[str]) -> float:
    """Share of prompts answered with a usable get_weather call."""
    replies = llm.batch(prompts)
    return sum(any(c["name"] == "get_weather" and isinstance(c["args"].get("city"), str) for c in reply.tool_calls)
               for reply in replies) / len(prompts)


# %%
check.answer("06.2", call_rate);

# %% [markdown]
# 3. Rule 3 of the policy answers without tools. Without the policy, `create_agent` on the first
#    task ended as printed in section 5. What does that run tell you? Answer `"a"`, `"b"` or `"c"`:
#    - a) the model could not read the `ToolMessage`, so it asked for the weather again;
#    - b) after each result the model was offered the tools again and called one instead of answering, until
#      LangGraph's step limit stopped the graph;
#    - c) the tool raised an error, and the agent retried it until the limit.

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
