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
# **Time:** about 25 minutes, plus 15 for the exercises. Everything runs offline: the model folder
# is exported from the course's GGUF file on first use (`labkit.models.hf_dir`), no hub download.

# %%
import torch

from labkit import engines, models
from labkit.course.claims import claim, say, times
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
#
# Mind what that float32 is: every weight is still one of the values the Q4_1 file could store,
# written out in 32 bits. It is **not** the original full-precision model (SmolLM2 was trained and
# released in bfloat16); more bytes do not bring back what quantization rounded away. Lesson 03's
# float32 MiniLM tensor is what genuinely full-precision weights look like.

# %%
# NBVAL_CHECK_OUTPUT
from transformers import AutoConfig

config = AutoConfig.from_pretrained(folder)
params = models.info("smollm2:135m").parameters
print(f"architecture: {config.model_type}, {config.num_hidden_layers} layers, hidden size {config.hidden_size}, "
      f"{config.num_attention_heads} heads ({config.num_key_value_heads} for keys/values), vocabulary {config.vocab_size}")
print(f"parameters: {params / 1e6:.1f} M")
print(f"float32 weights: {params * 4 / 1e6:.0f} MB  vs  the GGUF file: {models.info('smollm2:135m').size / 1e6:.0f} MB")

# %%
safetensors = sum(f.stat().st_size for f in folder.glob("*.safetensors"))
say("The safetensors file holds {mb:.0f} MB: {ratio} the GGUF file, for the same values.",
    mb=safetensors / 1e6, ratio=times(safetensors, models.info("smollm2:135m").size));

# %% [markdown]
# Now the LangChain call itself. `from_model_id` accepts a hub id *or a local folder*; with a folder
# and `HF_HUB_OFFLINE=1` nothing touches the network.
#
# **Why "heavy" with the hub** (explained here, not run — the course stays offline). Given a hub id
# such as `"meta-llama/Llama-3.1-8B-Instruct"`, `from_model_id` downloads the whole repository into
# the hub cache (`~/.cache/huggingface/hub`, or `$HF_HOME`): for an 8B model, about 16 GB of bfloat16
# safetensors, once per model and revision, before the first token. Many popular models are
# **gated**: you accept the licence on the model's page, create an access token, and give it to the
# library as `HF_TOKEN` (or `huggingface-cli login`); without it the download fails with a 401. Once
# cached, `HF_HUB_OFFLINE=1` makes every later load use the disk only. Compare a 4–5 GB Q4_K_M
# GGUF file for the same model in Ollama or llama.cpp.

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
# **dtype** decides memory: bfloat16 stores each weight in 2 bytes instead of 4 (at a small cost in
# precision; on many CPUs it is also slower, since they lack fast bfloat16 arithmetic):

# %%
# NBVAL_CHECK_OUTPUT
from transformers import AutoModelForCausalLM

footprint = {}
for dtype in (torch.float32, torch.bfloat16):
    m = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
    footprint[dtype] = m.get_memory_footprint()
    print(f"{str(dtype):<15} {footprint[dtype] / 1e6:6.0f} MB")
    del m

# %%
claim("bfloat16 halves the memory of the weights.",
      abs(footprint[torch.bfloat16] / footprint[torch.float32] - 0.5) < 0.01,
      f"{footprint[torch.float32] / 1e6:.0f} MB in float32, {footprint[torch.bfloat16] / 1e6:.0f} MB in bfloat16");

# %% [markdown]
# ## 5. Generation settings
#
# Greedy decoding (`do_sample=False`) is reproducible; sampling trades that for variety, and a
# fixed seed makes it reproducible again.

# %%
from transformers import set_seed

prompt = "Write a name for a cat:"
sampled = {"do_sample": True, "temperature": 1.0, "top_p": 0.95}
outs = {}
for label, seed, kwargs in [("greedy", 0, {"do_sample": False}), ("sampled, seed 0", 0, sampled),
                            ("sampled, seed 1", 1, sampled), ("sampled, seed 0 again", 0, sampled)]:
    set_seed(seed)
    outs[label] = llm.pipeline(prompt, max_new_tokens=8, return_full_text=False, **kwargs)[0]["generated_text"]
    print(f"{label:<22} {outs[label]!r}")

# %%
claim("The same seed repeats a sampled answer.", outs["sampled, seed 0"] == outs["sampled, seed 0 again"],
      f"{outs['sampled, seed 0']!r} both times" if outs["sampled, seed 0"] == outs["sampled, seed 0 again"]
      else f"{outs['sampled, seed 0']!r} then {outs['sampled, seed 0 again']!r}");

# %% [markdown]
# ## 6. The same prompt on transformers and on llama.cpp
#
# Same model, same prompt, greedy, each engine in a fresh process. Decode speed is bounded by how
# many bytes of weights each token must read: all the float32 weights for transformers, the Q4_1
# file for llama.cpp. The black marks are this machine's ceiling (memory bandwidth / bytes per token).

# %%
from labkit.measure import bench

table = bench.compare_engines("smollm2:135m", "Explain in two sentences why the sky is blue.",
                              max_tokens=24, engines=("llama.cpp", "transformers"))
table[["load_s", "ttft_s", "decode_tok_s", "ceiling_tok_s", "peak_rss_mb"]].round(2)

# %%
cpp, hf = table.loc["llama.cpp"], table.loc["transformers"]
claim("llama.cpp decodes faster than transformers here: it reads fewer bytes per token.",
      cpp.decode_tok_s > hf.decode_tok_s,
      f"{cpp.decode_tok_s:.0f} against {hf.decode_tok_s:.0f} tokens/s, reading {cpp.bytes_per_token_mb:.0f} "
      f"against {hf.bytes_per_token_mb:.0f} MiB per token")
say("Per token, transformers reads {bytes} the bytes and decoded {speed} slower; it also held {rss} the peak "
    "memory ({hr:.0f} against {cr:.0f} MiB). Transformers reached {hs:.0%} of its bandwidth ceiling and "
    "llama.cpp {cs:.0%}: {why}",
    bytes=times(hf.bytes_per_token_mb, cpp.bytes_per_token_mb), speed=times(cpp.decode_tok_s, hf.decode_tok_s),
    rss=times(hf.peak_rss_mb, cpp.peak_rss_mb), hr=hf.peak_rss_mb, cr=cpp.peak_rss_mb, hs=hf.of_ceiling,
    cs=cpp.of_ceiling,
    why=("the bytes explain most of the gap; torch's overhead per operation adds the rest."
         if hf.of_ceiling < cpp.of_ceiling else
         "the bytes explain the gap; with so few bytes per token, llama.cpp's fixed costs per token weigh more."));

# %% [markdown]
# ## When to take this path
#
# - **Yes:** research and teaching (every layer and logit is a torch tensor), fine-tuning (LoRA,
#   PEFT), architectures llama.cpp does not support yet, GPU servers with plenty of memory.
# - **No:** laptops and edge devices where memory and speed matter: a quantized GGUF in llama.cpp or
#   Ollama reads several times fewer bytes per token, as measured above.
#
# ## Recall
#
# > `HuggingFacePipeline` runs a full-precision model inside your process: the most flexible path,
# > and the heaviest — you choose the device and dtype, and you must keep the prompt out of the output.
#
# ## Exercises
#
# 1. Write `count_tokens_hf(text)`: the number of tokens in `text` by the **transformers** tokenizer
#    of the kit's export (`AutoTokenizer.from_pretrained(models.hf_dir("smollm2:135m"))`), special
#    tokens written in the text parsed as such, none added. The check compares with llama.cpp's
#    count on four texts, a chat-formatted one among them.

# %% jupyter={"source_hidden": true} tags=["solution"]
from transformers import AutoTokenizer

hf_tokenizer = AutoTokenizer.from_pretrained(models.hf_dir("smollm2:135m"))


def count_tokens_hf(text: str) -> int:
    """Tokens of ``text`` by the transformers tokenizer, no special tokens added."""
    return len(hf_tokenizer(text, add_special_tokens=False)["input_ids"])


# %%
from labkit.course import check

check.answer("04.1", count_tokens_hf);

# %% [markdown]
# 2. Write `make_pipeline()`: a `HuggingFacePipeline` on the kit's export of `smollm2:135m`, on the
#    CPU, greedy, at most 20 new tokens, and without the prompt echo. The check runs it twice.

# %% jupyter={"source_hidden": true} tags=["solution"]
def make_pipeline() -> HuggingFacePipeline:
    """Greedy, short, no echo, CPU."""
    return HuggingFacePipeline.from_model_id(
        model_id=str(models.hf_dir("smollm2:135m")), task="text-generation", device=-1,
        pipeline_kwargs={"max_new_tokens": 20, "do_sample": False, "return_full_text": False})


# %%
check.answer("04.2", make_pipeline);

# %% [markdown]
# 3. Section 1 exported SmolLM2 to float32: four bytes per weight instead of about five bits. Why is
#    this export **not** more accurate than the Q4_1 file it came from? Answer `"a"`, `"b"` or `"c"`:
#    - a) it was made by expanding the Q4_1 file, so every weight is still one of the values Q4_1
#      could store;
#    - b) float32 arithmetic is less precise than llama.cpp's quantized arithmetic;
#    - c) transformers runs a different model architecture than llama.cpp.

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_3 = "a"

# %%
check.answer("04.3", answer_3);

# %% [markdown]
# Solutions with explanations: `notebooks/solutions/04_huggingface.md`.
#
# ## Where to go next
#
# `05_local_vs_cloud` puts these speed and memory figures next to cloud prices and latencies.
