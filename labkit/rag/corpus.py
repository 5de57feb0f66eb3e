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
    """A labelled question: the note that answers it and the string the answer must contain."""

    question: str
    note_id: str
    answer: str


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


def write(folder: Path = FOLDER) -> None:
    """Write ``notes.jsonl`` and ``questions.csv`` (what the course ships)."""
    notes, questions = generate()
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "notes.jsonl").open("w") as out:
        for note in notes:
            out.write(json.dumps(note.__dict__) + "\n")
    with (folder / "questions.csv").open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["question", "note_id", "answer"])
        writer.writerows([q.question, q.note_id, q.answer] for q in questions)


def notes(folder: Path = FOLDER) -> list[Note]:
    """The shipped notes."""
    return [Note(**json.loads(line)) for line in (folder / "notes.jsonl").read_text().splitlines() if line]


def questions(folder: Path = FOLDER) -> list[Question]:
    """The shipped labelled questions."""
    with (folder / "questions.csv").open(newline="") as src:
        return [Question(**row) for row in csv.DictReader(src)]


if __name__ == "__main__":
    write()
    print(f"wrote {FOLDER}")
