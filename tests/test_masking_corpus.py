"""Masking against a generated corpus of the ways residents type phone and ID numbers (issue 14 item 4):
whatever the spacing, brackets, prefixes or digits, no more than 5 digits of a number stay readable —
in free text as stored, logged and shown by `content gaps` and /mydata (all go through `mask_text`)."""

from __future__ import annotations

import random
import re
from pathlib import Path

from bot.privacy import mask_text
from storage.db import Database
from storage.identities import Identities
from storage.questions import Questions
from storage.residents import Residents

FULL = str.maketrans("0123456789", "０１２３４５６７８９")


def shapes(digits: str, rng: random.Random) -> list[str]:
    """Ways to type one number."""
    def spaced(groups: list[int], sep: str) -> str:
        out, i = [], 0
        for g in groups:
            out.append(digits[i:i + g])
            i += g
        out.append(digits[i:])
        return sep.join(p for p in out if p)

    forms = [digits, spaced([4, 3], " "), spaced([3, 3], "."), spaced([3, 3], "-"), spaced([3, 3, 3], "  "),
             " ".join(digits), digits.translate(FULL), "(" + digits[:3] + ") " + digits[3:6] + " " + digits[6:]]
    if digits.startswith("0") and len(digits) == 10:
        forms += ["+84" + digits[1:], "+84 " + spaced([2, 3], " ")[1:], "0084" + digits[1:], "84" + digits[1:]]
    rng.shuffle(forms)
    return forms


def readable_digits(masked: str) -> int:
    return max((len(re.sub(r"\D", "", run)) for run in re.findall(r"[\d\s.\-()+/]+", masked)), default=0)


def test_no_typed_shape_of_a_phone_or_id_number_stays_readable() -> None:
    rng = random.Random(20261203)
    numbers = ["0" + rng.choice("35789") + "".join(rng.choice("0123456789") for _ in range(8)) for _ in range(60)]
    numbers += ["0" + f"{rng.randint(1, 96):02d}" + "".join(rng.choice("0123456789") for _ in range(9))
                for _ in range(60)]  # 12-digit personal ID numbers
    numbers += ["".join(rng.choice("0123456789") for _ in range(9)) for _ in range(20)]  # old CMND
    checked = 0
    for number in numbers:
        for typed in shapes(number, rng):
            for text in (typed, f"so cua toi la {typed} nhe", f"{typed}, goi giup", f"ten Lan sdt:{typed}."):
                masked = mask_text(text)
                assert readable_digits(masked) <= 5, (text, masked)
                checked += 1
    assert checked > 3000


def test_short_numbers_that_are_not_personal_stay() -> None:
    for text in ("lệ phí 50.000 đồng", "từ 50.000 - 100.000đ", "tổng đài 1900 0368", "ngày 12/05/2026",
                 "hẹn 7:30 thứ Hai", "thôn 3, xóm 12"):
        assert mask_text(text) == text


async def test_erasure_takes_the_question_texts_with_the_person(tmp_path: Path) -> None:
    async with Database(tmp_path / "q.sqlite3") as db:
        person = await Identities(db).ensure("zalo", "ab12")
        other = await Identities(db).ensure("telegram", "77")
        questions = Questions(db)
        await questions.record(person, "toi ten Nguyen Thi Lan o thon 3 can lam vneid", "x", None, 0.1, "out_of_scope")
        await questions.record(other, "quen mat khau", "quen mat khau", "vneid-forgot-password", 0.9, "answer")
        await Residents(db).forget(person)
        rows = await db.fetchall("SELECT person_id, text, folded, status FROM questions ORDER BY id")
    assert [(r["person_id"], r["text"], r["folded"], r["status"]) for r in rows] == [
        (None, "", "", "out_of_scope"), (other, "quen mat khau", "quen mat khau", "answer")]
