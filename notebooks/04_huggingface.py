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
# # 04 · Hugging Face local models (LC1.2.5.4)
#
# The third way to run a model locally: **transformers + torch inside your Python process**,
# wrapped by LangChain's `HuggingFacePipeline`. It is the research path — every architecture on the
# Hugging Face hub, fine-tuning, full access to the network — and it pays for that in memory and speed.
#
# **You will learn to**
# - load a local model folder with `HuggingFacePipeline.from_model_id` (config, weights, dtype, memory);
# - read a tokenizer: tokens, ids, special tokens, the chat template — and check they match llama.cpp's;
# - choose where the model runs (`device`, `device_map="auto"`; cpu / cuda / mps);
# - avoid the `return_full_text` trap with `ChatHuggingFace`;
# - compare the same prompt on transformers and llama.cpp, and explain the gap.
#
# **Time:** about 25 minutes. Everything runs offline: the model folder is exported from the course's
# GGUF file on first use (`labkit.models.hf_dir`), no hub download.

# %%
import warnings

warnings.filterwarnings("ignore")

import torch

from labkit import engines, models
from labkit.engines import tokens
from labkit.system.logs import quiet_transformers

quiet_transformers()  # no "Loading weights" progress bar on every load

folder = models.hf_dir("smollm2:135m")
for file in sorted(folder.iterdir()):
    print(f"{file.name:<28} {file.stat().st_size / 1e6:8.1f} MB")

# %% [markdown]
# ## 1. Model loading: a folder, a config, weights
#
# A Hugging Face model is a folder: `config.json` (the architecture), the weights
# (`model.safetensors`) and the tokenizer files. Our folder was made from the GGUF file by
# transformers' own GGUF reader, which **dequantizes** the 4-bit weights to float32 — the weights
# on disk are now 4 bytes each.

# %%
# NBVAL_CHECK_OUTPUT
from transformers import AutoConfig

config = AutoConfig.from_pretrained(folder)
params = models.info("smollm2:135m").parameters
print(f"architecture: {config.model_type}, {config.num_hidden_layers} layers, hidden size {config.hidden_size}, "
      f"{config.num_attention_heads} heads ({config.num_key_value_heads} for keys/values), vocabulary {config.vocab_size}")
print(f"parameters: {params / 1e6:.1f} M")
print(f"float32 weights: {params * 4 / 1e6:.0f} MB  vs  the GGUF file: {models.info('smollm2:135m').size / 1e6:.0f} MB")

# %% [markdown]
# Now the LangChain call itself. `from_model_id` accepts a hub id *or a local folder*; with a folder
# and `HF_HUB_OFFLINE=1` nothing touches the network.

# %%
from langchain_huggingface import HuggingFacePipeline

llm = HuggingFacePipeline.from_model_id(
    model_id=str(folder),
    task="text-generation",
    pipeline_kwargs={"max_new_tokens": 8, "do_sample": False},
)
print(repr(llm.invoke("The capital of France is")))

# %% [markdown]
# Notice the answer **starts with the prompt**: a text-generation pipeline returns the full text by
# default. Chains then feed the prompt back into the next step. The fix is one pipeline argument:

# %%
# NBVAL_CHECK_OUTPUT
llm = HuggingFacePipeline.from_model_id(
    model_id=str(folder),
    task="text-generation",
    pipeline_kwargs={"max_new_tokens": 8, "do_sample": False, "return_full_text": False},
)
print(repr(llm.invoke("The capital of France is")))

# %% [markdown]
# What did we load, and where does it live?

# %%
model = llm.pipeline.model
print("device:", llm.pipeline.device, "| dtype:", model.dtype)
print(f"memory footprint: {model.get_memory_footprint() / 1e6:.0f} MB")

# %% [markdown]
# ## 2. Tokenizers: what the model actually reads
#
# The model never sees text, only token ids. The tokenizer travels with the model: using another
# model's tokenizer gives garbage.

# %%
# NBVAL_CHECK_OUTPUT
tokenizer = llm.pipeline.tokenizer
text = "Local models keep your data on your machine."
ids = tokenizer(text, add_special_tokens=False)["input_ids"]
print(len(ids), "tokens:", ids)
print([tokenizer.decode([i]) for i in ids])

# %% [markdown]
# **Special tokens** mark structure. SmolLM2 uses ChatML: `<|im_start|>` and `<|im_end|>` open and
# close each turn, and the **chat template** (shipped with the tokenizer) writes them for you:

# %%
# NBVAL_CHECK_OUTPUT
print(tokenizer.special_tokens_map)
messages = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]
print(tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True))

# %% [markdown]
# llama.cpp reads the same vocabulary from the GGUF file. Do both engines turn the same text into
# the same ids? (If they did not, the same weights would give different answers.)

# %%
# NBVAL_CHECK_OUTPUT
chat_text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
print("same ids for the plain text:", tokens.same_ids("smollm2:135m", text))
print("same ids for the chat text: ", tokens.same_ids("smollm2:135m", chat_text))
tokens.show_tokens("smollm2:135m", chat_text).head(8)

# %% [markdown]
# ## 3. Chat: `ChatHuggingFace` and the template
#
# `ChatHuggingFace` applies the chat template to LangChain messages. With the default pipeline it
# would also return the template and the question: `labkit.engines.hf_chat` builds it on a pipeline
# with `return_full_text=False`. A base model without a chat template (our Gemma 3 270M) cannot be
# used this way at all.

# %%
# NBVAL_CHECK_OUTPUT
chat = engines.hf_chat("smollm2:135m", max_new_tokens=12)
print(chat.invoke("What is the capital of France? Answer in one word.").content)

# %% [markdown]
# ## 4. Device placement
#
# `HuggingFacePipeline` runs on the CPU unless told otherwise — even when a GPU is present (it only
# logs a line). Choose explicitly:
#
# | you pass | what happens |
# |---|---|
# | nothing / `device=-1` | CPU |
# | `device=0` | the first CUDA GPU |
# | `device_map="auto"` | accelerate spreads layers over GPUs, then CPU RAM, then disk |
# | `model_kwargs={"dtype": torch.bfloat16}` | half the memory of float32 |
#
# `labkit.engines.pick_device("auto")` picks cuda → mps → cpu and says which:

# %%
device = engines.pick_device("auto")
if device == "cpu":
    print("No GPU here: everything below runs on the CPU. On a CUDA machine, "
          "engines.hf_pipeline(device='auto') would load the model with device_map='cuda'.")
else:
    gpu_llm = engines.hf_pipeline("smollm2:135m", device=device, max_new_tokens=8)
    print("loaded on", gpu_llm.pipeline.model.device, "->", repr(gpu_llm.invoke("The capital of France is")))

# %% [markdown]
# **dtype** decides memory. bfloat16 halves it (at a small cost in precision; on many CPUs it is
# also slower, since they lack fast bfloat16 arithmetic):

# %%
# NBVAL_CHECK_OUTPUT
from transformers import AutoModelForCausalLM

for dtype in (torch.float32, torch.bfloat16):
    m = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    print(f"{str(dtype):<15} {m.get_memory_footprint() / 1e6:6.0f} MB")
    del m

# %% [markdown]
# ## 5. Generation settings
#
# Greedy decoding (`do_sample=False`) is reproducible; sampling trades that for variety, and a
# fixed seed makes it reproducible again.

# %%
from transformers import set_seed

prompt = "Write a name for a cat:"
sampled = {"do_sample": True, "temperature": 1.0, "top_p": 0.95}
for label, seed, kwargs in [("greedy", 0, {"do_sample": False}), ("sampled, seed 0", 0, sampled),
                            ("sampled, seed 1", 1, sampled), ("sampled, seed 0 again", 0, sampled)]:
    set_seed(seed)
    out = llm.pipeline(prompt, max_new_tokens=8, return_full_text=False, **kwargs)[0]["generated_text"]
    print(f"{label:<22} {out!r}")

# %% [markdown]
# ## 6. The same prompt on transformers and on llama.cpp
#
# Same model, same prompt, greedy, each engine in a fresh process. Decode speed is bounded by how
# many bytes of weights each token must read: ~540 MB of float32 for transformers, ~98 MB of Q4_1 for
# llama.cpp. The black marks are this machine's ceiling (memory bandwidth / bytes per token).

# %%
from labkit.measure import bench

table = bench.compare_engines("smollm2:135m", "Explain in two sentences why the sky is blue.",
                              max_tokens=24, engines=("llama.cpp", "transformers"))
table[["load_s", "ttft_s", "decode_tok_s", "ceiling_tok_s", "peak_rss_mb"]].round(2)

# %% [markdown]
# ## When to take this path
#
# - **Yes:** research and teaching (every layer and logit is a torch tensor), fine-tuning (LoRA,
#   PEFT), architectures llama.cpp does not support yet, GPU servers with plenty of memory.
# - **No:** laptops and edge devices where memory and speed matter: quantized GGUF in llama.cpp or
#   Ollama reads 4–8× fewer bytes per token.
#
# ## Recall
#
# > `HuggingFacePipeline` runs a full-precision model inside your process: the most flexible path,
# > and the heaviest — you choose the device and dtype, and you must keep the prompt out of the output.
#
# ## Exercises

# %% [markdown]
# 1. How many **bytes** do the float32 weights of the exported SmolLM2 take?

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_1 = models.info("smollm2:135m").parameters * 4

# %%
import labkit

labkit.course.check.answer("04.1", answer_1);

# %% [markdown]
# 2. Which pipeline argument stops `HuggingFacePipeline` from echoing the prompt? (Give it as `name=value`.)

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_2 = "return_full_text=False"

# %%
labkit.course.check.answer("04.2", answer_2);

# %% [markdown]
# 3. What is the token id of `<|im_start|>` in SmolLM2's vocabulary?

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_3 = tokenizer.convert_tokens_to_ids("<|im_start|>")

# %%
labkit.course.check.answer("04.3", answer_3);

# %% [markdown]
# Solutions: `notebooks/solutions/04_huggingface.md`.
#
# ## Where to go next
#
# `05_local_vs_cloud` puts these speed and memory figures next to cloud prices and latencies.
