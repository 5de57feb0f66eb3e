"""Lesson 07's assistant graded on questions that can fail, per kind, for both chat models.

The 40 clinic notes and their 8 follow-up visits go into a folder of ``.md`` files, indexed as
``labkit ask`` indexes one (all-MiniLM-L6-v2, Qdrant on disk, 800-character chunks); then the
grounded chain (``labkit.rag.grounded``: a JSON reply held to a schema with a ``found`` field)
answers 32 questions in four kinds: paraphrased (no field names quoted), no patient name,
multi-visit (the latest dose), unanswerable. Per kind: recall@k and MRR of the expected note,
the share answered, answer accuracy (the fact as whole tokens, numbers exact, no pasted notes),
citation accuracy (the cited file is the expected note), refusal accuracy (unanswerable
questions not answered), and the share fully right. Then how well each way of deciding
``answered`` separates answerable from unanswerable questions: the model's ``found`` alone, the
best chunk's score alone (at ``grounded.MIN_SCORE``, and the best threshold in hindsight), both.

    python bench/rag.py [--k 3] [--models smollm2:135m qwen2.5-coder:0.5b] [--verbose]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COLUMNS = ["questions", "recall@k", "MRR", "answered", "answer acc", "citation acc", "refusal acc", "all right"]


def print_table(model: str, table: list[dict]) -> None:
    """One model's per-kind table."""
    print(f"\n{model}")
    print(f"{'kind':<13}" + "".join(f"{c:>13}" for c in COLUMNS))
    for row in table:
        cells = [f"{row[c]:>13}" if c == "questions" else (f"{row[c]:>13.3f}" if row[c] is not None else f"{'-':>13}")
                 for c in COLUMNS]
        print(f"{row['kind']:<13}" + "".join(cells))


def best_threshold(scored: list[tuple[float, bool]]) -> tuple[float, float]:
    """``(threshold, accuracy)``: answer only when the top score is at least the threshold, best in hindsight."""
    best = (0.0, 0.0)
    for threshold in sorted({score for score, _ in scored}):
        accuracy = sum((score >= threshold) == answerable for score, answerable in scored) / len(scored)
        best = max(best, (accuracy, threshold))
    return best[1], best[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=3, help="chunks retrieved per question (default 3)")
    parser.add_argument("--models", nargs="+", default=["smollm2:135m", "qwen2.5-coder:0.5b"])
    parser.add_argument("--verbose", action="store_true", help="print every question's reply")
    args = parser.parse_args()

    from labkit.ollama.server import start_process
    from labkit.rag import ask, corpus, evaluate, grounded
    from labkit.system.hardware import cpu_model

    notes, questions = corpus.notes(visits=True), corpus.questions(hard=True)
    server = start_process()
    try:
        with tempfile.TemporaryDirectory(prefix="labkit-rag-bench-") as tmp:
            docs = corpus.to_folder(notes, Path(tmp) / "notes")
            vector_store, synced = ask.index(docs, where=Path(tmp) / "index", progress=False)
            print(f"{cpu_model()}, {os.cpu_count()} cores; {len(notes)} notes as files, {len(questions)} questions; "
                  f"k={args.k}; {synced}")
            ranked, top = {}, {}
            for q in questions:
                found = vector_store.similarity_search_with_score(q.question, k=args.k)
                ranked[q.question] = list(dict.fromkeys(d.metadata["note_id"].removesuffix(".md") for d, _ in found))
                top[q.question] = found[0][1]
            threshold, accuracy = best_threshold([(top[q.question], bool(q.note_id)) for q in questions])
            print(f"top retrieval score alone: best threshold {threshold:.3f} separates answerable from unanswerable "
                  f"with accuracy {accuracy:.3f} (in hindsight, on these {len(questions)} questions)")
            for model in args.models:
                chain = grounded.build(vector_store, grounded.chat_model(model, base_url=server.url), k=args.k)
                rows, times, decisions = [], [], []
                for q in questions:
                    start = time.perf_counter()
                    reply = chain.invoke(q.question)
                    times.append(time.perf_counter() - start)
                    reply["sources"] = [s.removesuffix(".md") for s in reply["sources"]]
                    rows.append(evaluate.graded(q, reply, ranked[q.question]))
                    decisions.append((bool(q.note_id), reply["found"], reply["score"] >= grounded.MIN_SCORE))
                    if args.verbose:
                        print(f"  [{q.kind}] {q.question} -> {reply['reply']!r} found={reply['found']} "
                              f"score={reply['score']:.3f} answered={reply['answered']} sources={reply['sources']} "
                              f"right={rows[-1]['all right']}")
                print_table(f"{model}: {statistics.median(times):.2f} s per question (median)", evaluate.by_kind(rows))
                rules = {"found alone": lambda f, s: f, f"score >= {grounded.MIN_SCORE} alone (used)": lambda f, s: s,
                         "found and score": lambda f, s: f and s}
                print("answered decided by: " + "; ".join(
                    f"{name} {sum(rule(f, s) == yes for yes, f, s in decisions) / len(decisions):.3f}"
                    for name, rule in rules.items()) + f" (accuracy over all {len(decisions)} questions; "
                    f"found true on {sum(f for _, f, _ in decisions)})")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
