"""Ollama model names: ``[host/][namespace/]model[:tag]``.

Ollama fills in ``registry.ollama.ai``, ``library`` and ``latest`` for the
parts you leave out, and compares names without regard to case. We follow
the same rules, and we validate every part with a strict pattern because the
parts become folder names in the store: a name such as ``../../etc`` must never
reach the file system. Introduced in notebooks/02_ollama.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

# Same character rules as Ollama (types/model/name.go): letters, digits,
# '_', '-', '.', starting with a letter or digit; a host may carry ":port".
# Matched with fullmatch: a pattern ending in ``$`` would also accept a name with a trailing newline.
_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,349}(:[0-9]{1,5})?")


class InvalidName(ValueError):
    """A model name that Ollama would refuse (and that could escape the store)."""


@dataclass(frozen=True)
class Name:
    """A parsed model name; ``str(name)`` gives the short display form."""

    host: str
    namespace: str
    model: str
    tag: str
    explicit_tag: bool = True

    @property
    def short(self) -> str:
        """Display form used by /api/tags, /api/ps, /api/show (``model:tag``)."""
        if self.host == DEFAULT_HOST:
            if self.namespace == DEFAULT_NAMESPACE:
                return f"{self.model}:{self.tag}"
            return f"{self.namespace}/{self.model}:{self.tag}"
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def full(self) -> str:
        """Fully qualified form, as in Ollama's "does not support tools" message."""
        return f"{self.host}/{self.namespace}/{self.model}:{self.tag}"

    @property
    def key(self) -> str:
        """Case-insensitive identity used to compare names."""
        return self.full.lower()

    def path_parts(self) -> tuple[str, str, str, str]:
        """Folder names for the manifest; safe because every part was validated."""
        return (self.host.lower().replace(":", "_"), self.namespace.lower(),
                self.model.lower(), self.tag.lower())

    def __str__(self) -> str:
        return self.short


def parse(text: str) -> Name:
    """Parse and validate a model name; raise :class:`InvalidName` if Ollama would refuse it."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidName("invalid model name")
    text = text.strip()
    if "@" in text:  # a digest suffix (name@sha256:...) is not supported here
        text = text.split("@", 1)[0]
    tag, explicit = DEFAULT_TAG, False
    head = text
    last = text.rsplit("/", 1)[-1]
    if ":" in last:
        head, tag = text.rsplit(":", 1)
        explicit = True
    parts = head.split("/")
    if len(parts) == 1:
        host, namespace, model = DEFAULT_HOST, DEFAULT_NAMESPACE, parts[0]
    elif len(parts) == 2:
        host, namespace, model = DEFAULT_HOST, parts[0], parts[1]
    elif len(parts) == 3:
        host, namespace, model = parts
    else:
        raise InvalidName("invalid model name")
    if not (_HOST.fullmatch(host) and _PART.fullmatch(namespace) and _PART.fullmatch(model)
            and _TAG.fullmatch(tag)):
        raise InvalidName("invalid model name")
    return Name(host, namespace, model, tag, explicit)


def is_valid(text: str) -> bool:
    """True if :func:`parse` accepts ``text``."""
    try:
        parse(text)
    except InvalidName:
        return False
    return True
