"""Questions residents asked, feedback on answers, and the gaps report built from both."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database, now


@dataclass(frozen=True)
class Asked:
    """One stored question (text masked) and how the bot answered it."""

    id: int
    person_id: int | None
    asked_at: float
    text: str
    topic: str | None
    score: float
    status: str


@dataclass(frozen=True)
class Gap:
    text: str          # an example of the question (masked)
    folded: str
    count: int
    kind: str          # unsure | out_of_scope | thumbs_down
    topic: str | None  # the FAQ that got 👎, if any
    last_at: float


class Questions:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, person_id: int | None, text: str, folded: str, topic: str | None, score: float,
                     status: str) -> int:
        """Store one question (text already masked) and return its id."""
        return await self.db.execute(
            "INSERT INTO questions(person_id, asked_at, text, folded, topic, score, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (person_id, now(), text[:1000], folded[:1000], topic, score, status),
        )

    async def feedback(self, question_id: int, person_id: int, faq_id: str, helpful: bool) -> bool:
        """Record 👍/👎 once per question and user; returns False when it was already given."""
        async with self.db.transaction() as tx:
            exists = await tx.fetchone(
                "SELECT 1 FROM feedback WHERE question_id = ? AND person_id = ?", (question_id, person_id))
            if exists:
                await tx.execute("UPDATE feedback SET helpful = ?, created_at = ? WHERE question_id = ?"
                                 " AND person_id = ?", (int(helpful), now(), question_id, person_id))
                return False
            await tx.execute(
                "INSERT INTO feedback(question_id, person_id, faq_id, helpful, created_at) VALUES (?, ?, ?, ?, ?)",
                (question_id, person_id, faq_id, int(helpful), now()),
            )
        return True

    async def owner(self, question_id: int) -> tuple[int | None, str | None] | None:
        row = await self.db.fetchone("SELECT person_id, topic FROM questions WHERE id = ?", (question_id,))
        return None if row is None else (row["person_id"], row["topic"])

    async def gaps(self, since: float = 0.0, limit: int = 50, low_score: float = 0.0) -> list[Gap]:
        """Declined (out of scope or redirected), unsure and low-confidence answered questions (score below
        `low_score`), and 👎 answers, most frequent first."""
        rows = await self.db.fetchall(
            """
            SELECT MAX(text) AS text, folded, COUNT(*) AS n, status AS kind, NULL AS topic, MAX(asked_at) AS last_at
              FROM questions WHERE status IN ('unsure', 'out_of_scope', 'redirect') AND asked_at >= ?
             GROUP BY folded, status
            UNION ALL
            SELECT MAX(text), folded, COUNT(*), 'low', topic, MAX(asked_at)
              FROM questions WHERE status = 'answer' AND score < ? AND asked_at >= ?
             GROUP BY folded, topic
            UNION ALL
            SELECT MAX(q.text), q.folded, COUNT(*), 'thumbs_down', f.faq_id, MAX(f.created_at)
              FROM feedback f JOIN questions q ON q.id = f.question_id
             WHERE f.helpful = 0 AND f.created_at >= ?
             GROUP BY q.folded, f.faq_id
            ORDER BY n DESC, last_at DESC
            LIMIT ?
            """,
            (since, low_score, since, since, limit),
        )
        return [Gap(r["text"], r["folded"], r["n"], r["kind"], r["topic"], r["last_at"]) for r in rows]

    async def latest(self, person_id: int | None = None) -> Asked | None:
        """The most recent question (of one user, or of anyone): the web chat's side panel shows it."""
        where, params = ("WHERE person_id = ?", (person_id,)) if person_id is not None else ("", ())
        row = await self.db.fetchone(
            f"SELECT id, person_id, asked_at, text, topic, score, status FROM questions {where}"
            " ORDER BY id DESC LIMIT 1", params)
        if row is None:
            return None
        return Asked(row["id"], row["person_id"], row["asked_at"], row["text"], row["topic"], row["score"],
                     row["status"])
