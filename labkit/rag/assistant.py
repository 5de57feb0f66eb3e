"""The assistant: retrieve notes, answer from them with a local model, cite the note used.

An LCEL chain: the retriever finds the ``k`` closest chunks, the prompt puts them (each under its
note id) before the question, and the chat model answers in its own words. The citation is then
worked out from the answer, not asked of the model: the retrieved note that shares the most words
with the answer (a 135M-parameter model asked to write ids as well answers worse, and cites
notes it did not use). The reply keeps ``prompt_eval_count``: how many prompt tokens the server
actually read (fewer than the prompt means ``num_ctx`` cut it). Introduced in
notebooks/07_private_assistant.
"""

from __future__ import annotations

import re
from typing import Any

SYSTEM = "Clinic notes:\n\n{context}\n\nAnswer the question with the exact words from the note."


def context(docs: list[Any]) -> str:
    """The retrieved chunks, each under its note id."""
    return "\n\n".join(f"[{doc.metadata['note_id']}]\n{doc.page_content}" for doc in docs)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 1}


def cite(answer: str, docs: list[Any]) -> str | None:
    """The retrieved note sharing the most words with ``answer`` (the best-ranked on a tie)."""
    best, best_overlap = None, 0
    said = _words(answer)
    for doc in docs:
        overlap = len(said & _words(doc.page_content))
        if overlap > best_overlap:
            best, best_overlap = doc.metadata["note_id"], overlap
    return best


def build(store: Any, llm: Any, k: int = 1) -> Any:
    """``question -> {"answer", "note_id", "sources", "prompt_tokens"}`` as an LCEL chain."""
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough

    prompt = ChatPromptTemplate.from_messages([("system", SYSTEM), ("human", "{question}")])

    def answer(inputs: dict[str, Any]) -> dict[str, Any]:
        docs = inputs["docs"]
        reply = (prompt | llm).invoke({"context": context(docs), "question": inputs["question"]})
        return {"answer": reply.content, "note_id": cite(reply.content, docs),
                "sources": list(dict.fromkeys(doc.metadata["note_id"] for doc in docs)),
                "prompt_tokens": reply.response_metadata.get("prompt_eval_count")}

    retriever = store.as_retriever(search_kwargs={"k": k})
    return RunnableParallel(docs=retriever, question=RunnablePassthrough()) | RunnableLambda(answer)
