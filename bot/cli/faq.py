"""`ask` (query the FAQ engine), `content check` (validate content/) and `content gaps`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from bot.cli import gaps as gaps_cli
from bot.cli.common import print_json
from bot.config import load_settings
from bot.content import Content, ContentError, load_content, missing_values
from bot.faq import evaluate
from bot.faq.check import run_checks
from bot.faq.render import render_plain
from bot.faq.service import Answer, FaqService
from bot.i18n import DEFAULT_LANGUAGE, Catalogs

# Same message id as the Telegram handlers use, so the catalog gives the same wording everywhere.
UNKNOWN_VALUE = "(not updated yet — please ask at the commune office)"
DEFAULT_HELDOUT = Path("tests/data/heldout.tsv")
# Floors of the k-fold evaluation in `content check` (measured 2026-12: about 84 % / 93 %).
KFOLD_FLOOR_RIGHT = 0.78
KFOLD_FLOOR_DECLINED = 0.85


def add_parsers(sub: Any) -> None:
    ask = sub.add_parser("ask", help="ask the FAQ engine a question (use - to read one question per line)")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("question", help="the question, or - for one question per line of standard input")
    ask.set_defaults(func=cmd_ask)

    content = sub.add_parser("content", help="work on the content folder")
    csub = content.add_subparsers(dest="content_command", required=True)
    check = csub.add_parser("check", help="validate content/: file:line problems, exit 1 on errors")
    check.add_argument("--no-eval", action="store_true", help="skip the k-fold and held-out evaluation")
    check.add_argument("--heldout", type=Path, default=DEFAULT_HELDOUT,
                       help="a TSV (question, topic) never trained on (default tests/data/heldout.tsv)")
    check.set_defaults(func=cmd_check)
    gaps_cli.add_parser(csub)  # storage-backed: bot/cli/gaps.py


def cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings()
    content, problems = run_checks(settings.content_dir)
    for problem in problems:
        print(problem)
    if any(p.severity == "error" for p in problems):
        errors = sum(p.severity == "error" for p in problems)
        print(f"{errors} error(s)", file=sys.stderr)
        return 1
    for template in content.templates.values():  # the editor's dialogue refuses these until filled in
        missing = missing_values(template.body, content.commune)
        if missing:
            print(f"{template.path}:{template.line}: warning: template incomplete, it cannot be sent until "
                  f"commune.toml has: {', '.join(missing)}")
    if not getattr(args, "no_eval", False):
        if not _evaluate(content, getattr(args, "heldout", DEFAULT_HELDOUT)):
            return 1
    print(f"OK ({len(content.faqs)} FAQs, {len(content.templates)} templates)")
    return 0


def _evaluate(content: Content, heldout_path: Path) -> bool:
    """k-fold over content/examples (floor) and the held-out set: per-topic figures; False under a floor."""
    if not any(label in content.faqs for label in content.examples):
        print("(no content/examples/ for the FAQs: nothing to evaluate)", file=sys.stderr)
        return True
    outcomes = evaluate.kfold(content)
    right, declined, per = evaluate.grade(outcomes, content.faqs)
    print(f"k-fold ({evaluate.FOLDS} folds over content/examples/, each question graded by a model that never "
          f"saw it): right topic {right:.1%}, declined {declined:.1%}")
    heldout_per: dict[str, tuple[int, int]] = {}
    if heldout_path.is_file():
        rows = _read_tsv(heldout_path)
        service = FaqService(content)
        h_right, h_declined, heldout_per = evaluate.grade(evaluate.heldout(service, rows), content.faqs)
        print(f"held-out ({heldout_path}, {len(rows)} questions): right topic {h_right:.1%}, "
              f"out-of-scope declined {h_declined:.1%}")
    print(f"  {'label':28s} {'k-fold':>12s} {'held-out':>12s}")
    for label in sorted(set(per) | set(heldout_per)):
        k = per.get(label)
        h = heldout_per.get(label)
        kf = f"{k[0]}/{k[1]}" if k else "-"
        ho = f"{h[0]}/{h[1]}" if h else "-"
        print(f"  {label:28s} {kf:>12s} {ho:>12s}")
    pairs = evaluate.confusions(outcomes, content.faqs)
    if pairs:
        print("most confused (k-fold): " + "; ".join(f"{a} → {b} ×{n}" for a, b, n in pairs))
    for folded, labels in evaluate.duplicates_across_labels(content):
        print(f"duplicated across topics: '{folded}' in {', '.join(labels)}")
    ok = right >= KFOLD_FLOOR_RIGHT and declined >= KFOLD_FLOOR_DECLINED
    if not ok:
        print(f"error: k-fold below the floor ({KFOLD_FLOOR_RIGHT:.0%} right topic, {KFOLD_FLOOR_DECLINED:.0%} "
              "declined): add examples where the table is weak", file=sys.stderr)
    return ok


def _read_tsv(path: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if "\t" in line:
            question, topic = line.split("\t")[:2]
            rows.append((question.strip(), topic.strip()))
    return rows


def cmd_ask(args: argparse.Namespace) -> int:
    settings = load_settings()
    try:
        content = load_content(settings.content_dir)
    except ContentError as exc:
        print(exc, file=sys.stderr)
        return 1
    service = FaqService(content)
    unknown = Catalogs.load(settings.content_dir / "locales").gettext(DEFAULT_LANGUAGE)(UNKNOWN_VALUE)
    if args.question == "-":
        # One answer per input line, blank lines included, so outputs line up with inputs.
        for line in sys.stdin:
            _emit(service, service.ask(line.rstrip("\r\n")), unknown, args.json, sys.stdout)
        return 0
    _emit(service, service.ask(args.question), unknown, args.json, sys.stdout)
    return 0


def _emit(service: FaqService, result: Answer, unknown: str, as_json: bool, out: TextIO) -> None:
    answer = None
    if result.topic is not None:
        answer = render_plain(service.faq(result.topic), service.content.commune, unknown)
    if as_json:
        record: dict[str, Any] = {
            "question": result.question,
            "topic": result.topic,
            "score": round(result.score, 4),
            "answer": answer,
            "suggestions": list(result.candidates),
        }
        if result.redirect is not None:
            record["redirect"] = result.redirect
        print_json(record)
        return
    print(f"? {result.question}", file=out)
    print(
        f"→ {result.status} (score {result.score:.2f})"
        + (f": {result.topic}" if result.topic else "")
        + (f" → redirect {result.redirect}" if result.redirect else ""),
        file=out,
    )
    if result.topic is not None and answer is not None:
        print(f"\n{service.faq(result.topic).title}\n\n{answer}\n", file=out)
        if result.related:
            print("related: " + ", ".join(result.related), file=out)
    elif result.candidates:
        print("suggestions: " + ", ".join(result.candidates), file=out)
    print(file=out)
