"""Evaluation that never grades data it was fitted on: k-fold over the example files, and held-out sets.

`kfold` trains the classifier k times, each time without one fold of every label's example file, and asks
the full FAQ service (classifier + lexical index) the questions of the left-out fold. The lexical index is
built from the FAQ files only (titles, questions, keywords, bodies), never from content/examples/, so a
left-out example is unseen by both signals.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.content import Content
from bot.faq.classifier import OUT_OF_SCOPE
from bot.faq.index import FaqIndex
from bot.faq.normalize import fold
from bot.faq.service import FaqService, classifier_examples, train_classifier

FOLDS = 4


@dataclass(frozen=True)
class Outcome:
    """One graded question: its label, and what the bot did (`got` is the FAQ id answered, or None)."""

    text: str
    label: str  # an FAQ id, or a decline label (out-of-scope, a redirect id, small-talk, need-help)
    got: str | None
    status: str


def decided(service: FaqService, text: str) -> tuple[str | None, str]:
    answer = service.ask(text)
    return answer.topic, answer.status


def kfold(content: Content, folds: int = FOLDS) -> list[Outcome]:
    """Out-of-fold outcomes for every line of content/examples/ (stratified by label, deterministic)."""
    all_examples = classifier_examples(content)
    held: dict[str, list[list[str]]] = {}
    for label, items in content.examples.items():
        if label not in all_examples:
            continue
        buckets: list[list[str]] = [[] for _ in range(folds)]
        for i, item in enumerate(items):
            buckets[i % folds].append(item.text)
        held[label] = buckets
    index = FaqIndex.build(content)
    out: list[Outcome] = []
    for k in range(folds):
        train: dict[str, list[str]] = {}
        for label, texts in all_examples.items():
            leave = set(held[label][k]) if label in held else set()
            train[label] = [t for t in texts if t not in leave]
        service = FaqService(content, index, train_classifier(content, train))
        for label, buckets in held.items():
            for text in buckets[k]:
                got, status = decided(service, text)
                out.append(Outcome(text, label, got, status))
    return out


def grade(outcomes: Iterable[Outcome], faq_ids: Iterable[str]) -> tuple[float, float, dict[str, tuple[int, int]]]:
    """(right-topic share of in-scope questions, declined share of the others, per label (right, total))."""
    ids = set(faq_ids)
    per: dict[str, tuple[int, int]] = {}
    for o in outcomes:
        right = o.got == o.label if o.label in ids else o.got is None
        r, n = per.get(o.label, (0, 0))
        per[o.label] = (r + right, n + 1)
    ins = [v for k, v in per.items() if k in ids]
    outs = [v for k, v in per.items() if k not in ids]
    share = lambda vs: sum(r for r, _ in vs) / max(sum(n for _, n in vs), 1)  # noqa: E731
    return share(ins), share(outs), per


def heldout(service: FaqService, rows: Sequence[tuple[str, str]]) -> list[Outcome]:
    """Outcomes of labelled questions (label `out-of-scope` for anything the bot must decline)."""
    out: list[Outcome] = []
    for text, label in rows:
        got, status = decided(service, text)
        out.append(Outcome(text, label, got, status))
    return out


def duplicates_across_labels(content: Content) -> list[tuple[str, list[str]]]:
    """Questions (folded) that appear under more than one label."""
    seen: dict[str, set[str]] = {}
    for label, texts in classifier_examples(content).items():
        for t in texts:
            seen.setdefault(fold(t), set()).add(label)
    return sorted((q, sorted(labels)) for q, labels in seen.items() if len(labels) > 1)


def confusions(outcomes: Iterable[Outcome], faq_ids: Iterable[str], top: int = 8) -> list[tuple[str, str, int]]:
    """The most frequent (label, answered-instead) pairs among wrong answers."""
    ids = set(faq_ids)
    counts: dict[tuple[str, str], int] = {}
    for o in outcomes:
        if o.got is not None and o.got != o.label:
            key = (o.label if o.label in ids else OUT_OF_SCOPE, o.got)
            counts[key] = counts.get(key, 0) + 1
    return sorted(((a, b, n) for (a, b), n in counts.items()), key=lambda x: -x[2])[:top]
