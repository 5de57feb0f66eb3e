"""A private-looking corpus for the capstone: synthetic clinic notes and labelled questions.

Every note is invented: the names come from short lists, the facts from a seeded random
generator, so the same code always writes the same 40 notes and 48 questions (``python -m
labkit.rag.corpus`` rewrites ``labkit/data/clinic/``; a test checks the files match). No real
person or record is in it. Each question names the note that answers it and the exact answer
string, so retrieval (did the right note come back?) and answers (is the string in the reply?)
can be scored mechanically. Introduced in notebooks/07_private_assistant.
"""

from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

FOLDER = Path(__file__).resolve().parent.parent / "data" / "clinic"
FIRST = ["Amara", "Bruno", "Chen", "Dalia", "Emeka", "Freya", "Goran", "Hana", "Ivo", "Jonas", "Kaia", "Luca",
         "Mei", "Nils", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tove"]
LAST = ["Albrecht", "Bakker", "Castell", "Dunmore", "Eriksen", "Fenwick", "Grady", "Halloran", "Ingram", "Jovic"]
CONDITIONS = [("hypertension", "lisinopril", [5, 10, 20]), ("type 2 diabetes", "metformin", [500, 850, 1000]),
              ("asthma", "budesonide", [100, 200, 400]), ("hypothyroidism", "levothyroxine", [25, 50, 75]),
              ("migraine", "sumatriptan", [50, 100]), ("high cholesterol", "atorvastatin", [10, 20, 40]),
              ("atrial fibrillation", "apixaban", [2, 5]), ("depression", "sertraline", [50, 100])]
ALLERGIES = ["penicillin", "latex", "peanuts", "sulfa drugs", "shellfish", "no known allergies"]
DOCTORS = ["Dr. Okafor", "Dr. Lindqvist", "Dr. Moreau", "Dr. Tanaka", "Dr. Varga"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October"]


@dataclass(frozen=True)
class Note:
    """One clinic note: an id, the patient, and the text."""

    id: str
    patient: str
    text: str


@dataclass(frozen=True)
class Question:
    """A labelled question: the note that answers it and the string the answer must contain.

    ``kind`` says what makes it hard (:data:`KINDS`); an unanswerable question has no note and no
    answer. ``avoid`` is a value a wrong answer gives (an earlier visit's dose).
    """

    question: str
    note_id: str
    answer: str
    kind: str = "named"
    avoid: str = ""


KINDS = ("paraphrased", "no name", "multi-visit", "unanswerable")


def generate(count: int = 40, seed: int = 7) -> tuple[list[Note], list[Question]]:
    """``count`` notes and their questions, the same every time for the same ``seed``."""
    pick = random.Random(seed)
    names = pick.sample([f"{f} {last}" for f in FIRST for last in LAST], count)
    notes, questions = [], []
    for number, patient in enumerate(names, 1):
        note_id = f"note-{number:03d}"
        condition, drug, doses = pick.choice(CONDITIONS)
        dose = pick.choice(doses)
        unit = "mcg" if drug in ("levothyroxine", "budesonide") else "mg"
        allergy = pick.choice(ALLERGIES)
        doctor = pick.choice(DOCTORS)
        age = pick.randint(19, 88)
        day, month = pick.randint(1, 28), pick.choice(MONTHS)
        pressure = f"{pick.randint(112, 168)}/{pick.randint(68, 102)}"
        text = (f"Clinic note {note_id}. Patient: {patient}, age {age}. Seen by {doctor}.\n"
                f"Known condition: {condition}. Current medication: {drug} {dose} {unit} daily.\n"
                f"Allergies: {allergy}. Blood pressure today {pressure} mmHg.\n"
                f"Plan: continue {drug}; follow-up appointment on {day} {month}.")
        notes.append(Note(note_id, patient, text))
        questions.append(Question(f"What dose of {drug} does {patient} take?", note_id, f"{dose} {unit}"))
        if number % 5 == 0:  # a second kind of question for every fifth note
            questions.append(Question(f"When is {patient}'s follow-up appointment?", note_id, f"{day} {month}"))
    return notes, questions


FACTS = re.compile(r"Patient: (?P<patient>[^,]+), age (?P<age>\d+)\. Seen by Dr\. (?P<doctor>\w+)\.\n"
                   r"Known condition: (?P<condition>[^.]+)\. Current medication: (?P<drug>\w+) (?P<dose>\d+) "
                   r"(?P<unit>\w+) daily\.\nAllergies: (?P<allergy>[^.]+)\..*appointment on (?P<date>\d+ \w+)\.", re.S)
PARAPHRASES = [("How much {drug} is {patient} prescribed each day?", "{dose} {unit}"),
               ("When should {patient} come back to the clinic?", "{date}"),
               ("Which doctor did {patient} see?", "{doctor}"),
               ("What illness is {patient} being treated for?", "{condition}"),
               ("How old is {patient}?", "{age}"),
               ("What is {patient} allergic to?", "{allergy}")]
UNANSWERABLE = ["What is {patient}'s blood type?", "What is {patient}'s phone number?",
                "Which hospital was {patient} born in?", "How much does {patient} weigh?",
                "Who is {patient}'s emergency contact?", "What dose of insulin does {patient} take?",
                "What dose of metformin does Zofia Krane take?", "Which doctor treats Paulo Mendes for asthma?"]
PER_KIND = 8


def facts(note: Note) -> dict[str, str]:
    """The fields of a generated note, read back from its text."""
    found = FACTS.search(note.text)
    if found is None:
        raise ValueError(f"{note.id} is not a generated first-visit note")
    return found.groupdict()


def follow_ups(notes: list[Note], seed: int = 11) -> list[Note]:
    """A second visit for every fifth patient, on the date the first note planned, with a new dose."""
    pick = random.Random(seed)
    doses = {drug: options for _, drug, options in CONDITIONS}
    visits = []
    for number, note in enumerate(notes[4::5], len(notes) + 1):
        f = facts(note)
        dose = pick.choice([d for d in doses[f["drug"]] if str(d) != f["dose"]])
        note_id = f"note-{number:03d}"
        visits.append(Note(note_id, f["patient"], (
            f"Clinic note {note_id}. Follow-up visit of {f['patient']} on {f['date']} (first seen in {note.id}). "
            f"Seen by {pick.choice(DOCTORS)}.\nKnown condition: {f['condition']}. Dose changed today. Current "
            f"medication: {f['drug']} {dose} {f['unit']} daily.\nPlan: continue {f['drug']}; review in three months.")))
    return visits


def hard_questions(notes: list[Note], visits: list[Note]) -> list[Question]:
    """:data:`PER_KIND` questions of each of :data:`KINDS` over ``notes`` and their follow-up ``visits``."""
    revisited = {visit.patient for visit in visits}
    first = [(note, facts(note)) for note in notes if note.patient not in revisited]
    out = []
    for (question, answer), (note, f) in zip(PARAPHRASES * 2, first[::2][:PER_KIND]):
        if "allergic" in question and f["allergy"] == "no known allergies":
            question, answer = PARAPHRASES[0]
        out.append(Question(question.format(**f), note.id, answer.format(**f), "paraphrased"))
    pairs: dict[tuple[str, str], list[tuple[Note, dict[str, str]]]] = {}
    for note, f in first:
        pairs.setdefault((f["condition"], f["allergy"]), []).append((note, f))
    unique = [found[0] for (_, allergy), found in pairs.items() if len(found) == 1 and allergy != "no known allergies"]
    for note, f in unique[:PER_KIND]:
        out.append(Question(f"Which patient with {f['condition']} is allergic to {f['allergy']}?", note.id,
                            f["patient"], "no name"))
    by_patient = {note.patient: (note, facts(note)) for note in notes}
    for visit in visits[:PER_KIND]:
        note, f = by_patient[visit.patient]
        new = re.search(r"medication: \w+ (\d+ \w+) daily", visit.text).group(1)
        out.append(Question(f"What is {visit.patient}'s {f['drug']} dose since the latest visit?", visit.id, new,
                            "multi-visit", avoid=f"{f['dose']} {f['unit']}"))
    for question, (note, f) in zip(UNANSWERABLE, first[1::3]):
        out.append(Question(question.format(**f), "", "", "unanswerable"))
    return out


def write(folder: Path = FOLDER) -> None:
    """Write ``notes.jsonl``, ``questions.csv``, ``visits.jsonl`` and ``hard_questions.csv`` (what the course ships)."""
    notes, questions = generate()
    visits = follow_ups(notes)
    folder.mkdir(parents=True, exist_ok=True)
    for name, written in (("notes.jsonl", notes), ("visits.jsonl", visits)):
        with (folder / name).open("w") as out:
            for note in written:
                out.write(json.dumps(note.__dict__) + "\n")
    with (folder / "questions.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["question", "note_id", "answer"])
        writer.writerows([q.question, q.note_id, q.answer] for q in questions)
    with (folder / "hard_questions.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["question", "note_id", "answer", "kind", "avoid"])
        writer.writerows([q.question, q.note_id, q.answer, q.kind, q.avoid] for q in hard_questions(notes, visits))


def notes(folder: Path = FOLDER, visits: bool = False) -> list[Note]:
    """The shipped notes (first visits; with ``visits``, the follow-up visits after them)."""
    names = ("notes.jsonl", "visits.jsonl") if visits else ("notes.jsonl",)
    return [Note(**json.loads(line)) for name in names for line in (folder / name).read_text().splitlines() if line]


def questions(folder: Path = FOLDER, hard: bool = False) -> list[Question]:
    """The shipped labelled questions: templated ones naming patient and drug, or with ``hard`` the
    four :data:`KINDS` over the notes and their follow-up visits."""
    with (folder / ("hard_questions.csv" if hard else "questions.csv")).open(newline="") as src:
        return [Question(**row) for row in csv.DictReader(src)]


def to_folder(notes: list[Note], folder: Path) -> Path:
    """Each note as ``<id>.md`` in ``folder``: the corpus as a folder of documents, as ``labkit ask`` reads one."""
    folder.mkdir(parents=True, exist_ok=True)
    for note in notes:
        (folder / f"{note.id}.md").write_text(note.text + "\n")
    return folder


if __name__ == "__main__":
    write()
    print(f"wrote {FOLDER}")
