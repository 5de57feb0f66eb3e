"""Measurements come from real, streamed generations in a clean process."""

from __future__ import annotations

import math

import pytest

from labkit import models
from labkit.engines import tokens
from labkit.measure import bench

PROMPT = "Explain in one sentence why the sky is blue."


# llama.cpp here; transformers is measured the same way by notebook 04 (bench.compare_engines) under nbval.
@pytest.mark.parametrize("engine", ["llama.cpp"])
def test_measure_one_generation(engine: str) -> None:
    m = bench.measure(engine, "smollm2:135m", PROMPT, max_tokens=12)
    assert m.engine == engine and m.model == "smollm2:135m"
    assert m.load_s > 0 and m.ttft_s > 0
    assert m.prompt_tokens == tokens.count("smollm2:135m", tokens.chat_prompt("smollm2:135m", PROMPT))
    assert 2 <= m.output_tokens <= 14  # the text is re-tokenized, so allow a token of slack
    assert m.decode_tok_s > 0 and not math.isnan(m.decode_tok_s)
    assert m.prefill_tok_s == pytest.approx(m.prompt_tokens / m.ttft_s)
    assert m.peak_rss_mb > m.rss_before_mb
    # The model's weights must show up in memory: at least the file for llama.cpp (mmap'd and read),
    # float32 parameters for transformers.
    floor = models.info("smollm2:135m").size / 2**20 * 0.5
    assert m.rss_increase_mb > floor
    assert m.text.strip()


def test_compare_engines_table_has_the_roofline() -> None:
    table = bench.compare_engines(engines=("llama.cpp",), max_tokens=8, plot=True)
    row = table.loc["llama.cpp"]
    assert row["ceiling_tok_s"] > row["decode_tok_s"] > 0
    assert 0 < row["of_ceiling"] < 1
    assert row["bytes_per_token_mb"] == pytest.approx(models.info("smollm2:135m").size / 2**20)


def test_sweep_returns_speeds_per_value() -> None:
    table = bench.sweep("n_batch", [32, 256], prompt_tokens=96, decode_tokens=4, plot=False)
    assert list(table.index) == [32, 256]
    assert (table["prefill_tok_s"] > 0).all() and (table["decode_tok_s"] > 0).all()
    with pytest.raises(ValueError, match="sweep over"):
        bench.sweep("n_ctx", [512])


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        bench.measure_here("vllm", "smollm2:135m", PROMPT)


def test_peer_server_bench_runs_the_kit_alone_without_building() -> None:
    """bench/peer_server.py: a tiny run that never builds llama-server (the peer only if already cached)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    import peer_server

    args = peer_server.parse(["--no-build", "--levels", "1", "--repeats", "1"])
    assert args.no_build and args.levels == [1] and args.slots == 8 and args.threads == 2
    version = peer_server.llama_cpp_version()
    sdist = peer_server.find_sdist(version)
    assert sdist is None or sdist.name == f"llama_cpp_python-{version}.tar.gz"
    results = peer_server.main(["--no-build", "--levels", "1", "--tokens", "8", "--repeats", "1",
                                "--long-streams", "0", "--slots", "2"])
    assert results["kit"]["decode@1"] > 0
    assert ("llama-server" in results) == (peer_server.cached_binary(version) is not None)
