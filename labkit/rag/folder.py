"""Your own documents: a folder of ``.md`` and ``.txt`` files as LangChain ``Document`` chunks.

Each file becomes chunks whose metadata holds the file's path relative to the folder (under
``note_id``, the key the rest of :mod:`labkit.rag` cites by, so a file is cited like a clinic
note) and the sha256 of its content, which :mod:`labkit.rag.sync` uses to embed only new or
changed files. Files that are not UTF-8 text are skipped and named. Introduced in
notebooks/07_private_assistant; ``labkit ask`` uses it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUFFIXES = (".md", ".txt")


@dataclass
class Folder:
    """The readable files of a folder: ``{relative path: text}``, and the files skipped."""

    root: Path
    texts: dict[str, str]
    skipped: list[str] = field(default_factory=list)

    def digest(self, path: str) -> str:
        """The sha256 of one file's text: what the index is keyed by."""
        return hashlib.sha256(self.texts[path].encode()).hexdigest()


def read(root: str | Path) -> Folder:
    """Every ``.md`` and ``.txt`` file under ``root`` (recursively, hidden folders left out).

    Raises ``FileNotFoundError`` for a missing folder and ``ValueError`` when no file is readable.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"no such folder: {root}")
    texts: dict[str, str] = {}
    skipped: list[str] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.suffix.lower() not in SUFFIXES or not path.is_file() or any(p.startswith(".") for p in relative.parts):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            skipped.append(str(relative))
            continue
        if text.strip():
            texts[relative.as_posix()] = text
    if not texts:
        raise ValueError(f"no readable .md or .txt file in {root}")
    return Folder(root, texts, skipped)


def split(texts: dict[str, str], chunk_size: int = 800, overlap: int = 100,
          extra: dict[str, dict[str, Any]] | None = None) -> list[Any]:
    """``{id: text}`` as ``Document`` chunks with ``note_id`` (and ``extra[id]``) in their metadata.

    Markdown is split at headings and paragraphs first (``RecursiveCharacterTextSplitter``'s
    markdown separators), so a chunk tends to hold one section.
    """
    from langchain_core.documents import Document
    from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter.from_language(Language.MARKDOWN, chunk_size=chunk_size,
                                                            chunk_overlap=overlap)
    extra = extra or {}
    return [Document(page_content=piece, metadata={"note_id": key, **extra.get(key, {})})
            for key, text in texts.items() for piece in splitter.split_text(text)]
