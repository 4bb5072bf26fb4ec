"""Accuracy floors of the FAQ engine on the real content.

Two question sets: the shared dev set (../shared/eval/dev_questions.tsv, skipped when absent) and the
project's own paraphrases (tests/data/paraphrases.tsv, written independently of the FAQ files and of the
dev set). Floors: in-scope top-1 ≥ 90 %, out-of-scope rejected (no answer) ≥ 80 %.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bot.content import load_content
from bot.faq.check import TAXONOMY_IDS
from bot.faq.service import FaqService

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT.parent / "shared" / "eval" / "dev_questions.tsv"
PARAPHRASES = ROOT / "tests" / "data" / "paraphrases.tsv"
CONTENT = ROOT / "content"
OUT_OF_SCOPE = "out-of-scope"
IN_SCOPE_FLOOR = 0.90
REJECT_FLOOR = 0.80


def read_tsv(path: Path) -> list[tuple[str, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t")[:2] == ["question", "topic"]
    return [(q.strip(), t.strip()) for q, t, *_ in (line.split("\t") for line in lines[1:] if line.strip())]


@pytest.fixture(scope="module")
def service() -> FaqService:
    if not all((CONTENT / "faq" / f"{topic}.md").is_file() for topic in TAXONOMY_IDS):
        pytest.skip("content/faq does not have all 33 topics yet")
    return FaqService(load_content(CONTENT))


def scores(service: FaqService, rows: list[tuple[str, str]]) -> tuple[float, float, list[str]]:
    hits = rejected = n_in = n_out = 0
    misses: list[str] = []
    for question, topic in rows:
        answer = service.ask(question)
        if topic == OUT_OF_SCOPE:
            n_out += 1
            rejected += answer.topic is None
            if answer.topic is not None:
                misses.append(f"out-of-scope answered as {answer.topic}: {question}")
        else:
            n_in += 1
            hits += answer.topic == topic
            if answer.topic != topic:
                misses.append(f"{topic} → {answer.topic} ({answer.status} {answer.score:.2f}): {question}")
    return hits / max(n_in, 1), rejected / max(n_out, 1), misses


def test_paraphrase_set_is_broad() -> None:
    rows = read_tsv(PARAPHRASES)
    topics = Counter(topic for _, topic in rows)
    assert topics[OUT_OF_SCOPE] >= 25
    assert sum(n for t, n in topics.items() if t != OUT_OF_SCOPE) >= 150
    assert set(topics) - {OUT_OF_SCOPE} == set(TAXONOMY_IDS)
    assert len({q for q, _ in rows}) == len(rows), "duplicate questions"


def test_paraphrases_floor(service: FaqService) -> None:
    top1, rejected, misses = scores(service, read_tsv(PARAPHRASES))
    assert top1 >= IN_SCOPE_FLOOR, "\n".join(misses)
    assert rejected >= REJECT_FLOOR, "\n".join(misses)


def test_dev_set_floor(service: FaqService) -> None:
    if not DEV_SET.is_file():
        pytest.skip(f"dev set not found at {DEV_SET}")
    top1, rejected, misses = scores(service, read_tsv(DEV_SET))
    assert top1 >= IN_SCOPE_FLOOR, "\n".join(misses)
    assert rejected >= REJECT_FLOOR, "\n".join(misses)


def test_cli_ask_json_lines(
    service: FaqService, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import json

    from bot.cli import main

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("BOT_CONTENT_DIR", str(CONTENT))
    monkeypatch.setattr("sys.stdin", io.StringIO("quên mật khẩu vneid\nkết quả xổ số hôm nay\n\n"))
    assert main(["ask", "--json", "-"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 3
    assert set(lines[0]) == {"question", "topic", "score", "answer", "suggestions"}
    assert lines[0]["topic"] == "vneid-forgot-password" and lines[0]["answer"]
    assert "<" not in lines[0]["answer"] and "**" not in lines[0]["answer"]
    assert lines[1]["topic"] is None and lines[1]["answer"] is None
    assert lines[2]["topic"] is None and lines[2]["suggestions"] == []
    assert main(["ask", "quen mk vneid"]) == 0
    assert "vneid-forgot-password" in capsys.readouterr().out
