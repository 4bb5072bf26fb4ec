"""`content gaps` (what residents asked that the bot could not answer well, grouped by similarity, with the
classifier's suggested topic) and `content accept` (take one of them into content/ as training data)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from bot.cli.common import database, print_json
from bot.config import load_settings
from bot.content import EXAMPLES_DIR, ContentError, load_content
from bot.faq.index import dice, trigrams
from bot.faq.normalize import fold
from bot.faq.service import SPECIAL_LABELS, FaqService
from bot.privacy import mask_text
from storage.questions import Gap, Questions

KIND_LABEL = {"unsure": "unsure", "out_of_scope": "declined", "redirect": "redirect", "thumbs_down": "👎",
              "low": "low"}
LOW_SCORE = 0.6  # answered questions below this confidence are listed too (low margin)
SIMILAR = 0.55  # character 3-gram similarity that puts two questions in one group


def add_parser(csub: Any) -> None:
    gaps = csub.add_parser("gaps", help="questions the bot declined, was unsure of or answered weakly, and 👎")
    gaps.add_argument("--days", type=int, default=30, help="look back this many days (default 30)")
    gaps.add_argument("--limit", type=int, default=50)
    gaps.add_argument("--json", action="store_true")
    gaps.set_defaults(func=cmd_gaps)
    accept = csub.add_parser("accept", help="add a question to a topic's examples, the out-of-scope examples "
                                            "or a redirect's examples (content/examples/<label>.txt)")
    accept.add_argument("question")
    accept.add_argument("--to", required=True, dest="label",
                        help="an FAQ id, a redirect id (content/redirects.toml) or out-of-scope")
    accept.set_defaults(func=cmd_accept)


def _group(gaps: list[Gap]) -> list[list[Gap]]:
    """Greedy grouping by 3-gram similarity of the folded questions, most frequent group first."""
    groups: list[tuple[frozenset[str], list[Gap]]] = []
    for g in gaps:
        grams = trigrams(fold(g.text))
        for head, members in groups:
            if dice(head, grams) >= SIMILAR:
                members.append(g)
                break
        else:
            groups.append((grams, [g]))
    out = [members for _head, members in groups]
    out.sort(key=lambda members: -sum(m.count for m in members))
    return out


def cmd_gaps(args: argparse.Namespace) -> int:
    settings = load_settings()
    service: FaqService | None = None
    try:
        service = FaqService(load_content(settings.content_dir))
    except ContentError as exc:
        print(f"(no suggestions: {exc})", file=sys.stderr)

    async def go() -> None:
        since = time.time() - args.days * 86400
        async with database() as db:
            gaps = await Questions(db).gaps(since=since, limit=args.limit, low_score=LOW_SCORE)
        if not gaps and not args.json:
            print(f"No unanswered questions in the last {args.days} days.")
        for number, members in enumerate(_group(gaps), start=1):
            for g in members:
                suggested = _suggest(service, g.text)
                if args.json:
                    print_json({"count": g.count, "kind": g.kind, "faq": g.topic, "example": g.text,
                                "group": number, "suggested": suggested})
                else:
                    extra = f" [{g.topic}]" if g.topic else ""
                    print(f"#{number:<3d}{g.count:5d}  {KIND_LABEL.get(g.kind, g.kind):8s}{extra}  {g.text}"
                          f"  → {suggested or '?'}")
        if gaps and not args.json:
            print('\nTake one into the content: python -m bot content accept "QUESTION" --to LABEL')

    asyncio.run(go())
    return 0


def _suggest(service: FaqService | None, text: str) -> str | None:
    if service is None or service.classifier is None:
        return None
    return service.classifier.predict(text, k=1).label


def cmd_accept(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        content = load_content(settings.content_dir)
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    label = args.label.strip()
    known = set(content.faqs) | set(content.redirects) | set(SPECIAL_LABELS)
    if label not in known:
        print(f"unknown label '{label}': use an FAQ id, a redirect id or one of {', '.join(SPECIAL_LABELS)}",
              file=sys.stderr)
        return 1
    text = " ".join(mask_text(args.question).split())
    if not text:
        print("the question is empty", file=sys.stderr)
        return 1
    existing = {fold(e.text): lbl for lbl, items in content.examples.items() for e in items}
    if fold(text) in existing:
        print(f"already an example of '{existing[fold(text)]}'", file=sys.stderr)
        return 1
    path = settings.content_dir / EXAMPLES_DIR / f"{label}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    with path.open("a", encoding="utf-8") as out:
        if current and not current.endswith("\n"):
            out.write("\n")
        out.write(text + "\n")
    print(f"added to {path}: {text}")
    print("The bot learns it when the content is reloaded (or restarted); run `python -m bot content check`.")
    return 0
