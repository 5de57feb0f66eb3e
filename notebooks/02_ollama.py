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

# %%

# %% [markdown]
# # 02 · Ollama integration (LC1.2.5.2)
#
# Ollama is an **inference server**: a separate process that keeps models in memory and answers
# HTTP on `127.0.0.1:11434`. Your code — here LangChain's `ChatOllama` — is a thin HTTP client.
#
# **You will learn to**
# - find or start a server, and manage its model library: list, pull, show, ps;
# - call `ChatOllama`: invoke, stream token by token, batch;
# - configure it: temperature, seed, `num_predict`, and `num_ctx` — and spot silent truncation;
# - get JSON back: JSON mode and `with_structured_output` with a pydantic schema;
# - control memory with `keep_alive`, and build a custom model from a Modelfile-style recipe.
#
# **Time:** about 30 minutes, plus 15 for the exercises.
#
# No Ollama installed? The kit ships an **Ollama-compatible server** backed by llama.cpp: a
# stand-in that speaks the same HTTP API, so everything below works unchanged against a real
# Ollama too. Where the two differ, this lesson says so.
#
# `ChatOllama` lives in the `langchain-ollama` package (`from langchain_ollama import ChatOllama`).
# Older tutorials import it from `langchain_community.chat_models`; that class is deprecated and
# lags behind the real one (no `reasoning`, older structured output): use `langchain_ollama`.

# %% [markdown]
# ## 1. Find or start a server
#
# `ensure_server()` uses an Ollama already answering at `OLLAMA_HOST` (and pulls the course model
# there), or starts the kit's server in a process of its own, and says which.

# %%
import os

from labkit.course.claims import claim, say
from labkit.ollama import ensure_server

base_url = ensure_server()
os.environ["OLLAMA_HOST"] = base_url  # the ollama client and ChatOllama read this

# %% [markdown]
# ## 2. The model library
#
# The official `ollama` Python client speaks the same API as the `ollama` command line tool.
# (The kit's server answers `/api/version` with the version of Ollama's API it imitates, not with
# a release of Ollama.)

# %%
import httpx
import ollama

client = ollama.Client(host=base_url)
print("server version:", httpx.get(f"{base_url}/api/version").json()["version"])
for m in client.list().models:
    print(f"{m.model:<20} {m.size / 1e6:7.1f} MB  {m.details.family:<8} {m.details.quantization_level}")

# %% [markdown]
# `pull` downloads a model into the server's library (here: from the kit's model store — the
# catalog plays the role of Ollama's online library). It streams progress lines:

# %%
for progress in client.pull("gemma3:270m", stream=True):
    if progress.completed is None or progress.completed == progress.total:
        print(progress.status, "" if progress.total is None else f"{progress.total / 1e6:.1f} MB")

# %% [markdown]
# `show` tells you what a model *is*: family, size, quantization, its chat template, default
# parameters and capabilities — the same facts `ollama show` prints. The template differs by
# server: a real Ollama shows its own **Go template** (`{{ .Prompt }}` …), while the kit's server
# shows the **Jinja** template stored in the GGUF file, which llama.cpp renders.

# %%
# NBVAL_CHECK_OUTPUT
info = client.show("smollm2:135m")
print("family:", info.details.family, "| parameters:", info.details.parameter_size,
      "| quantization:", info.details.quantization_level)
print("capabilities:", info.capabilities)
print("template starts:", info.template[:60].replace("\n", "\\n"))

# %% [markdown]
# The course's third model, `qwen2.5-coder:0.5b`, is the one that can decide when to call a tool
# and answer from documents (lesson 00 says where its file comes from). `show` says what it can do
# and the context it was trained for:

# %%
from labkit.measure import memory

client.pull("qwen2.5-coder:0.5b")  # the kit's server: from the model store; a real Ollama: its library
qwen = client.show("qwen2.5-coder:0.5b")
trained = qwen.modelinfo["qwen2.context_length"]
print("capabilities:", qwen.capabilities, "| trained context:", trained)
kv = {n: memory.estimate("qwen2.5-coder:0.5b", n).kv_cache for n in (4096, trained)}
say("It was trained on contexts of {t:,} tokens, and `tools` among its capabilities means its chat template "
    "can present tools. A server still gives it {d:,} tokens unless a request asks for more (`num_ctx`, section "
    "4): the whole {t:,} would reserve {big:.0f} MB of KV cache for each request it serves at once, against "
    "{small:.0f} MB at {d:,}.", t=trained, d=4096, big=kv[trained] / 1e6, small=kv[4096] / 1e6);

# %% [markdown]
# ## 3. `ChatOllama`: invoke, stream, batch
#
# Always pass `num_ctx`. Left unset, the server picks a context window itself: current Ollama
# chooses by available VRAM (4,096 tokens below 24 GiB, 32,768 for 24–48 GiB, 262,144 from 48 GiB;
# older releases used 2,048), `OLLAMA_CONTEXT_LENGTH` overrides it, and the kit's server uses
# 4,096 on a CPU. Longer prompts are **silently truncated** to fit. Temperature 0 makes the answer
# reproducible.

# %%
from langchain_ollama import ChatOllama

llm = ChatOllama(model="smollm2:135m", base_url=base_url, num_ctx=4096, temperature=0, seed=0,
                 num_predict=48)
reply = llm.invoke("What is the capital of France? Answer in one word.")

# %%
print(reply.content.strip())
print(reply.usage_metadata)

# %% [markdown]
# Streaming returns the answer token by token, as the server produces it: the first words appear
# long before the last.

# %%
import time

start = time.perf_counter()
stamps = []
for chunk in llm.stream("Name three primary colours."):
    stamps.append((time.perf_counter() - start, chunk.content))
for seconds, text in stamps[:6]:
    print(f"{seconds:6.3f} s  {text!r}")
say("The first piece arrived after **{first:.3f} s**, the last after **{last:.3f} s**: "
    "a streaming reader starts {times:.0f}× sooner.", first=stamps[0][0], last=stamps[-1][0],
    times=stamps[-1][0] / stamps[0][0]);

# %% [markdown]
# `batch` sends several prompts at once. The server decodes them **together**: one llama.cpp step
# produces the next token of every answer in progress (continuous batching, as in Ollama and
# llama.cpp's server). Writing a token means reading all the weights once, and one read then serves
# every answer, so the server's total output grows with the requests it serves at once (up to
# `OLLAMA_NUM_PARALLEL`, default 4; lesson 05 measures the curve). The kit's server turns on
# llama.cpp's *flash attention* (a fused attention kernel) for this: without it, the last bits of an
# answer's arithmetic depend on which other answers share its batch, and a greedy answer could change
# with the traffic. Even with it, llama.cpp's CPU attention changes kernel at 64 tokens of one answer
# in a step, so the server reads each prompt in the pieces it would use alone, and reuses a cached
# prompt's cells only when the same kernel made them: a greedy answer is the same alone, batched, or
# after whatever others asked before (the kit's tests check it).

# %%
answers = llm.batch(["What is 2 + 2? Answer with a number.", "What colour is the sky? One word."])
for a in answers:
    print(a.content.strip())
assert all(a.content.strip() for a in answers), "every answer has text"

# %%
short = [len(a.content.split()) <= 2 for a in answers]
say("{n} of the {total} answers kept to the length asked for. {why}", n=sum(short), total=len(short),
    why=("" if all(short) else "A 135M-parameter model follows such instructions loosely; `num_predict` or a "
         "`stop` sequence bounds the length for sure, and a JSON schema (section 5) the shape."));

# %% [markdown]
# ## 4. Configuration and the `num_ctx` trap
#
# Every response carries the server's own counts: `prompt_eval_count` is the number of prompt
# tokens the model actually read. Send a prompt longer than the context window and compare:

# %%
from labkit.engines import tokens

long_text = "Local models keep data on your own machine. " * 70
question = long_text + "\nIn one sentence: what is this text about?"
sent = tokens.count("smollm2:135m", tokens.chat_prompt("smollm2:135m", question))
read = {}
for n_ctx in (512, 1024):
    small = ChatOllama(model="smollm2:135m", base_url=base_url, num_ctx=n_ctx, temperature=0, num_predict=8)
    read[n_ctx] = small.invoke(question).response_metadata["prompt_eval_count"]
    print(f"num_ctx={n_ctx:5}: the model read {read[n_ctx]:5} of the {sent} prompt tokens sent")

# %%
claim("With num_ctx=512 the server silently dropped part of the prompt; with 1024 it read all of it.",
      read[512] < sent and read[1024] == sent, f"{read[512]} and {read[1024]} of {sent} tokens read");

# %% [markdown]
# With `num_ctx=512` the server kept only what fits (the first tokens and the most recent ones)
# and the client got a normal answer: only `prompt_eval_count` gives it away. The server writes a
# warning to its own log (the kit's server: the log file named when it started; a real Ollama: its
# server log, which you rarely see). **Always set `num_ctx`** large enough, and compare
# `prompt_eval_count` with your own token count.
#
# Cutting is a default, not a law: since Ollama 0.12.6 a request may carry `truncate` (default
# `true`). With `truncate: false` the server refuses a prompt that does not fit, with HTTP 400,
# instead of shortening it (and `/api/chat` no longer drops old messages to make room).
# `ChatOllama` has no setting for it, so send it through the raw API:

# %%
refusal = httpx.post(f"{base_url}/api/chat", json={
    "model": "smollm2:135m", "stream": False, "truncate": False,
    "messages": [{"role": "user", "content": question}], "options": {"num_ctx": 512, "num_predict": 8}})
print(refusal.status_code, refusal.json().get("error", ""))
claim("With truncate: false the server refused the prompt that did not fit, instead of cutting it.",
      refusal.status_code == 400, f"HTTP {refusal.status_code}");

# %% [markdown]
# How much is cut differs by server. The kit's keeps as much of the prompt as fits while leaving
# room for the answer. A current Ollama (0.30 and later runs llama.cpp's own `llama-server`
# underneath) cuts to about half the window, so that generation has room, and shifts the context
# along while it generates; its refusal's wording comes from `llama-server`. The OpenAI-style `/v1`
# routes can set neither `num_ctx` nor `truncate`: they get the server's defaults.
#
# Other options work the same way (`temperature`, `top_k`, `top_p`, `seed`, `num_predict`, `stop`,
# `repeat_penalty`): set on the `ChatOllama` object, they are sent with every request. With
# sampling on, the same seed gives the same answer:

# %%
names = {}
for seed in (1, 2, 1):
    creative = ChatOllama(model="smollm2:135m", base_url=base_url, num_ctx=2048, temperature=1.0,
                          seed=seed, num_predict=12)
    names.setdefault(seed, []).append(creative.invoke("Invent a name for a robot.").content)
    print(f"seed {seed}: {names[seed][-1]!r}")

# %%
claim("Sampling with the same seed repeats the answer exactly.", names[1][0] == names[1][1],
      f"seed 1 gave {names[1][0]!r} twice" if names[1][0] == names[1][1] else f"{names[1]}");

# %% [markdown]
# ## 5. JSON out
#
# `format="json"` constrains decoding so the output **is** valid JSON (the server enforces it with a
# grammar; the model only chooses among valid tokens). `with_structured_output` goes further: it
# sends a JSON Schema built from a pydantic class and parses the answer into an object.

# %%
import json

json_llm = ChatOllama(model="smollm2:135m", base_url=base_url, num_ctx=2048, temperature=0,
                      format="json", num_predict=64)
raw = json_llm.invoke("Give the name and capital of France as JSON with keys country and capital.").content
print(raw)
print(json.loads(raw))

# %%
from pydantic import BaseModel


class City(BaseModel):
    name: str
    country: str


structured = llm.with_structured_output(City)
city = structured.invoke("Paris is the capital of France. Extract the city and its country.")
print(repr(city))

# %% [markdown]
# A 135M-parameter model fills the schema but can get the facts wrong; the grammar guarantees the
# *shape*, not the *truth*. Check the values in your code.
#
# ## 6. keep_alive: memory vs latency
#
# After each request the **server** starts a timer of `keep_alive` (Ollama's default: 5 minutes);
# when it runs out, the server unloads the model. Nothing is pinged to keep it alive: LangChain just
# sends the value with every request. The first request after an unload pays the **load time**
# again — `load_duration` in the response shows it.

# %%
def load_ms(keep_alive):
    reply = client.generate(model="smollm2:135m", prompt="Hi", options={"num_predict": 1}, keep_alive=keep_alive)
    return reply.load_duration / 1e6


client.generate(model="smollm2:135m", prompt="", keep_alive=0)  # unload now
cold, warm = load_ms("10m"), load_ms("10m")
print(f"cold: load_duration = {cold:.1f} ms")
print(f"warm: load_duration = {warm:.1f} ms")
print("loaded now:", [m.model for m in client.ps().models])

# %%
claim("The warm request skipped the load that the cold one paid.", warm < cold,
      f"{cold:.1f} ms cold, {warm:.1f} ms warm")
client.generate(model="smollm2:135m", prompt="", keep_alive=0)  # keep_alive 0 unloads right away
print("after keep_alive=0:", [m.model for m in client.ps().models])

# %% [markdown]
# `keep_alive=-1` keeps a model forever (fast answers, memory held); `0` frees memory at once
# (every call is cold). `ChatOllama(keep_alive=...)` sends it with every call; the server-wide
# default is the environment variable `OLLAMA_KEEP_ALIVE`.
#
# ## 7. A custom model, Modelfile-style
#
# Ollama's `create` makes a new model from an existing one with a system prompt and parameters —
# what a Modelfile with `FROM`, `SYSTEM` and `PARAMETER` lines does.

# %%
client.create(model="pirate:135m", from_="smollm2:135m",
              system="You are a pirate. Answer every question like a pirate, in one short sentence.",
              parameters={"temperature": 0, "num_ctx": 2048})
modelfile = client.show("pirate:135m").modelfile
print("\n".join(line for line in modelfile.splitlines() if line.startswith(("FROM", "SYSTEM", "PARAMETER"))))
pirate = ChatOllama(model="pirate:135m", base_url=base_url, num_predict=40)
said = pirate.invoke("What is the capital of France?").content
print(said)
print("library:", [m.model for m in client.list().models])
client.delete("pirate:135m");

# %%
pirate_words = [w for w in ("arr", "ahoy", "matey", "aye", "ye ", "me hearties", "captain") if w in said.lower()]
say("The system prompt now travels with the model, whoever calls it. {how}",
    how=(f"The answer shows the persona ({', '.join(pirate_words)})." if pirate_words else
         "The answer shows no pirate voice at all: a 135M-parameter model follows a persona loosely, or not "
         "at all. The system prompt was sent (the Modelfile above has it); whether a model honours it is a "
         "matter of its size and training, which is why larger models follow personas far more reliably."));

# %% [markdown]
# ## 8. It is only HTTP
#
# `ChatOllama` and the `ollama` client are thin layers over one HTTP request. The same call, three ways:

# %%
messages = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
options = {"temperature": 0, "seed": 0, "num_ctx": 4096, "num_predict": 16}

via_http = httpx.post(f"{base_url}/api/chat", json={"model": "smollm2:135m", "messages": messages,
                                                     "stream": False, "options": options}).json()
via_client = client.chat(model="smollm2:135m", messages=messages, options=options)
via_langchain = llm.invoke(messages[0]["content"])
print("raw HTTP :", via_http["message"]["content"])
print("client   :", via_client.message.content)
print("LangChain:", via_langchain.content)

# %% [markdown]
# ## 9. Switching to a real Ollama
#
# Install Ollama, run `ollama serve` (or the desktop app), then `ollama pull smollm2:135m`.
# Point `OLLAMA_HOST` at it (default `127.0.0.1:11434`) — `ensure_server()` then uses it instead of
# the kit's server. Not one line of the LangChain code changes.
#
# ## Recall
#
# > Ollama runs models as a local HTTP service; `ChatOllama` is a thin client. Set `num_ctx`, watch
# > `prompt_eval_count`, use `format`/`with_structured_output` for JSON, and use `keep_alive` to
# > trade memory for latency.
#
# ## Exercises
#
# 1. Write `reads_everything(document)`: return a `ChatOllama` for `smollm2:135m` (greedy,
#    `num_predict=16`) that reads all of `document` plus a one-line question, with the **smallest**
#    `num_ctx` that is a multiple of 1024 and truncates nothing. Count tokens with
#    `tokens.count("smollm2:135m", tokens.chat_prompt("smollm2:135m", text))`, and leave room for the
#    answer. The check sends a long document and reads `prompt_eval_count`.

# %% jupyter={"source_hidden": true} tags=["solution"]
def reads_everything(document: str) -> ChatOllama:
    """The smallest multiple of 1024 that holds the prompt (with its question) and the answer."""
    needed = tokens.count("smollm2:135m", tokens.chat_prompt("smollm2:135m", document + "\nA question?")) + 16
    n_ctx = 1024
    while n_ctx - 16 - 1 < needed:
        n_ctx += 1024
    return ChatOllama(model="smollm2:135m", base_url=base_url, num_ctx=n_ctx, temperature=0, num_predict=16)


# %%
from labkit.course import check

check.answer("02.1", reads_everything);

# %% [markdown]
# 2. Write `extract_person(sentence)`: use `ChatOllama` with `format=` a JSON Schema (a dict) that
#    requires a string `name` and an integer `age`, and return the parsed dict. The check runs it
#    on three sentences.

# %% jupyter={"source_hidden": true} tags=["solution"]
PERSON = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": False}


def extract_person(sentence: str) -> dict:
    """Name and age, in the shape the schema guarantees."""
    model = ChatOllama(model="smollm2:135m", base_url=base_url, num_ctx=1024, temperature=0, format=PERSON,
                       num_predict=48)
    return json.loads(model.invoke(f"Extract the person's name and age from: {sentence}").content)


# %%
check.answer("02.2", extract_person);

# %% [markdown]
# 3. A notebook's `ChatOllama(keep_alive="10m")` answers its last request at 12:00; at 12:01 you
#    shut the notebook's kernel down. When does the server unload the model? Answer `"a"`, `"b"` or
#    `"c"`:
#    - a) at 12:01, when the client that asked for it goes away;
#    - b) at about 12:10, when the server's timer, restarted by the 12:00 request, runs out;
#    - c) never, until the server restarts: `keep_alive` only applies while the client is running.

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_3 = "b"

# %%
check.answer("02.3", answer_3);

# %% [markdown]
# Solutions with explanations: `notebooks/solutions/02_ollama.md`.
#
# ## Where to go next
#
# `03_llamacpp` removes the server: the same model embedded in your process with `LlamaCpp`.
