"""The memory estimate, part by part, and checked against real llama.cpp runs of the course models.

Each real run happens in a fresh Python process (``memory.measure``), so its RSS holds nothing
but llama.cpp and the model. The runs go one after another: two llama.cpp processes with two
threads each on a 2-core machine spin-wait on each other and can take ten times as long.

The estimate's runtime constants were fitted on the two course models at n_ctx 512, 2048 and
8192, so the checks against RSS use other context sizes (1024 and 4096) and a third file that
took no part in the fit: SmolLM2's F16 export (four times the weights, no repacked copy).
"""

import pytest

from labkit import models
from labkit.measure import memory

MIB = memory.MIB
COURSE_MODELS = ["smollm2:135m", "gemma3:270m"]
CASES = [("smollm2:135m", 1024), ("smollm2:135m", 4096), ("gemma3:270m", 1024)]
F16 = ("smollm2-f16", 2048, True)
SLIDING = ("gemma3:270m", 8192, False)  # Gemma 3 with a sliding-window-sized cache on its local layers


@pytest.fixture(scope="module")
def runs():
    paths = {name: models.path(name) for name in COURSE_MODELS}
    paths["smollm2-f16"] = models.f16_path("smollm2:135m")
    jobs = [(name, n_ctx, True) for name, n_ctx in CASES] + [SLIDING, F16]
    measured = {job: memory.measure(paths[job[0]], job[1], swa_full=job[2]) for job in jobs}
    shapes = {name: memory.shape(paths[name] if name == "smollm2-f16" else name) for name in paths}
    return shapes, measured


def test_resident_estimate_of_a_file_outside_the_fit(runs):
    shapes, measured = runs
    run = measured[F16]
    guess = memory.estimate(shapes["smollm2-f16"], F16[1], prompt_tokens=run.prompt_tokens)
    assert guess.weights_repacked == 0  # F16 matrices are not repacked
    assert guess.total_resident == pytest.approx(run.rss_increase, rel=0.15), (guess.mib(), run)


@pytest.mark.parametrize("name,n_ctx", CASES)
def test_resident_estimate_within_15_percent_of_rss(runs, name, n_ctx):
    shapes, measured = runs
    run = measured[(name, n_ctx, True)]
    guess = memory.estimate(shapes[name], n_ctx, prompt_tokens=run.prompt_tokens)
    assert guess.total_resident == pytest.approx(run.rss_increase, rel=0.15), (guess.mib(), run)
    # reserved is what llama.cpp asks for; on a CPU far less of it is ever touched
    assert guess.total_reserved > run.rss_increase


@pytest.mark.parametrize("name,n_ctx", CASES)
def test_kv_cache_matches_llama_cpp_within_1_percent(runs, name, n_ctx):
    shapes, measured = runs
    run = measured[(name, n_ctx, True)]
    assert run.reported_kv is not None, "llama.cpp's log had no 'llama_kv_cache: size' line"
    assert memory.kv_cache_bytes(shapes[name], n_ctx) == pytest.approx(run.reported_kv, rel=0.01)


def test_sliding_window_cache_of_gemma3(runs):
    shapes, measured = runs
    run = measured[SLIDING]
    gemma = shapes["gemma3:270m"]
    small = memory.kv_cache_bytes(gemma, 8192, swa_full=False)
    assert small == pytest.approx(run.reported_kv, rel=0.01)
    assert memory.estimate(gemma, 8192, swa_full=False, prompt_tokens=run.prompt_tokens).total_resident == \
        pytest.approx(run.rss_increase, rel=0.15)
    # 3 global layers keep 8192 cells, 15 local layers keep 512 + 512 = 1024 cells; 1 KiB per cell and layer
    assert small == (3 * 8192 + 15 * 1024) * 1024
    assert memory.kv_cache_bytes(gemma, 8192) == 18 * 8192 * 1024


@pytest.mark.parametrize("name,n_ctx", CASES)
def test_ollama_compute_formula_is_what_llama_cpp_reserves(runs, name, n_ctx):
    shapes, measured = runs
    run = measured[(name, n_ctx, True)]
    assert memory.compute_buffer_reserved(shapes[name], n_ctx) == pytest.approx(run.reported_compute, rel=0.05)


def test_weights_match_llama_cpp_model_buffers(runs):
    # llama.cpp reports the mapped file tensors, plus a repacked copy of some 4-bit matrices
    # where the CPU has kernels for them (x86 AVX2 here: Gemma's Q4_K matrices)
    shapes, measured = runs
    for name in COURSE_MODELS:
        guess = memory.estimate(shapes[name], 1024)
        reported = measured[(name, 1024, True)].reported_weights
        assert reported in (pytest.approx(guess.weights, rel=0.01),
                            pytest.approx(guess.weights + guess.weights_repacked, rel=0.01))


# --- shapes -------------------------------------------------------------------------------------

def test_shape_from_gguf_reads_the_course_models(runs):
    shapes, _ = runs
    smol, gemma = shapes["smollm2:135m"], shapes["gemma3:270m"]
    assert (smol.name, smol.layers, smol.heads, smol.kv_heads, smol.head_dim, smol.d_model, smol.vocab) == \
        ("smollm2:135m", 30, 9, 3, 64, 576, 49152)
    assert smol.swa_layers == 0 and smol.weight_bytes < models.info("smollm2:135m").size
    assert (gemma.layers, gemma.kv_heads, gemma.head_dim, gemma.sliding_window, gemma.swa_layers) == (18, 1, 256, 512, 15)
    assert gemma.repack_bytes > 0
    # reading a 262k vocabulary takes seconds, so the header is remembered in the model store
    assert len(list((models.store_root() / "gguf").glob("*.json"))) >= 2
    assert memory.shape_from_gguf(models.path("gemma3:270m")) == memory.shape_from_gguf(models.path("gemma3:270m"))


def _table_row(name: str) -> dict[str, str]:
    import csv

    from labkit import DATA_DIR

    with (DATA_DIR / "common_models.csv").open(newline="", encoding="utf-8") as handle:
        return next(row for row in csv.DictReader(handle) if row["name"] == name)


def test_shape_from_table_and_errors(tmp_path):
    llama, row = memory.shape_from_table("Llama-3.1-8B"), _table_row("llama-3.1-8b")  # names ignore case
    assert (llama.layers, llama.kv_heads, llama.head_dim, llama.context) == \
        tuple(int(row[key]) for key in ("layers", "kv_heads", "head_dim", "context"))
    assert llama.heads * llama.head_dim == llama.d_model and llama.heads % llama.kv_heads == 0
    gemma, row = memory.shape_from_table("gemma-3-27b"), _table_row("gemma-3-27b")
    every = int(row["full_attention_every"])  # one global-attention layer in every `every`, the rest local
    assert gemma.swa_layers == gemma.layers - gemma.layers // every
    with pytest.raises(KeyError, match="llama-3.1-8b"):
        memory.shape_from_table("gpt-7")
    with pytest.raises(KeyError, match="smollm2:135m"):
        memory.shape("no-such-model")
    with pytest.raises(FileNotFoundError, match="gguf"):
        memory.shape_from_gguf(tmp_path / "missing.gguf")
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_bytes(b"not a gguf file at all")
    with pytest.raises(ValueError, match="GGUF"):
        memory.shape_from_gguf(not_gguf)


# --- hand-checked formulas ----------------------------------------------------------------------

def test_kv_cache_formula_against_published_figures():
    # 2 × 32 layers × 4096 × 8 kv heads × 128 × 2 bytes = 512 MiB (the figure llama.cpp PR #10136 quotes)
    llama = memory.shape_from_table("llama-3.1-8b")
    assert memory.kv_cache_bytes(llama, 4096) == 512 * MIB
    assert memory.kv_cache_bytes(llama, 131072) == 16 * 1024 * MIB
    assert memory.kv_cache_bytes(llama, 4096, kv_type="q8_0") == 272 * MIB   # 34 bytes per 32 values, not 2 per value
    assert memory.kv_cache_bytes(llama, 4096, kv_type="q4_0") == 144 * MIB   # 18 bytes per 32 values
    assert memory.kv_cache_bytes(llama, 4096, n_parallel=4) == 2048 * MIB   # Ollama's 4 parallel slots
    assert memory.kv_cache_bytes(memory.shape_from_table("qwen2.5-0.5b"), 2048) == 24 * MIB
    assert memory.kv_cache_bytes(memory.shape_from_table("llama-2-7b"), 4096) == 2048 * MIB
    assert memory.padded_context(1000) == 1024


def test_compute_formula_matches_llama3_log_lines():
    # Llama-3-8B, n_ubatch 512, ctx 4096: the attention term 296.0 MiB, the logits term 258.5 MiB
    llama = memory.shape_from_table("llama-3.1-8b")
    assert memory.compute_buffer_reserved(llama, 4096) / MIB == pytest.approx(296.0, abs=0.01)
    assert 4 * 512 * (llama.d_model + llama.vocab) / MIB == pytest.approx(258.5, abs=0.01)


def test_estimate_for_a_table_model_and_fits():
    guess = memory.estimate("llama-3.1-8b", 4096, bits_per_weight=4.84)
    assert guess.weights == pytest.approx(8_030_261_248 * 4.84 / 8)
    assert guess.weights_repacked == 0
    assert guess.kv_cache == 512 * MIB
    assert guess.total_reserved == pytest.approx(guess.weights + guess.kv_cache + guess.compute_reserved + guess.overhead)
    assert guess.compute_resident < guess.compute_reserved
    assert memory.fits(guess, 16) and not memory.fits(guess, 4)
    assert not memory.fits(memory.estimate("llama-3.1-8b", 131072, bits_per_weight=4.84), 16)
    assert set(guess.mib()) >= {"weights", "kv_cache", "compute_reserved", "compute_resident", "overhead"}
    assert "total_resident" in str(guess)


def test_bad_settings_say_what_to_do():
    llama = memory.shape_from_table("llama-3.1-8b")
    with pytest.raises(ValueError, match="give the number"):
        memory.estimate(llama, 0)
    with pytest.raises(ValueError, match="q8_0"):
        memory.kv_cache_bytes(llama, 4096, kv_type="q3")
