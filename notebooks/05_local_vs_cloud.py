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
# where they can be, and from dated, editable tables (`labkit/data/*.csv`, each row with its source)
# where they cannot. Every sentence below that quotes a figure is computed from this run.
#
# **You will learn to**
# - trace where prompts travel and rest, and what a cloud contract can and cannot change;
# - compute a month's cost, whole machine and upkeep included, and the break-even volume;
# - compare end-to-end latency with this machine's own measurements;
# - measure what a bigger local model gains in capability and costs in speed and memory, next to
#   published scores of larger models;
# - size a deployment from measured speeds, and weigh it all in a decision matrix.
#
# **Time:** about 35 minutes, plus 20 for the exercises.

# %%
import warnings

warnings.filterwarnings("ignore")

import pandas as pd

from labkit import tradeoffs
from labkit.course.claims import claim, more_or_less, say, times
from labkit.tradeoffs import decision

pd.set_option("display.max_colwidth", 90)

# %% [markdown]
# ## 1. Privacy: where does the prompt go?

# %%
# NBVAL_CHECK_OUTPUT
pd.DataFrame([{"option": f.option, "leaves the device": f.leaves_device,
               "leaves the organisation": f.leaves_organisation, "path": f.path}
              for f in tradeoffs.DATA_FLOWS.values()]).set_index("option")

# %% [markdown]
# Local does not mean private by default: an Ollama server bound to `0.0.0.0` serves the whole
# network, and your application's own logs keep every prompt. And the cloud is not one thing:
# providers sell contracts and settings that narrow what they keep.

# %%
# NBVAL_CHECK_OUTPUT
pd.DataFrame([{"control": c.control, "changes": c.changes, "does not change": c.does_not_change,
               "how to get it": c.how_to_get_it} for c in tradeoffs.CLOUD_CONTROLS]).set_index("control")

# %% [markdown]
# Zero data retention, a BAA or a regional deployment can make a cloud API acceptable for records
# that a default account could not take. None of them changes the "leaves the organisation" column:
# the provider's machines still read the prompt. When the rule is *the data may not leave*, only the
# local rows qualify. (Sources and dates: `tradeoffs.CLOUD_CONTROLS`; terms change, so check yours.)
#
# ## 2. The local side of every comparison: measure this machine
#
# Cost, latency and scaling all need the local engine's speeds. Measure them in a fresh process:
# load time, prompt reading (prefill) and writing (decode).

# %%
from labkit.measure import bench

document = "\n".join(f"{f.option}: {f.path}; stored: {f.stored}" for f in tradeoffs.DATA_FLOWS.values())
prompt = f"Summarise in two sentences:\n{document}"
here = bench.measure("llama.cpp", "smollm2:135m", prompt, max_tokens=48)
say("This machine, `smollm2:135m` in llama.cpp: loaded in {load:.2f} s, read the {n}-token prompt at "
    "{pp:.0f} tokens/s (first token after {ttft:.2f} s) and wrote at {tg:.0f} tokens/s.",
    load=here.load_s, n=here.prompt_tokens, pp=here.prefill_tok_s, ttft=here.ttft_s, tg=here.decode_tok_s);

# %% [markdown]
# ## 3. Cost: per token vs per month
#
# A cloud API bills per token. A local machine costs about the same each month, busy or idle: the
# **whole machine** paid off over its life, electricity, and the **upkeep** — someone's hours for
# updates, model pulls, restarts and watching it. So there is a **break-even volume**. Prices:

# %%
# NBVAL_CHECK_OUTPUT
pd.DataFrame([{"model": p.model, "input $/M": p.input_per_m, "output $/M": p.output_per_m, "as of": p.date}
              for p in tradeoffs.load_cloud_prices()]).set_index("model").head(6)

# %% [markdown]
# Machines (prices are whole machines: the workstations' GPU plus a sourced $500 for the rest of
# the machine; `source` in `labkit/data/hardware_profiles.csv` says where each figure comes from):

# %%
# NBVAL_CHECK_OUTPUT
pd.DataFrame([{"name": h.name, "device": h.device, "price $": h.price_usd, "rent $/h": h.rent_per_hour_usd,
               "busy W": h.power_w, "life (years)": h.lifetime_years}
              for h in tradeoffs.load_hardware_profiles()]).set_index("name")

# %% [markdown]
# Upkeep is an assumption, not a measurement: the course starts from
# `tradeoffs.UPKEEP_HOURS_PER_MONTH` hours a month at `tradeoffs.UPKEEP_USD_PER_HOUR` dollars an
# hour. Put in your own. First the textbook comparison: gpt-4o-mini against Ollama on the RTX 4090
# workstation running an 8B model, at 2 million tokens a day (3 input tokens for each output token):

# %%
volume, share = 2_000_000, 0.75
price = tradeoffs.cloud_price("gpt-4o-mini")
workstation = decision.find_option("ollama_workstation")
ws_prefill, ws_decode = decision.option_speeds(workstation)
ws_setup = tradeoffs.LocalSetup.from_profile(tradeoffs.hardware_profile(workstation.hardware),
                                             maintenance_hours_per_month=tradeoffs.UPKEEP_HOURS_PER_MONTH,
                                             hourly_rate=tradeoffs.UPKEEP_USD_PER_HOUR)
cloud = tradeoffs.cloud_cost_for(price, share * volume, (1 - share) * volume)
local = tradeoffs.local_cost_per_month(share * volume, (1 - share) * volume, prefill_tokens_per_s=ws_prefill,
                                       decode_tokens_per_s=ws_decode, setup=ws_setup)
even = tradeoffs.break_even_tokens_per_day(input_price_per_m=price.input_per_m, output_price_per_m=price.output_per_m,
                                           prefill_tokens_per_s=ws_prefill, decode_tokens_per_s=ws_decode,
                                           setup=ws_setup)
capacity = tradeoffs.max_tokens_per_day(prefill_tokens_per_s=ws_prefill, decode_tokens_per_s=ws_decode)
pd.DataFrame({"USD per month": {"cloud: gpt-4o-mini": cloud.total, "local: machine paid off": local.hardware,
                                "local: electricity": local.electricity, "local: upkeep": local.maintenance,
                                "local: total": local.total}}).round(2)

# %%
def verdict(tokens_per_day: float, capacity: float) -> str:
    """Where a break-even volume stands against what one machine can process in 24 hours."""
    if tokens_per_day == float("inf"):
        return "never: each local token costs more than an API token"
    if tokens_per_day > capacity:
        return (f"{tokens_per_day:,.0f} tokens a day, more than one machine can process in 24 hours "
                f"({capacity:,.0f}): one machine never pays off")
    return f"{tokens_per_day:,.0f} tokens a day ({tokens_per_day / capacity:.0%} of one machine's 24-hour capacity)"


say("At {v:,} tokens a day gpt-4o-mini bills ${c:,.0f} a month; the workstation costs ${l:,.0f}, of which "
    "upkeep is {u:.0%} and electricity {e:.0%}. It breaks even at {even} (speeds estimated from its bandwidth "
    "for an 8B model: {tg:.0f} tokens/s decode).",
    v=volume, c=cloud.total, l=local.total, u=local.maintenance / local.total, e=local.electricity / local.total,
    even=verdict(even, capacity), tg=ws_decode);

# %% [markdown]
# Now with this machine's measured speeds, priced as the course's $1,500 laptop profile:

# %%
laptop = tradeoffs.LocalSetup.from_profile(tradeoffs.hardware_profile("laptop"),
                                           maintenance_hours_per_month=tradeoffs.UPKEEP_HOURS_PER_MONTH,
                                           hourly_rate=tradeoffs.UPKEEP_USD_PER_HOUR)
speeds = {"prefill_tokens_per_s": here.prefill_tok_s, "decode_tokens_per_s": here.decode_tok_s}
prices = {"input_price_per_m": price.input_per_m, "output_price_per_m": price.output_per_m}
mine_even = tradeoffs.break_even_tokens_per_day(setup=laptop, **prices, **speeds)
mine_even_no_upkeep = tradeoffs.break_even_tokens_per_day(setup=tradeoffs.LocalSetup.from_profile(
    tradeoffs.hardware_profile("laptop")), **prices, **speeds)
mine_capacity = tradeoffs.max_tokens_per_day(**speeds)
say("Against gpt-4o-mini, this machine breaks even at {a}. Without the upkeep it would break even at {b}.",
    a=verdict(mine_even, mine_capacity), b=verdict(mine_even_no_upkeep, mine_capacity))
day = laptop.cost_per_day(0)
say("A day of upkeep costs ${m:.2f} and a day of the machine ${h:.2f}: on a single small machine the hours spent "
    "on it weigh {word} than the machine.", m=day["maintenance"], h=day["hardware"],
    word=more_or_less(day["maintenance"], day["hardware"]));

# %% [markdown]
# These comparisons hold only between models that **both do the job**: `smollm2:135m` is not a
# substitute for gpt-4o-mini (section 5 measures how far it is). Compare the price of the smallest
# model that passes *your* task. Move the sliders: the break-even moves by orders of magnitude with
# the price, the machine and the upkeep.

# %%
from labkit.course.widgets import CostExplorer

CostExplorer(tokens_per_day=2_000_000, hardware="laptop", bench=here)

# %% [markdown]
# ## 4. Latency, with this machine's numbers
#
# Cloud: network round trip + the provider's time to first token + tokens ÷ its speed (published
# figures, `cloud_prices.csv`). Local: load (if cold) + time to first token + tokens ÷ the speed
# **measured** in section 2.

# %%
from labkit.course.widgets import LatencyExplorer

LatencyExplorer(bench=here)

# %%
waits = decision.latency_compute(input_tokens=500, output_tokens=200, bench=here)
say("For 500 tokens in and 200 out, this machine finishes in {l:.1f} s and gpt-4o-mini in about {c:.1f} s: "
    "the local model is {word} here. The first token arrives after {lf:.2f} s locally and {cf:.2f} s from the "
    "cloud.", l=waits["local"].total, c=waits["cloud"].total,
    word=more_or_less(waits["cloud"].total, waits["local"].total, "faster", "slower", "as fast"),
    lf=waits["local"].network + waits["local"].first_token, cf=waits["cloud"].network + waits["cloud"].first_token);

# %% [markdown]
# Not a like-for-like race: a 135M-parameter model writes quickly because it is tiny. A local model
# as capable as the cloud one would be many times larger, and every token reads all its weights
# (lesson 01), so it would write many times slower on the same machine. Section 5 measures that
# trade between the kit's two chat models.
#
# ## 5. Capability, measured
#
# 40 short tasks with mechanically checkable answers (`labkit/data/eval/tasks.jsonl`): arithmetic,
# facts, format following, JSON output, extraction, instructions. Run all 40 on both chat models the
# kit ships, the course model and `qwen2.5-coder:0.5b` (Qwen2.5-Coder-0.5B-Instruct, quantized twice:
# see the README): greedy, in this process, the first model freed before the second is loaded.
# `evaluate.run` times every answer and counts its tokens. The limit of 32 new tokens is above the
# longest answer a task expects (a small JSON object in a code fence): an answer that reaches it has
# gone on past its answer.

# %%
from labkit import engines, models
from labkit.tradeoffs import evaluate

LIMIT = 32
runs = {}
for name in ("smollm2:135m", "qwen2.5-coder:0.5b"):
    llm = engines.llamacpp_chat(name, max_tokens=LIMIT, n_ctx=512)
    runs[name] = evaluate.run(llm, progress=False)
    llm.client.close()  # free this model before loading the next

# %% [markdown]
# Speed and memory are measured apart, the way section 2 measured the course model: section 2's
# prompt, each model in a fresh process (so neither model's memory counts against the other) at the
# kit's default context of 4096 tokens, one right after the other (so both see the machine in the
# same state). `bench` reports decode speed and the process's peak RSS growth (loading plus one
# answer). Everything side by side:

# %%
measured = {name: bench.measure("llama.cpp", name, prompt, max_tokens=48) for name in runs}
compared = evaluate.side_by_side(runs, {
    name: {"parameters, millions": models.info(name).parameters / 1e6, "decode tokens/s": m.decode_tok_s,
           "memory: peak RSS growth, MiB": m.rss_increase_mb} for name, m in measured.items()})
compared.round(2)

# %%
small, big = compared["smollm2:135m"], compared["qwen2.5-coder:0.5b"]
decode, ram = "decode tokens/s", "memory: peak RSS growth, MiB"
claim(f"`qwen2.5-coder:0.5b`, {times(big['parameters, millions'], small['parameters, millions'])} the parameters, "
      "passes more of the 40 tasks than the course model and needs more memory.",
      big["tasks passed"] > small["tasks passed"] and big[ram] > small[ram],
      f"{big['tasks passed']:.0f} against {small['tasks passed']:.0f} tasks, {big[ram]:.0f} against "
      f"{small[ram]:.0f} MiB")
say("Per token it is {word}: {bd:.0f} against {sd:.0f} tokens/s{note}. Per task, qwen took {ratio} the course "
    "model's time (all 40: {bs:.1f} s against {ss:.1f} s). The course model wrote {st:.1f} tokens per answer, "
    "{more} than qwen's {bt:.1f}, and ran {cs:.0f} answers on to the {limit}-token limit (qwen: {cb:.0f}).",
    word=more_or_less(big[decode], small[decode], "faster", "slower", "as fast"), bd=big[decode], sd=small[decode],
    note="" if big[decode] < small[decode] else (
        ", although every token reads all of a model's weights and qwen has more: usually a sign that something "
        "else was busy on the CPU while one of them was measured, so run the cell above again"),
    ratio=times(big["seconds, all tasks"], small["seconds, all tasks"]), bs=big["seconds, all tasks"],
    ss=small["seconds, all tasks"], st=small["answer tokens per task"], bt=big["answer tokens per task"],
    more=more_or_less(small["answer tokens per task"], big["answer tokens per task"], "more", "fewer", "as many"),
    cs=small["answers cut at max_tokens"], cb=big["answers cut at max_tokens"], limit=LIMIT)
gap = pd.Series({c: big[f"accuracy %, {c}"] - small[f"accuracy %, {c}"] for c in evaluate.CATEGORIES})
say("By category, qwen is ahead on {ahead}; level on {level}; behind on {behind}. The widest gap is on "
    "{wide}: {b:.0f} % against {s:.0f} %.",
    ahead=", ".join(gap[gap > 0].index) or "none", level=", ".join(gap[gap == 0].index) or "none",
    behind=", ".join(gap[gap < 0].index) or "none", wide=gap.abs().idxmax(),
    b=big[f"accuracy %, {gap.abs().idxmax()}"], s=small[f"accuracy %, {gap.abs().idxmax()}"]);

# %% [markdown]
# How to read this. Time per token favours the smaller model (fewer weights to read per token); time
# per task need not, since a model that keeps writing after its answer pays in time what it saves
# per token (a tight `max_tokens` or a stop sequence caps that cost). Tasks that ask for a form (one
# word, a bare number, JSON only) measure instruction following, not knowledge: a model can know the
# answer and still fail by saying more. Where the two are level, or the small one is ahead, look at
# why: extraction copies a word out of the prompt, easy at any size, and a fact is only as good as
# the training text (a Coder model's was mostly code). The tasks qwen failed, with the course
# model's answers beside its own:

# %%
pd.DataFrame([{"task": q.task.id, "prompt": q.task.prompt[:60], "qwen wrote": q.output[:40],
               "course model wrote": s.output[:40], "course model passed": s.correct}
              for s, q in zip(runs["smollm2:135m"], runs["qwen2.5-coder:0.5b"]) if not q.correct])

# %% [markdown]
# Read failures before trusting a score: a short prompt can be read two ways, and a checker accepts
# only what it was written to accept. And 40 tasks is a small sample: one task is 2.5 points.
#
# How far are both from bigger models? SmolLM2's authors evaluated their model at three sizes the
# same way, and on their 360M model card they put **Qwen2.5-0.5B-Instruct** beside it. That is
# Qwen's general instruct model of the size and family of the kit's Qwen, **not** the Coder model
# the kit runs (Qwen2.5-Coder was trained further on code, and the kit's file is quantized twice);
# its scores are the figures SmolLM2's authors measured and published, not Qwen's own and not
# measured here. All rows from `labkit/data/capability_reference.csv`, source and date on each:

# %%
# NBVAL_CHECK_OUTPUT
reference = evaluate.published_reference()
reference.T

# %%
small_ref, large_ref = reference.loc["SmolLM2-135M-Instruct"], reference.loc["SmolLM2-1.7B-Instruct"]
gaps = (large_ref - small_ref).sort_values()
claim("The 1.7B model (13× the parameters) scores higher than the course model on every benchmark.",
      bool((gaps > 0).all()), f"ahead by {gaps.min():.1f} ({gaps.idxmin()}) to {gaps.max():.1f} points "
      f"({gaps.idxmax()})")
say("The widest gap is on {wide}: {a:.1f} against {b:.1f}. A 135M model is close to useless at multi-step "
    "arithmetic, and 13× more parameters change that more than anything else in the table.",
    wide=gaps.idxmax(), a=large_ref[gaps.idxmax()], b=small_ref[gaps.idxmax()])
versus = (reference.loc["Qwen2.5-0.5B-Instruct"] - reference.loc["SmolLM2-360M-Instruct"]).sort_values()
claim("Size is not everything: Qwen2.5-0.5B-Instruct and SmolLM2-360M-Instruct, evaluated side by side, "
      "each win some of the benchmarks.", bool((versus > 0).any() and (versus < 0).any()),
      f"Qwen2.5-0.5B ahead on {', '.join(versus[versus > 0].index)} (by up to {versus.max():.1f} points, "
      f"{versus.idxmax()}); SmolLM2-360M ahead on {', '.join(versus[versus < 0].index)}");

# %% [markdown]
# At this scale, what a model was trained on moves its scores as much as its size does. Hosted
# models such as gpt-4o-mini are larger still (their sizes are not published), so a fair
# choice compares models that pass your task.
# **A cloud model's score** goes in the same table only if you opt in with your own key; nothing
# here calls a cloud service by itself:
#
# ```python
# from langchain_openai import ChatOpenAI          # needs OPENAI_API_KEY and the network
# cloud_scores = evaluate.evaluate(ChatOpenAI(model="gpt-4o-mini", temperature=0))
# ```
#
# ## 6. Maintenance: what you own
#
# | you run it locally | the provider does it for you |
# |---|---|
# | drivers, CUDA/Metal builds of llama.cpp, torch versions | — |
# | pulling, updating and pinning models; disk space | model updates (sometimes unannounced) |
# | RAM/VRAM tuning: `num_ctx`, quantization, `keep_alive` | capacity planning |
# | monitoring, restarts, security patches | uptime, rate limits, abuse monitoring |

# %%
upkeep = tradeoffs.UPKEEP_HOURS_PER_MONTH * tradeoffs.UPKEEP_USD_PER_HOUR
fixed = sum(ws_setup.cost_per_day(0).values()) * ws_setup.days_per_month
say("Section 3 priced this column at {h:g} hours a month × ${r:g} an hour = ${m:,.0f} a month per local setup: "
    "{x} the workstation's hardware cost per month, and {s:.0%} of all it costs before it processes a token.",
    h=tradeoffs.UPKEEP_HOURS_PER_MONTH, r=tradeoffs.UPKEEP_USD_PER_HOUR, m=upkeep, x=times(upkeep, local.hardware),
    s=upkeep / fixed);

# %% [markdown]
# ## 7. Scaling: how many machines for N users?
#
# A server that answers one request at a time is busy `input/prefill + output/decode` seconds per
# request. Serving engines (llama.cpp's server, Ollama, the kit's `labkit serve`) do better: they
# decode the answering requests **together**, one batched step per token. Writing a token means
# reading every weight of the model once, and that read, not the arithmetic, sets decode speed; in
# a batch, one read serves every request. So the machine's *total* tokens/s grows with the number
# of requests it serves at once, while each request gets a little slower. Measure that curve here,
# with llama.cpp decoding 1, 2, 4 and 8 sequences together (a fresh process, about ten seconds):

# %%
from labkit.measure import batching

curve = batching.measure_curve("smollm2:135m", levels=(1, 2, 4, 8), tokens=24)
batched = pd.DataFrame([{"requests at once": p.streams, "tokens/s, all requests": p.tokens_per_s,
                         "tokens/s, each request": p.per_stream_tok_s} for p in curve]).set_index("requests at once")
ax = batched["tokens/s, all requests"].plot(marker="o", logx=True, title="Decode with N requests batched")
ax.set_xticks(list(batched.index), [str(n) for n in batched.index])
ax.set_ylabel("tokens/s, whole machine")
batched.round(1)

# %%
one, eight = curve[0], curve[-1]
say("Eight requests together wrote {agg:.0f} tokens/s in all, {gain} one request alone ({single:.0f}), each of "
    "the eight seeing {each:.0f} tokens/s. How much batching gives depends on the machine: a GPU, where the "
    "arithmetic has far more room than the memory bus, gains much more than a laptop's CPU.",
    agg=eight.tokens_per_s, gain=times(eight.tokens_per_s, one.tokens_per_s), single=one.tokens_per_s,
    each=eight.per_stream_tok_s);

# %% [markdown]
# Now size the deployment both ways: machines that answer one request at a time, and machines that
# batch eight (their decode speed is the measured eight-request total). The API side is limited by
# requests and tokens per minute; the limits below are gpt-4o-mini's on a new account
# (`cloud_prices.csv`).

# %%
batched_speeds = {**speeds, "decode_tokens_per_s": eight.tokens_per_s}
rows = []
for users in (1, 20, 200):
    kw = dict(requests_per_user_per_hour=6, input_tokens_per_request=500, output_tokens_per_request=200,
              rpm_limit=price.rpm_limit, tpm_limit=price.tpm_limit)
    s = tradeoffs.scaling(users, **kw, **speeds)
    sb = tradeoffs.scaling(users, **kw, **batched_speeds)
    rows.append({"users": users, "requests/min": s.requests_per_minute, "machines, one at a time": s.machines,
                 "machines, batching 8": sb.machines,
                 "gpt-4o-mini limits": f"over its {s.cloud_limit} limit" if s.cloud_limit else "within both limits"})
scale = pd.DataFrame(rows).set_index("users")
scale.round(1)

# %%
say("Each request (500 tokens in, 200 out) keeps this machine busy {sec:.1f} s when it answers one at a time, "
    "so 200 users asking six times an hour need {m} machine(s) like it; batching eight at a time, {mb}. The API's "
    "limits allow {cap:,.0f} such users before requests are refused.",
    sec=s.seconds_per_request, m=s.machines, mb=sb.machines, cap=s.max_users_cloud);

# %% [markdown]
# ## 8. Putting it together: the decision matrix
#
# Weights for each criterion → a score per option, **with the reason for every score**. Cost and
# latency come from the functions above; capability, maintenance and scaling are judgements written
# in `decision.OPTIONS` — read them and disagree. Try the presets.

# %%
# NBVAL_CHECK_OUTPUT
for preset in decision.PRESETS:
    ranked = [s for s in decision.decision_compute(preset) if s.excluded is None]
    print(f"{preset:<22} -> {ranked[0].option.label}")

# %%
from labkit.course.widgets import DecisionMatrix

DecisionMatrix(preset="hospital records")

# %% [markdown]
# ## 9. Beyond one machine: change only the base URL
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
# > capability and elastic scale. The rule is wrong when volume is low (the machine and its upkeep
# > never pay off), when a small local model is good enough for a narrow task, or when "local" is a
# > rented GPU. Compare only models that pass your task.
#
# ## Exercises
#
# 1. Write `break_even(setup, input_price_per_m, output_price_per_m, prefill_tok_s, decode_tok_s)`
#    **without** `tradeoffs.break_even_tokens_per_day`: the tokens per day (3 input tokens for each
#    output token) above which `setup` (a `tradeoffs.LocalSetup`) is cheaper than the API; `math.inf`
#    when it never is. `setup.cost_per_day(busy_hours)` gives a day's cost part by part. The check
#    compares with the kit on a laptop, a workstation and a rented server.

# %% jupyter={"source_hidden": true} tags=["solution"]
import math


def break_even(setup: tradeoffs.LocalSetup, input_price_per_m: float, output_price_per_m: float,
               prefill_tok_s: float, decode_tok_s: float) -> float:
    """Tokens per day (3:1 input:output) above which the local setup is cheaper than the API."""
    fixed = sum(setup.cost_per_day(0).values())
    per_busy_hour = sum(setup.cost_per_day(1).values()) - fixed
    api_per_token = (0.75 * input_price_per_m + 0.25 * output_price_per_m) / 1e6
    hours_per_token = (0.75 / prefill_tok_s + 0.25 / decode_tok_s) / 3600
    margin = api_per_token - hours_per_token * per_busy_hour
    return math.inf if margin <= 0 else fixed / margin


# %%
from labkit.course import check

check.answer("05.1", break_even);

# %% [markdown]
# 2. Write `machines_for(users, requests_per_user_per_hour, tokens_in, tokens_out, prefill_tok_s,
#    decode_tok_s)`: how many machines, each serving one request at a time at these speeds, keep up
#    with the users. Then call it with this machine's speeds (`here.prefill_tok_s`,
#    `here.decode_tok_s`) for your own class or team.

# %% jupyter={"source_hidden": true} tags=["solution"]
def machines_for(users: int, requests_per_user_per_hour: float, tokens_in: int, tokens_out: int,
                 prefill_tok_s: float, decode_tok_s: float) -> int:
    """Machines needed: requests per second × seconds each request takes, rounded up."""
    per_second = users * requests_per_user_per_hour / 3600
    busy = per_second * (tokens_in / prefill_tok_s + tokens_out / decode_tok_s)
    return max(1, math.ceil(busy))


# %%
check.answer("05.2", machines_for);

# %% [markdown]
# 3. The latency explorer compares this machine's `smollm2:135m` with gpt-4o-mini. What does it
#    support? Answer `"a"`, `"b"` or `"c"`:
#    - a) whichever bar is shorter is the better choice for your application;
#    - b) the difference comes from the network round trip, so a faster connection decides it;
#    - c) nothing about your choice yet: the two models differ in what they can answer, so first find
#      the models that pass your task, then compare their latency.

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_3 = "c"

# %%
check.answer("05.3", answer_3);

# %% [markdown]
# Solutions with explanations: `notebooks/solutions/05_local_vs_cloud.md`.
#
# ## Where to go next
#
# Back to `01_running_local_llms` with your own GGUF model (`labkit models register`), or run the
# whole course against a real Ollama on a GPU machine by setting `OLLAMA_HOST`.
