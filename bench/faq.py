"""FAQ engine benchmark: accuracy against a plain baseline, latency, build time, memory.

    .venv/bin/python bench/faq.py               # figures
    .venv/bin/python bench/faq.py --calibrate   # refit the confidence constants (bot/faq/index.py)

Accuracy is measured on ../shared/eval/dev_questions.tsv (when present) and on the project's own
paraphrase set tests/data/paraphrases.tsv: in-scope top-1 = the bot answers with the right FAQ;
out-of-scope rejected = the bot does not answer. Speed is measured on the real content and on 3,000
synthetic FAQs made by recombining the syllables of the real ones.
"""

from __future__ import annotations

import argparse
import math
import random
import re
import statistics
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.content import Content, load_content  # noqa: E402
from bot.faq import index as index_module  # noqa: E402
from bot.faq.index import FaqIndex  # noqa: E402
from bot.faq.service import FaqService  # noqa: E402

DEV_SET = ROOT.parent / "shared" / "eval" / "dev_questions.tsv"
PARAPHRASES = ROOT / "tests" / "data" / "paraphrases.tsv"
OUT_OF_SCOPE = "out-of-scope"
SYNTHETIC_SIZE = 3000
BASELINE_REJECT_BELOW = 0.2  # the baseline declines when its best cosine is below this


def read_tsv(path: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        if "\t" in line:
            question, topic = line.split("\t")[:2]
            rows.append((question.strip(), topic.strip()))
    return rows


# --- baseline: bag-of-words cosine, no folding --------------------------------------------------------


def baseline(content: Content) -> Callable[[str], tuple[str | None, float]]:
    """Cosine between word counts (lower case, diacritics kept) of the question and of each whole FAQ."""

    def bag(text: str) -> Counter[str]:
        return Counter(re.findall(r"\w+", text.lower()))

    docs = {f.id: bag(" ".join([f.title, *f.questions, *f.keywords, f.body])) for f in content.faqs.values()}
    norms = {k: math.sqrt(sum(v * v for v in d.values())) for k, d in docs.items()}

    def ask(question: str) -> tuple[str | None, float]:
        q = bag(question)
        qn = math.sqrt(sum(v * v for v in q.values())) or 1.0
        best, score = None, 0.0
        for faq_id, d in docs.items():
            s = sum(c * d.get(w, 0) for w, c in q.items()) / (qn * norms[faq_id] or 1.0)
            if s > score:
                best, score = faq_id, s
        return (best, score) if score >= BASELINE_REJECT_BELOW else (None, score)

    return ask


def accuracy(
    rows: Sequence[tuple[str, str]], ask: Callable[[str], str | None]
) -> tuple[float, float, int, int]:
    """(in-scope top-1, out-of-scope rejected, n in scope, n out of scope)."""
    hit = rejected = n_in = n_out = 0
    for question, topic in rows:
        got = ask(question)
        if topic == OUT_OF_SCOPE:
            n_out += 1
            rejected += got is None
        else:
            n_in += 1
            hit += got == topic
    return hit / max(n_in, 1), rejected / max(n_out, 1), n_in, n_out


# --- synthetic content --------------------------------------------------------------------------------


def synthetic(content: Content, size: int, seed: int = 6) -> Content:
    """`size` FAQs: the real ones plus fakes whose texts recombine the syllables of the real texts.

    Each fake text is a random walk over the syllable bigrams of the same field of the real FAQs (title,
    questions, keywords, body), so the vocabulary and the neighbour statistics stay those of real content
    while every fake FAQ says something new.
    """
    rng = random.Random(seed)
    real = list(content.faqs.values())
    texts: dict[str, list[str]] = {
        "title": [f.title for f in real],
        "questions": [q for f in real for q in f.questions],
        "keywords": [k for f in real for k in f.keywords],
        "body": [p for f in real for p in f.body.split("\n") if p.strip()],
    }
    chains: dict[str, dict[str, list[str]]] = {}
    starts: dict[str, list[str]] = {}
    for name, lines in texts.items():
        chain: dict[str, list[str]] = {}
        for line in lines:
            words = line.split()
            starts.setdefault(name, []).append(words[0])
            for a, b in zip(words, words[1:], strict=False):
                chain.setdefault(a, []).append(b)
        chains[name] = chain

    def walk(name: str, length: int) -> str:
        word = rng.choice(starts[name])
        out = [word]
        while len(out) < max(length, 1):
            following = chains[name].get(word)
            word = rng.choice(following) if following else rng.choice(starts[name])
            out.append(word)
        return " ".join(out)

    faqs = dict(content.faqs)
    i = 0
    while len(faqs) < size:
        model = real[i % len(real)]
        i += 1
        fid = f"synthetic-{i:05d}"
        faqs[fid] = replace(
            model,
            id=fid,
            title=walk("title", len(model.title.split())),
            questions=tuple(walk("questions", len(q.split())) for q in model.questions),
            keywords=tuple(walk("keywords", len(k.split())) for k in model.keywords),
            related=(),
            body="\n".join(walk("body", len(p.split())) for p in model.body.split("\n")),
        )
    return replace(content, faqs=faqs)


def timed_queries(service: FaqService, questions: Sequence[str], rounds: int) -> list[float]:
    timings: list[float] = []
    for _ in range(rounds):
        for q in questions:
            start = time.perf_counter()
            service.ask(q)
            timings.append((time.perf_counter() - start) * 1000)
    return timings


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(p / 100 * len(ordered)), len(ordered) - 1)]


# --- calibration --------------------------------------------------------------------------------------


FEATURES = ("coverage", "trigram", "overlap", "margin", "novelty", "length")


def fit_logistic(xs: Sequence[Sequence[float]], ys: Sequence[int], l2: float = 1e-3) -> tuple[list[float], float]:
    """Logistic regression by gradient descent on standardised features; weights for the raw features."""
    dims = len(xs[0])
    means = [statistics.fmean(x[j] for x in xs) for j in range(dims)]
    spreads = [statistics.pstdev([x[j] for x in xs]) or 1.0 for j in range(dims)]
    zs = [[(x[j] - means[j]) / spreads[j] for j in range(dims)] for x in xs]
    weights = [0.0] * dims
    bias = 0.0
    for _ in range(4000):
        grad = [0.0] * dims
        grad_b = 0.0
        for z, y in zip(zs, ys, strict=True):
            p = 1 / (1 + math.exp(-max(min(bias + sum(w * v for w, v in zip(weights, z, strict=True)), 50), -50)))
            for j in range(dims):
                grad[j] += (p - y) * z[j]
            grad_b += p - y
        weights = [w - 0.5 * (g / len(zs) + l2 * w) for w, g in zip(weights, grad, strict=True)]
        bias -= 0.5 * grad_b / len(zs)
    raw = [w / s for w, s in zip(weights, spreads, strict=True)]
    return raw, bias - sum(w * m for w, m in zip(raw, means, strict=True))


def calibrate(content: Content, rows: Sequence[tuple[str, str]]) -> None:
    """Fit the confidence on the paraphrases: target 1 when the top FAQ is right, 0 when wrong or out of
    scope. Then sweep the answer threshold of the service."""
    index = FaqIndex.build(content)
    xs: list[list[float]] = []
    ys: list[int] = []
    for question, topic in rows:
        found = index.search_detail(question, 3)
        if found:
            xs.append([float(getattr(found[0].features, name)) for name in FEATURES])
            ys.append(int(found[0].faq_id == topic))
    weights, bias = fit_logistic(xs, ys)
    print(f"fitted on {len(xs)} paraphrases:")
    print(f"CONF_BIAS = {bias:.2f}")
    for name, weight in zip(FEATURES, weights, strict=True):
        print(f"CONF_{name.upper()} = {weight:.2f}")
        setattr(index_module, f"CONF_{name.upper()}", weight)
    index_module.CONF_BIAS = bias
    service = FaqService(content, FaqIndex.build(content))
    from bot.faq import service as service_module

    print("answer threshold: in-scope top-1 / out-of-scope rejected")
    for threshold in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        service_module.ANSWER_THRESHOLD = threshold
        top1, rejected, _, _ = accuracy(rows, lambda q: service.ask(q).topic)
        print(f"  {threshold:.2f}: {top1:.1%} / {rejected:.1%}")


# --- main ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--content", type=Path, default=ROOT / "content")
    parser.add_argument("--calibrate", action="store_true", help="refit the confidence on the paraphrases")
    parser.add_argument("--rounds", type=int, default=5, help="passes over the questions for latency")
    args = parser.parse_args(argv)

    content = load_content(args.content)
    paraphrases = read_tsv(PARAPHRASES)
    if args.calibrate:
        calibrate(content, paraphrases)
        return 0

    sets: list[tuple[str, list[tuple[str, str]]]] = []
    if DEV_SET.is_file():
        sets.append(("dev set", read_tsv(DEV_SET)))
    else:
        print(f"(dev set not found at {DEV_SET})")
    sets.append(("paraphrases", paraphrases))

    start = time.perf_counter()
    service = FaqService(content)
    build_real = (time.perf_counter() - start) * 1000
    plain = baseline(content)
    print(f"content: {len(content.faqs)} FAQs")
    header = ("set", "n in/out", "engine top-1", "rejected", "baseline top-1", "rejected")
    print(f"{header[0]:<13}{header[1]:>10}  {header[2]:>12} {header[3]:>9}   {header[4]:>14} {header[5]:>9}")
    for name, rows in sets:
        top1, rejected, n_in, n_out = accuracy(rows, lambda q: service.ask(q).topic)
        b_top1, b_rejected, _, _ = accuracy(rows, lambda q: plain(q)[0])
        counts = f"{n_in}/{n_out}"
        print(f"{name:<13}{counts:>10}  {top1:>12.1%} {rejected:>9.1%}   {b_top1:>14.1%} {b_rejected:>9.1%}")
    print(
        f"(baseline: bag-of-words cosine over the whole FAQ, diacritics kept, declines below "
        f"{BASELINE_REJECT_BELOW})"
    )

    questions = [q for _, rows in sets for q, _ in rows]
    print()
    print(f"{'FAQs':>6} {'build ms':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'peak MiB':>9}")
    for size in (len(content.faqs), SYNTHETIC_SIZE):
        data = content if size == len(content.faqs) else synthetic(content, size)
        tracemalloc.start()
        start = time.perf_counter()
        svc = FaqService(data)
        build = (time.perf_counter() - start) * 1000 if size != len(content.faqs) else build_real
        timings = timed_queries(svc, questions, args.rounds)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        # Latency again without tracemalloc's overhead.
        timings = timed_queries(svc, questions, args.rounds)
        print(
            f"{len(data.faqs):>6} {build:>9.0f} {statistics.median(timings):>8.3f} "
            f"{percentile(timings, 99):>8.3f} {max(timings):>8.3f} {peak:>9.1f}"
        )
    print(f"({len(questions)} questions × {args.rounds} rounds per size, one core)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
