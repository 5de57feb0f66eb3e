"""The capstone's numbers: index time, query latency, retrieval and answers, both embedding paths.

For each embedding path (all-MiniLM-L6-v2 through HuggingFaceEmbeddings; the course chat model
through OllamaEmbeddings and the kit's server) on the 40 clinic notes and all 48 labelled
questions: the time to embed and index (a fresh Qdrant folder), query latency p50 / p95,
recall@1, recall@5 and MRR; then the assistant (ChatOllama, k chunks) on every question: answer
accuracy, citation accuracy and latency per question.

    python bench/rag.py [--k 1] [--chunk-size 400]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from classroom import percentile  # noqa: E402  (bench/classroom.py, beside this script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", type=int, default=1, help="chunks retrieved per question")
    parser.add_argument("--chunk-size", type=int, default=400)
    args = parser.parse_args()

    import os

    from labkit import engines
    from labkit.ollama.server import start_process
    from labkit.rag import assistant, corpus, evaluate, store
    from labkit.system.hardware import cpu_model

    server = start_process()
    os.environ["OLLAMA_HOST"] = server.url
    notes, questions = corpus.notes(), corpus.questions()
    try:
        print(f"{cpu_model()}, {os.cpu_count()} cores; {len(notes)} notes, {len(questions)} questions, "
              f"chunk size {args.chunk_size}, k={args.k}; labkit serve in its own process\n")
        print(f"{'embeddings':<10} {'index s':>8} {'query p50 ms':>13} {'p95 ms':>7} {'recall@1':>9} "
              f"{'recall@5':>9} {'MRR':>6} {'answers':>8} {'citations':>10} {'s/question':>11}")
        with tempfile.TemporaryDirectory(prefix="labkit-rag-bench-") as folder:
            for kind in store.EMBEDDINGS:
                indexed, seconds = store.index(notes, kind, folder=Path(folder), chunk_size=args.chunk_size)
                r = evaluate.retrieval(indexed, questions, k=5)
                chain = assistant.build(indexed, engines.chat_model("ollama", max_tokens=40, context=2048), k=args.k)
                times, right, cited = [], 0, 0
                for q in questions:
                    start = time.perf_counter()
                    reply = chain.invoke(q.question)
                    times.append(time.perf_counter() - start)
                    right += evaluate.answer_correct(reply["answer"], q.answer)
                    cited += reply["note_id"] == q.note_id
                n = len(questions)
                print(f"{kind:<10} {seconds:>8.2f} {1000 * statistics.median(r.query_seconds):>13.1f} "
                      f"{1000 * percentile(r.query_seconds, 0.95):>7.1f} {r.recall_at_1:>9.3f} {r.recall_at_k:>9.3f} "
                      f"{r.mrr:>6.3f} {right / n:>8.3f} {cited / n:>10.3f} {statistics.median(times):>11.2f}")
            store.forget(Path(folder))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
