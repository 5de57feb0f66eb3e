"""Every lesson teaches its subtopic's key concepts: named in the text and, where code, exercised.

A concept counts as named when its phrase appears as whole words in a markdown cell (so "ps"
is not found inside "steps"), and as exercised when the given call appears in a code cell.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

# concept -> (words that must appear in the markdown, code that must appear in a code cell or None)
CONCEPTS = {
    "01_running_local_llms": {
        "privacy": ("privacy", None), "two architectures": ("inference server", "ensure_server("),
        "embedded engine": ("embedded engine", "llamacpp_chat("), "memory estimate": ("KV cache", "memory.estimate("),
        "measured RSS": ("RSS", "memory.measure("), "latency": ("time to first token", "bench.measure("),
        "bandwidth ceiling": ("memory bandwidth", "memory_bandwidth("), "threads": ("threads", 'sweep("n_threads"'),
        "GPU": ("GPU", "n_gpu_layers"), "will it fit": ("will it fit", "FitExplorer("),
    },
    "02_ollama": {
        "ChatOllama": ("ChatOllama", "ChatOllama("), "pulling": ("pull", ".pull("), "show": ("show", ".show("),
        "ps": ("ps", ".ps()"), "streaming": ("Streaming", ".stream("), "batch": ("batch", ".batch("),
        "num_ctx": ("num_ctx", "num_ctx="), "truncation": ("silently truncated", "prompt_eval_count"),
        "JSON mode": ("JSON", 'format="json"'), "structured output": ("with_structured_output", "with_structured_output("),
        "keep_alive": ("keep_alive", "keep_alive="), "create": ("Modelfile", ".create("),
        "raw HTTP": ("HTTP", "httpx.post("), "real Ollama": ("real Ollama", None),
    },
    "03_llamacpp": {
        "GGUF": ("GGUF", "quant.inspect("), "LlamaCpp": ("LlamaCpp", "LlamaCpp("), "ChatLlamaCpp": ("ChatLlamaCpp", "llamacpp_chat("),
        "n_ctx": ("n_ctx", "n_ctx="), "n_batch": ("n_batch", 'sweep("n_batch"'), "n_threads": ("n_threads", "n_threads="),
        "n_gpu_layers": ("n_gpu_layers", "gpu_layers("), "streaming": ("Streaming", ".stream("),
        "logits": ("logits", "compare_distributions("), "temperature": ("Temperature", "plot_temperatures("),
        "grammar": ("grammar", "json_schema_to_gbnf("), "quantization": ("quantization", "quant.quantize("),
        "ladder": ("perplexity", "ladder.ladder("),
    },
    "04_huggingface": {
        "HuggingFacePipeline": ("HuggingFacePipeline", "HuggingFacePipeline.from_model_id("),
        "model loading": ("config", "AutoConfig"), "dtype": ("dtype", "dtype="),
        "tokenizer": ("tokenizer", "tokenizer("), "special tokens": ("Special tokens", "special_tokens_map"),
        "chat template": ("chat template", "apply_chat_template("), "same ids as llama.cpp": ("llama.cpp", "same_ids("),
        "device placement": ("device_map", "pick_device("), "return_full_text": ("return_full_text", '"return_full_text": False'),
        "ChatHuggingFace": ("ChatHuggingFace", "hf_chat("), "compare engines": ("llama.cpp", "compare_engines("),
    },
    "05_local_vs_cloud": {
        "privacy": ("Privacy", "DATA_FLOWS"), "cost": ("Cost", "local_cost_per_month("), "break-even": ("break-even", "break_even"),
        "latency": ("Latency", "LatencyExplorer("), "capability": ("Capability", "evaluate.run("),
        "maintenance": ("Maintenance", None), "scaling": ("Scaling", "tradeoffs.scaling("),
        "decision matrix": ("decision matrix", "DecisionMatrix("), "OpenAI-compatible": ("OpenAI", "ChatOpenAI("),
    },
    "06_build_with_langchain": {
        "LCEL chain": ("LCEL", "prompt | llm | StrOutputParser()"), "engine swap": ("swap", "engines.chat_model("),
        "structured output": ("with_structured_output", ".with_structured_output(Person)"),
        "grammar": ("grammar", None), "fallback": ("fallback", ".with_fallbacks("),
        "tool calling": ("bind_tools", ".bind_tools([get_weather, convert_currency])"),
        "tool message": ("ToolMessage", "ToolMessage)"), "agent": ("create_agent", "create_agent("),
        "middleware": ("middleware", "@wrap_model_call"),
        "tool_choice": ("tool_choice", 'tool_choice="any"'), "async": ("ainvoke", ".ainvoke("),
        "streaming async": ("astream", ".astream("), "batching": ("abatch", "asyncio.gather("),
    },
    "07_private_assistant": {
        "embeddings": ("HuggingFaceEmbeddings", "store.embeddings("), "vector store": ("Qdrant", "QdrantVectorStore("),
        "on disk": ("kernel restart", "QdrantClient(path="), "incremental index": ("sha256", "sync(vector_store"),
        "retrieval chain": ("LCEL", "as_retriever("), "JSON schema": ("grounded.SCHEMA", "grounded.parse("),
        "answered by score": ("MIN_SCORE", "grounded.MIN_SCORE"), "what labkit ask runs": ("labkit ask", "grounded.build("),
        "graded per kind": ("paraphrased", "evaluate.by_kind("), "num_ctx for k chunks": ("num_ctx", "num_ctx=n"),
        "own documents": ("MY_DOCS", "cli.main("),
        "privacy proof": ("loopback", "privacy.only_loopback("), "OS view": ("server_pid", "privacy.watching("),
    },
}


def _split(script: Path) -> tuple[str, str]:
    """(markdown text, code text) of a py:percent script."""
    markdown, code = [], []
    for cell in re.split(r"^# %%", script.read_text(), flags=re.M)[1:]:
        if cell.startswith(" [markdown]"):
            markdown.append(cell)
        else:
            code.append(cell)
    return "\n".join(markdown), "\n".join(code)


@pytest.mark.parametrize("lesson", sorted(CONCEPTS))
def test_lesson_teaches_its_concepts(lesson: str) -> None:
    markdown, code = _split(NOTEBOOKS / f"{lesson}.py")
    missing = []
    for concept, (words, call) in CONCEPTS[lesson].items():
        if not re.search(rf"(?<!\w){re.escape(words)}(?!\w)", markdown, flags=re.I):
            missing.append(f"{concept}: '{words}' not in the text")
        if call is not None and call not in code:
            missing.append(f"{concept}: '{call}' not in the code")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("lesson", sorted(CONCEPTS))
def test_lesson_has_objectives_recall_and_exercises(lesson: str) -> None:
    markdown, code = _split(NOTEBOOKS / f"{lesson}.py")
    for heading in ("You will learn to", "Time:", "## Recall", "## Exercises", "## Where to go next"):
        assert heading in markdown, f"{lesson} lacks '{heading}'"
    checks = re.findall(r'check\.answer\("(\d\d\.\d)"', code)
    assert 3 <= len(checks) <= 5 and all(c.startswith(lesson[:2]) for c in checks)
    assert (NOTEBOOKS / "solutions" / f"{lesson}.md").exists()
