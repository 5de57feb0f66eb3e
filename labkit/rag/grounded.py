"""An answer that says whether the documents hold it: a grammar-held reply with a ``found`` field.

The retrieved chunks go to the model as plain text in one user message, each under its file's
name, followed by the question. ``ChatOllama(format=SCHEMA)`` makes the server hold the reply to
the JSON schema below (a grammar: the model cannot write anything else), so every reply parses
and carries ``found``: the model's own judgement of whether the documents answer the question.
Small models judge this poorly (bench/rag.py, 32 clinic questions: qwen2.5-coder:0.5b said true
to 30, and smollm2:135m to none under an earlier wording), so ``answered`` is decided by retrieval
instead: the best chunk's cosine similarity must reach :data:`MIN_SCORE`, a floor calibrated on
those questions (measured there: 0.844 of answerable/unanswerable decisions right, against 0.688
for ``found`` alone and 0.781 for both; on the FAQ questions of bench/ask_external.py, never used
to calibrate, 0.55 was again the best of 0.40 to 0.60 in steps of 0.05). ``found`` stays in the chain's output, measured. When
not answered, the answer says so in fixed words rather than whatever the model wrote.

The file cited is the best-ranked retrieved one, not worked out from the answer's words nor
asked of the model. Measured with qwen2.5-coder:0.5b at k=3 (answered by :data:`MIN_SCORE`,
graded answered-with-the-right-file or refused): the best-ranked file gave 0.812 on the 32
clinic questions and 0.645 on 62 questions of Debian's zlib and XZ Utils FAQs
(bench/ask_external.py), against 0.594 and 0.516 for the retrieved file sharing the most words
with the answer (:func:`labkit.rag.assistant.cite`), which a reply that repeats the question or
the instruction sends astray. A schema field asking the model which numbered document answers,
or "none", named the first document for 79 of the 94 questions and "none" for not one of them,
the 23 unanswerable ones included: at this size the model judges neither, so neither is asked
of it. Introduced in notebooks/07_private_assistant; ``labkit ask`` uses it.
"""

from __future__ import annotations

import json
from typing import Any

from labkit.rag.assistant import context

SCHEMA: dict[str, Any] = {  # the server orders keys by name: "found" comes before "reply"
    "type": "object",
    "properties": {"found": {"type": "boolean"}, "reply": {"type": "string"}},
    "required": ["found", "reply"],
}
PROMPT = ("Documents:\n\n{context}\n\nQuestion: {question}\n\n"
          "In found, say whether the documents above answer the question. "
          "In reply, answer the question itself in one short sentence, using only the documents.")
NOT_FOUND = "The documents do not say."
MIN_SCORE = 0.55  # cosine similarity of the best chunk below which the documents are taken not to hold the answer


def chat_model(model: str, base_url: str | None = None, num_ctx: int = 4096, max_tokens: int = 96) -> Any:
    """``ChatOllama`` for grounded answers: greedy, ``num_ctx`` set, replies held to :data:`SCHEMA`."""
    from labkit.engines.builders import ollama_chat

    return ollama_chat(model, num_ctx=num_ctx, num_predict=max_tokens, base_url=base_url, format=SCHEMA)


def parse(text: str) -> tuple[str, bool]:
    """``(answer, found)`` from the model's JSON reply; a reply cut short counts as not found."""
    try:
        reply = json.loads(text)
        return str(reply.get("reply", "")).strip(), bool(reply.get("found"))
    except (json.JSONDecodeError, AttributeError):
        return text.strip(), False


def build(vector_store: Any, llm: Any, k: int = 3, min_score: float = MIN_SCORE) -> Any:
    """``question -> {"answer", "answered", "sources", "prompt_tokens", ...}`` as an LCEL chain.

    ``answered``: the best chunk scores at least ``min_score`` (bench/rag.py measures this
    against the model's ``found``). ``sources`` is the best-ranked retrieved file (empty when
    not answered); ``retrieved`` every file the retriever returned, best first; ``found``,
    ``score`` and ``reply`` the model's verdict, the best chunk's score and the model's own words.
    """
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough

    prompt = ChatPromptTemplate.from_messages([("human", PROMPT)])

    def answer(inputs: dict[str, Any]) -> dict[str, Any]:
        docs, question = inputs["docs"], inputs["question"]
        best = vector_store.similarity_search_with_score(question, k=1)
        score = float(best[0][1]) if best else 0.0
        reply = (prompt | llm).invoke({"context": context(docs), "question": question})
        text, found = parse(reply.content)
        answered = score >= min_score
        source = docs[0].metadata["note_id"] if answered and docs else None
        return {"answer": text if answered else NOT_FOUND, "answered": answered,
                "sources": [source] if source else [],
                "prompt_tokens": int(reply.response_metadata.get("prompt_eval_count") or 0),
                "retrieved": list(dict.fromkeys(doc.metadata["note_id"] for doc in docs)),
                "found": found, "score": score, "reply": text}

    retriever = vector_store.as_retriever(search_kwargs={"k": k})
    return RunnableParallel(docs=retriever, question=RunnablePassthrough()) | RunnableLambda(answer)
