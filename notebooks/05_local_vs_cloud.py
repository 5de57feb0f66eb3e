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
# # 05 · Local vs cloud trade-offs (LC1.2.5.5)
#
# The usual summary — *choose local for privacy and cost, cloud for capability and scale* — is a
# good first guess and often wrong in the details. This lesson puts numbers on each of the six
# criteria: **privacy, cost, latency, capability, maintenance, scaling** — measured on this machine
# where they can be, and from dated, editable tables (`labkit/data/*.csv`) where they cannot.
#
# **You will learn to**
# - trace where prompts travel and rest for each way of running a model;
# - compute monthly cost and the break-even volume between a local machine and an API;
# - compare end-to-end latency, with this machine's own measurements;
# - measure capability on checkable tasks instead of trusting impressions;
# - weigh it all in a decision matrix, and point the same code at a bigger server by changing a URL.
#
# **Time:** about 30 minutes.

# %%
import warnings

warnings.filterwarnings("ignore")

import pandas as pd

from labkit.tradeoffs import decision
from labkit import tradeoffs

# %% [markdown]
# ## 1. Privacy: where does the prompt go?

# %%
# NBVAL_CHECK_OUTPUT
rows = [{"option": f.option, "leaves the device": f.leaves_device, "leaves the organisation": f.leaves_organisation,
         "path": f.path} for f in tradeoffs.DATA_FLOWS.values()]
pd.set_option("display.max_colwidth", 90)
pd.DataFrame(rows).set_index("option")

# %% [markdown]
# Local does not mean private by default: an Ollama server bound to `0.0.0.0` serves the whole
# network, and your application's own logs keep every prompt. But only the cloud option hands
# prompts to a third party by design.
#
# ## 2. Cost: per token vs per month
#
# A cloud API bills per token; a local machine costs the same each month whether busy or idle
# (hardware amortised over its life, electricity when busy, your time to maintain it). So there is a
# **break-even volume**. Prices come from `labkit/data/cloud_prices.csv` (each row with source and date):

# %%
# NBVAL_CHECK_OUTPUT
prices = pd.DataFrame([{"model": p.model, "input $/M": p.input_per_m, "output $/M": p.output_per_m, "as of": p.date}
                       for p in tradeoffs.load_cloud_prices()]).set_index("model")
prices.head(6)

# %%
result = decision.cost_compute(tokens_per_day=2_000_000, cloud_model="gpt-4o-mini", hardware="workstation-rtx4090")
print(f"at 2M tokens/day: cloud ${result['cloud_at_volume']:,.0f}/month, "
      f"local workstation ${result['local_at_volume']:,.0f}/month")
print(f"break-even: {result['break_even_tokens_per_day']:,.0f} tokens/day")

# %% [markdown]
# Move the sliders: the break-even moves by orders of magnitude with the model's price and the
# hardware you compare with.

# %%
from labkit.course.widgets import CostExplorer

CostExplorer(tokens_per_day=2_000_000)

# %% [markdown]
# ## 3. Latency, with this machine's numbers
#
# Cloud: network round trip + the provider's time to first token + tokens ÷ its speed.
# Local: load (if cold) + time to first token + tokens ÷ **measured** speed. Measure this machine:

# %%
from labkit.measure import bench

here = bench.measure("llama.cpp", "smollm2:135m", "Summarise why local models matter, in two sentences.",
                     max_tokens=48)
print(f"this machine, smollm2:135m: load {here.load_s:.2f} s, TTFT {here.ttft_s:.2f} s, "
      f"decode {here.decode_tok_s:.0f} tokens/s")

# %%
from labkit.course.widgets import LatencyExplorer

LatencyExplorer(bench=here)

# %% [markdown]
# ## 4. Capability, measured
#
# 40 short tasks with mechanically checkable answers (`labkit/data/eval/tasks.jsonl`): arithmetic, facts,
# format following, JSON output, extraction, instructions. Here one task per category on the course
# model (run `evaluate.evaluate(llm)` for all 40):

# %%
from labkit import engines
from labkit.tradeoffs import evaluate

local_llm = engines.llamacpp_chat("smollm2:135m", max_tokens=32, n_ctx=1024)
scores = evaluate.evaluate(local_llm, per_category=1, progress=False)
scores

# %% [markdown]
# One task per category is a small sample: run all 40 for a fuller picture. A 135M-parameter model
# handles simple facts and extraction and is unreliable at exact formats and JSON — compare
# `format="json"` in lesson 02, which forces valid JSON whatever the model would have written.
#
# **A cloud model's score** goes in the same table — *only if you opt in with your own key*; nothing
# here calls a cloud service by itself:
#
# ```python
# from langchain_openai import ChatOpenAI          # needs OPENAI_API_KEY and the network
# cloud_scores = evaluate.evaluate(ChatOpenAI(model="gpt-4o-mini", temperature=0))
# ```
#
# ## 5. Maintenance: what you own
#
# | you run it locally | the provider does it for you |
# |---|---|
# | drivers, CUDA/Metal builds of llama.cpp, torch versions | — |
# | pulling, updating and pinning models; disk space | model updates (sometimes unannounced) |
# | RAM/VRAM tuning: `num_ctx`, quantization, `keep_alive` | capacity planning |
# | monitoring, restarts, security patches | uptime, rate limits, abuse monitoring |
#
# ## 6. Scaling: how many machines for N users?
#
# One machine serves one request at a time at its measured speed (servers that batch do better).
# With this machine's numbers:

# %%
# NBVAL_CHECK_OUTPUT
for users in (1, 20, 200):
    s = tradeoffs.scaling(users, requests_per_user_per_hour=6, input_tokens_per_request=500,
                          output_tokens_per_request=200, prefill_tokens_per_s=100, decode_tokens_per_s=25,
                          rpm_limit=500, tpm_limit=200_000)
    print(f"{users:>4} users: {s.requests_per_minute:6.1f} requests/min -> {s.machines:3d} machine(s) like a "
          f"25 tokens/s laptop; cloud limit hit: {s.cloud_limit}")

# %% [markdown]
# ## 7. Putting it together: the decision matrix
#
# Weights for each criterion → a score per option, **with the reason for every score**. Try the
# presets: "hospital records", "hobby project", "startup at scale", "offline field device".

# %%
# NBVAL_CHECK_OUTPUT
for preset in decision.PRESETS:
    ranked = [s for s in decision.decision_compute(preset) if s.excluded is None]
    print(f"{preset:<22} -> {ranked[0].option.label}")

# %%
from labkit.course.widgets import DecisionMatrix

DecisionMatrix(preset="hospital records")

# %% [markdown]
# ## 8. Beyond one machine: change only the base URL
#
# Ollama and many serving engines (vLLM, llama.cpp's `llama-server`) also speak the **OpenAI API**.
# LangChain's OpenAI chat class then works against them by changing only `base_url`. Shown live
# against the `/v1` endpoint of the kit's Ollama-compatible server:

# %%
from langchain_openai import ChatOpenAI

from labkit.ollama import ensure_server

base_url = ensure_server()
openai_style = ChatOpenAI(model="smollm2:135m", base_url=f"{base_url}/v1", api_key="not-needed-locally",
                          temperature=0, max_tokens=16)
print(openai_style.invoke("What is the capital of France? Answer in one word.").content)

# %% [markdown]
# The same line with `base_url="https://api.openai.com/v1"` and a real key calls the cloud; with the
# URL of a GPU server running Ollama or vLLM it calls your own hardware. Note: the OpenAI-style
# endpoint cannot set `num_ctx`, so the server's default context applies — set it on the server.
#
# ## Recall
#
# > Choose local for privacy, predictable cost at volume and offline use; choose cloud for
# > capability and elastic scale. The rule is wrong when volume is low (the hardware never pays
# > off), when a small local model is good enough for a narrow task, or when "local" is a rented GPU.
#
# ## Exercises

# %% [markdown]
# 1. Monthly cost of 1,000,000 input + 250,000 output tokens **per day** on a model priced
#    $0.15 / $0.60 per million (input / output), 30.4 days a month? (In dollars.)

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_1 = (1.0 * 0.15 + 0.25 * 0.60) * 30.4

# %%
import labkit

labkit.course.check.answer("05.1", answer_1);

# %% [markdown]
# 2. Which option in the privacy table never sends a prompt off the device? (Give its `option` key.)

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_2 = "llamacpp_edge"

# %%
labkit.course.check.answer("05.2", answer_2);

# %% [markdown]
# 3. Which of the six criteria did `evaluate` measure?

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_3 = "capability"

# %%
labkit.course.check.answer("05.3", answer_3);

# %% [markdown]
# Solutions: `notebooks/solutions/05_local_vs_cloud.md`.
#
# ## Where to go next
#
# Back to `01_running_local_llms` with your own GGUF model (`labkit models register`), or run the
# whole course against a real Ollama on a GPU machine by setting `OLLAMA_HOST`.
