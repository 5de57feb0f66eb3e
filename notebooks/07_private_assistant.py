# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Capstone: a private document assistant
#
# The first reason people give for local models is privacy: the records never leave the machine.
# Here you build an assistant over private-looking documents — local embeddings, a vector store
# on disk, a local chat model — measure how well it finds and answers, and record every network
# connection it makes, so that "never leaves the machine" is something you checked.
#
# **You will learn to**
# - embed documents two ways (a sentence-embedding model, and a chat model through Ollama's API)
#   and measure retrieval: recall@k and MRR on labelled questions;
# - keep the index in a real vector store on disk (Qdrant, embedded), and know how the same code
#   reaches a Qdrant server;
# - build a retrieval chain that answers and cites its source, and measure accuracy and latency;
# - size `num_ctx` for k retrieved chunks, and catch the silent truncation of lesson 02 again;
# - record every connection the pipeline opens, and say what that proves and what it does not.
#
# **Time:** about 35 minutes, plus 15 for the exercises.

# %%
import os
import statistics
import time

import pandas as pd

from labkit.course.claims import claim, say
from labkit.ollama import ensure_server
from labkit.rag import privacy

connections = privacy.start()  # from here on, every connection this process opens is written down
base_url = ensure_server()
os.environ["OLLAMA_HOST"] = base_url
server_pids = [p.pid for p in __import__("psutil").Process().children(recursive=True)]

# %% [markdown]
# ## 1. The documents
#
# Forty clinic notes and 48 questions, all invented (`labkit/data/clinic/`, written by
# `labkit/rag/corpus.py`): every name and value is synthetic, and each question says which note
# answers it and what the answer must contain.

# %%
# NBVAL_CHECK_OUTPUT
from labkit.rag import corpus

notes, questions = corpus.notes(), corpus.questions()
print(len(notes), "notes,", len(questions), "questions\n")
print(notes[0].text, "\n")
print(questions[0])

# %% [markdown]
# ## 2. Embeddings two ways, into a vector store on disk
#
# An embedding model turns a text into a vector; similar texts get nearby vectors, so the notes
# closest to a question's vector are the ones to read. Two local ways:
#
# - **all-MiniLM-L6-v2** (22M parameters, float32), trained for exactly this, via
#   `HuggingFaceEmbeddings`;
# - **`OllamaEmbeddings`** through the server: the course *chat* model's token vectors, averaged.
#   No second model to ship, but it was never trained to compare sentences.
#
# The vectors go into **Qdrant**, embedded in this process and stored in a folder
# (`QdrantClient(path=...)`): it survives a kernel restart, and a second run opens it instead of
# embedding again. When a team outgrows one machine, `QdrantClient(url="http://server:6333")` points
# the same code at a Qdrant server.

# %%
from labkit.rag import evaluate, store

stores, rows = {}, []
for kind in store.EMBEDDINGS:
    stores[kind], seconds = store.index(notes, kind)
    r = evaluate.retrieval(stores[kind], questions, k=5)
    rows.append({"embeddings": kind, "indexed in s": seconds, "recall@1": r.recall_at_1, "recall@5": r.recall_at_k,
                 "MRR": r.mrr, "ms per query": 1000 * statistics.median(r.query_seconds)})
retrieval = pd.DataFrame(rows).set_index("embeddings")
retrieval.round(3)

# %%
mini, chat = retrieval.loc["minilm"], retrieval.loc["ollama"]
say("all-MiniLM-L6-v2 put the right note first for {m1:.0%} of the questions (MRR {mm:.2f}); the chat model's "
    "averaged vectors for {c1:.0%} (MRR {cm:.2f}). {why} An index time of 0 means the collection was already on "
    "disk from an earlier run and was opened, not rebuilt.",
    m1=mini["recall@1"], mm=mini["MRR"], c1=chat["recall@1"], cm=chat["MRR"],
    why=("A model trained to compare sentences beats a chat model's averaged token vectors, and it is the smaller "
         "of the two." if mini["MRR"] > chat["MRR"] else
         "Here the chat model's vectors did as well: the questions name the patient, and any embedding that keeps "
         "names apart finds the note."));

# %% [markdown]
# ## 3. The assistant: retrieve, answer, cite
#
# `labkit.rag.assistant.build` is an LCEL chain: the retriever's chunks go into the prompt, each
# under its note id, then the question; the model answers in its own words. The citation is worked
# out from the answer — the retrieved note that shares the most words with it — rather than asked
# of a 135M-parameter model. Twelve questions (all 48 in `bench/rag.py`), with 1 and with 3 notes
# retrieved:

# %%
from labkit import engines
from labkit.rag import assistant

sample = questions[::4]
llm = engines.chat_model("ollama", max_tokens=40, context=2048)
runs = {}
for k in (1, 3):
    start = time.perf_counter()
    replies = assistant.build(stores["minilm"], llm, k=k).batch([q.question for q in sample])
    runs[k] = {"seconds": time.perf_counter() - start, "replies": replies,
               "answer right": sum(evaluate.answer_correct(r["answer"], q.answer) for q, r in zip(sample, replies)),
               "cited right": sum(r["note_id"] == q.note_id for q, r in zip(sample, replies)),
               "right note retrieved": sum(q.note_id in r["sources"] for q, r in zip(sample, replies))}
pd.DataFrame({k: {key: v for key, v in run.items() if key != "replies"} for k, run in runs.items()}).T.rename_axis("k").round(2)

# %%
pd.DataFrame([{"question": q.question, "expected": q.answer, "answer": r["answer"][:70], "cited": r["note_id"]}
              for q, r in zip(sample, runs[1]["replies"])]).head(6)

# %%
one, three = runs[1], runs[3]
misses = [r["answer"] for q, r in zip(sample, one["replies"]) if not evaluate.answer_correct(r["answer"], q.answer)]
pressure = sum("mmhg" in m.lower() for m in misses)
say("With one note retrieved the answer held the expected value for {a1} of {n} questions, with three for {a3}; "
    "the right note was retrieved {f1} and {f3} times. {why} {whose} {per:.2f} s per question with k=1.",
    a1=one["answer right"], a3=three["answer right"], n=len(sample), f1=one["right note retrieved"],
    f3=three["right note retrieved"], per=one["seconds"] / len(sample),
    whose=(f"With the right note in hand, the misses are the model's: {pressure} of the {len(misses)} gave the "
           "note's blood pressure instead of the dose." if one["right note retrieved"] == len(sample) else
           "Some misses start at retrieval: the right note was not among those the model saw."),
    why=("More notes made it worse: every extra note is another patient's dose to copy by mistake, and a small "
         "model is easily distracted." if three["answer right"] < one["answer right"] else
         "More notes did not hurt here."));

# %% [markdown]
# ## 4. `num_ctx` must grow with k
#
# Every retrieved chunk adds tokens to the prompt. Retrieve 8 notes and keep `num_ctx=512`: the
# server cuts the prompt to fit, silently (lesson 02), and drops the *start* of it — the
# best-ranked notes. `prompt_eval_count` shows it.

# %%
from labkit.engines import tokens

few = sample[:4]
trap = {}
for num_ctx in (512, 2048):
    chain_k8 = assistant.build(stores["minilm"], engines.chat_model("ollama", max_tokens=40, context=num_ctx), k=8)
    out = chain_k8.batch([q.question for q in few])
    trap[num_ctx] = {"read tokens": statistics.median(r["prompt_tokens"] for r in out),
                     "right": sum(evaluate.answer_correct(r["answer"], q.answer) for q, r in zip(few, out))}


def prompt_tokens(question: str) -> int:
    """The tokens of the whole k=8 prompt for ``question``, counted here with the model's tokenizer."""
    docs = stores["minilm"].similarity_search(question, k=8)
    return tokens.count("smollm2:135m", tokens.chat_template_text("smollm2:135m", [
        {"role": "system", "content": assistant.SYSTEM.format(context=assistant.context(docs))},
        {"role": "user", "content": question}]))


needed = statistics.median(prompt_tokens(q.question) for q in few)  # the same statistic as the server's counts
pd.DataFrame(trap).T.rename_axis("num_ctx")

# %%
claim("At num_ctx=512 the server read fewer prompt tokens than the prompt has.",
      trap[512]["read tokens"] < needed, f"prompt {needed:.0f} tokens (median); read {trap[512]['read tokens']:.0f} at 512, "
      f"{trap[2048]['read tokens']:.0f} at 2048")
say("A prompt with 8 retrieved notes has about {needed:.0f} tokens (the median of the {n} questions); with `num_ctx=512` the server read {cut:.0f} of "
    "them and answered {r512} of {n} right, with 2048 it read {full:.0f} and answered {r2048}. Size `num_ctx` "
    "from the prompt: count its tokens for your k and chunk size, add the answer's `num_predict`, round up. {note}",
    needed=needed, cut=trap[512]["read tokens"], full=trap[2048]["read tokens"], r512=trap[512]["right"],
    r2048=trap[2048]["right"], n=len(few),
    note=("" if trap[2048]["right"] > trap[512]["right"] else
          "That the cut prompt scored no worse here is the small model, not luck to count on: with 8 notes in full "
          "it is as lost as with the best ones cut away (section 3: more notes, more wrong values to copy)."));

# %% [markdown]
# ## 5. Nothing left the machine
#
# Every connection this process opened since the first cell, and every connection the server
# process holds now:

# %%
privacy.stop(connections)
seen = pd.DataFrame([{"address": str(address), "loopback": privacy.loopback(address)}
                     for _, address in connections]).value_counts().rename("connections").reset_index()
server_side = privacy.connections_of(server_pids)
seen

# %%
claim("Every connection went to this machine (loopback).",
      all(privacy.loopback(a) for _, a in connections) and all(
          a.split(":")[0] in ("127.0.0.1", "::1") for _, a in server_side),
      f"{len(connections)} connections from this process, {len(server_side)} held by the server, "
      f"{sum(not privacy.loopback(a) for _, a in connections)} beyond loopback",
      "something in the pipeline reached another machine: the table above says where");

# %% [markdown]
# What this shows, and what it does not:
#
# - **Shown:** while these cells ran, no code in this Python process — LangChain, the `ollama`
#   client, the embedding library, Qdrant — connected anywhere but loopback, and the server held no
#   other connection when asked. The course's CI runs this notebook with no network at all, which
#   would make any such attempt fail.
# - **Not shown:** where the model files came from and what was done to them (the kit checks each
#   file's sha256 before loading it, against the hash its package ships: trust in the package's
#   source is still yours to establish), what *other* programs on this machine send
#   (an OS update service, a sync client, telemetry), and what happens to the disk (the index is a
#   folder of plain files: encrypt the disk, or anyone with the laptop can read the notes).
#
# ## Recall
#
# > Local RAG is embeddings + a vector store + a chat model, all on your machine. Measure retrieval
# > (recall@k, MRR) apart from answers; size `num_ctx` for k chunks; record connections to show
# > that nothing left, and be precise about what that covers.
#
# ## Exercises
#
# 1. Write `best_chunk_size(sizes)`: for each chunk size in `sizes`, index the notes with
#    `store.index(notes, "minilm", chunk_size=size)` and score retrieval with
#    `evaluate.retrieval(..., questions, k=5)`; return the size with the highest **recall@1**
#    (the smallest size on a tie). The check runs it on two lists of sizes.

# %% jupyter={"source_hidden": true} tags=["solution"]
def best_chunk_size(sizes: list[int]) -> int:
    """The chunk size whose index puts the right note first most often."""
    scores = {}
    for size in sorted(sizes):
        indexed, _ = store.index(notes, "minilm", chunk_size=size)
        scores[size] = evaluate.retrieval(indexed, questions, k=5).recall_at_1
    return max(sorted(scores), key=lambda size: scores[size])


# %%
from labkit.course import check

check.answer("07.1", best_chunk_size);

# %% [markdown]
# 2. Write `add_and_ask(vector_store, note_id, text, question)`: add a new note to the store (a
#    LangChain `Document` whose metadata holds `note_id`, as the other chunks do), retrieve the one
#    closest chunk for `question`, and answer from it; return a dict with `answer`, `note_id` (the
#    note it cites, `assistant.cite`) and `sources` (the retrieved notes' ids). The check adds a note
#    the model has never seen, in a store of its own, asks for a dose, and wants **the note's dose,
#    number exact**. Section 3 showed how this model misreads values: a prompt with one worked
#    example of copying a dose from a note helps it more than any instruction.

# %% jupyter={"source_hidden": true} tags=["solution"]
from langchain_core.documents import Document
from langchain_core.prompts import ChatPromptTemplate


def add_and_ask(vector_store, note_id: str, text: str, question: str) -> dict:
    """Index one more note, then answer from the closest chunk after one worked example of copying a dose."""
    vector_store.add_documents([Document(page_content=text, metadata={"note_id": note_id})])
    example = ("[note-000]\nClinic note note-000. Patient: Ana Silva, age 50. Seen by Dr. Berg.\n"
               "Known condition: gout. Current medication: allopurinol 150 mg daily.\n"
               "Allergies: latex. Blood pressure today 130/85 mmHg.\n"
               "Plan: continue allopurinol; follow-up appointment on 2 May.")
    copy_the_dose = ChatPromptTemplate.from_messages([
        ("system", "Answer the question with the exact words from the note."),
        ("human", example + "\n\nWhat dose of allopurinol does Ana Silva take?"), ("ai", "allopurinol 150 mg daily"),
        ("human", "{context}\n\n{question}")])
    docs = vector_store.as_retriever(search_kwargs={"k": 1}).invoke(question)
    llm = engines.chat_model("ollama", max_tokens=40, context=2048)
    answer = (copy_the_dose | llm).invoke({"context": assistant.context(docs), "question": question}).content
    return {"answer": answer, "note_id": assistant.cite(answer, docs),
            "sources": [doc.metadata["note_id"] for doc in docs]}


# %%
check.answer("07.2", add_and_ask);

# %% [markdown]
# 3. Which of these would section 5's record **miss**, so that the lesson's claim would still pass?
#    Answer `"a"`, `"b"` or `"c"`:
#    - a) a LangChain callback, added to this notebook, that posts each answer to a web service;
#    - b) a backup tool on this laptop that copies the model store folder (where the Qdrant index
#      keeps the notes' text) to a cloud drive every hour;
#    - c) the embedding step downloading a newer model from a hub the first time it runs.

# %% jupyter={"source_hidden": true} tags=["solution"]
answer_3 = "b"

# %%
check.answer("07.3", answer_3);

# %% [markdown]
# Solutions with explanations: `notebooks/solutions/07_private_assistant.md`.
#
# ## Where to go next
#
# Swap in your own documents (a folder of text files, chunked with the same splitter), a larger
# model when accuracy matters (lesson 00 shows how to add one), and `QdrantClient(url=...)` when
# the index should serve a team. Keep the connection log: it is a cheap check to leave in.
