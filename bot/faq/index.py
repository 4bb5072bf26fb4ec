"""Search index over the FAQ files.

Design (measured on the real content and on 3,000 synthetic FAQs by bench/faq.py):

* Text is normalised (NFC, lower case), split into syllables, abbreviations expanded ("dk" → "đăng ký";
  the original syllables are kept too).
* Terms are folded syllables and folded syllable bigrams ("dang", "dang ky"), scored with BM25F over four
  fields: title, questions and keywords weigh more than the body.
* Accent-aware signal: a syllable the user typed *with* marks only fully matches the same accented
  syllable ("mã" ≠ "má"); folded look-alikes still count, at `ACCENT_MISMATCH` of their weight. Text typed
  without marks matches by folding alone. Old/new tone placement compare equal ("hoà" = "hòa").
* Typos: a syllable unknown to the index is replaced by the closest known one (one edit, or a teencode
  spelling such as "w" → "qu"), at a discount; the top candidates are then re-ranked with a character
  3-gram similarity between the query and each FAQ's questions.
* Particles ("ạ", "nhé") are dropped; question-framing syllables ("ở đâu", "làm sao") weigh less.
* Confidence: P(in scope) × P(right FAQ), two logistic functions of the match's features (coverage of the
  query, 3-gram similarity, best single-question overlap, lead over the runner-up, share of unknown
  syllables, query length), calibrated by `bench/faq.py --calibrate`; so `Match.score` is in [0, 1] and
  comparable across queries.
* Postings are packed into two flat numpy arrays (FAQ numbers, contributions); a query's are added up by one
  `np.bincount` into a dense score vector (at 3,000 FAQs about 3 times faster than a dict filled term by
  term, with the same sums and the same order of equal scores; see `_pool`). A small collection (up to
  PACKED_POOL_MAX FAQs, today's content) also packs each posting into one Python integer, a fixed-point
  lane per FAQ, and adds a query's up in a C-level `sum` instead: below a few hundred FAQs that beats
  numpy's per-call costs (`_packed_pool`); likewise the re-ranking's 3-gram counts of all questions come
  from one sum (`_shared_grams`). Both small-collection paths give the large one's results (tests/test_index.py).
"""

from __future__ import annotations

import heapq
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise, repeat
from operator import add, itemgetter, mul, truediv
from typing import Literal, NamedTuple, cast

import numpy as np
import numpy.typing as npt

from bot.content import Content, Faq
from bot.faq.normalize import (
    AbbreviationTable,
    compile_abbreviations,
    expand_abbreviations,
    fold_token,
    has_marks,
    is_filler,
    is_frame,
    tokenize,
    tone_key,
)
from bot.faq.render import render_plain

# Ranking parameters, tuned by bench/faq.py-style sweeps on tests/data/paraphrases.tsv and on held-out
# FAQ questions (each FAQ's questions removed in turn and asked); the dev set was not used.
# BM25F: saturation and, per field, weight and length normalisation.
K1 = 1.2
FIELDS: dict[str, tuple[float, float]] = {  # name → (weight, b)
    "title": (1.5, 0.3),
    "questions": (1.0, 0.2),
    "keywords": (3.0, 0.2),
    "body": (0.5, 0.75),
}
BIGRAM_WEIGHT = 1.0  # a bigram counts like a syllable of the same IDF, on top of its two syllables
PHRASE_POWER = 0.5  # how strongly a bigram's weight follows how often its syllables occur together
# A syllable typed with marks that matches a look-alike with other marks ("má" for "mã") keeps this share.
ACCENT_MISMATCH = 0.35
# A segment counts as "typed with marks" when at least this share of its letter syllables carry marks;
# its unmarked syllables then really have no marks ("cho" ≠ "chợ").
ACCENTED_SEGMENT = 0.3
FUZZY_WEIGHT = 0.7  # weight of a syllable obtained by typo correction
# Weight of syllables that frame a question ("ở đâu", "làm sao", "có … không") rather than name its topic.
FRAME_WEIGHT = 0.35
# Unknown syllables weigh this share of the highest IDF in the coverage denominator: the query says
# things no FAQ talks about.
UNKNOWN_WEIGHT = 0.6
RERANK = 8  # candidates re-ranked with the 3-gram similarity
TRIGRAM_WEIGHT = 0.35  # share of the 3-gram similarity in the ranking score
OVERLAP_WEIGHT = 0.0  # share of the best single-question overlap in the ranking score (a feature only)
# Speed at large sizes (thousands of FAQs); a collection smaller than POSTING_CAP is scored exactly.
POSTING_CAP = 400  # FAQs kept per term (see FaqIndex.__init__)
SCORE_BUDGET = 4000  # posting entries added up per query before the shortlist takes over (_raw_scores)
SHORTLIST = 32  # FAQs kept for the weaker terms once the budget is spent
SYLLABLE_CACHE_MAX = 100_000  # syllables whose typo correction and query term are kept for the next query
# Up to this many FAQs, a query's BM25F scores are also added up in packed integers (one 64-bit lane per
# FAQ, each contribution in fixed point) rather than with numpy's calls (_packed_pool).
PACKED_POOL_MAX = 256
# Up to this many questions in all, the 3-gram counts of every question come from one sum per query (each
# 3-gram an integer of one lane per question); beyond, from a sum per candidate FAQ (_trigram).
ALL_GRAM_LANES_MAX = 2048
# The overlap feature sums a query's term weights in fixed point (2^-32), one 64-bit lane per question:
# weights below 2^6 and fewer than 2^20 terms per query keep every lane below 2^58.
OVERLAP_LANE_BITS = 64
_OVERLAP_FIXED = float(1 << 32)

# Confidence = P(in scope) × P(right FAQ | in scope): two logistic functions of the match's Features
# (bias, coverage, trigram, overlap, margin, novelty, length). Fitted by `bench/faq.py --calibrate`: the
# scope model on in-scope questions (paraphrases + held-out FAQ questions) against the out-of-scope
# paraphrases, classes balanced; the "right FAQ" model on in-scope questions, target 1 when the top
# match is the labelled FAQ.
SCOPE_WEIGHTS: tuple[float, ...] = (-22.06, 7.22, 10.00, 5.32, 3.49, -17.47, 6.19)
RIGHT_WEIGHTS: tuple[float, ...] = (-1.63, 3.74, 0.73, -1.16, 7.95, -3.15, -0.02)

# Teencode and sloppy spellings tried, in order, on syllables the index does not know.
_SPELLINGS: tuple[tuple[str, str], ...] = (
    ("w", "qu"),
    ("f", "ph"),
    ("z", "d"),
    ("z", "gi"),
    ("j", "gi"),
    ("ck", "ch"),
    ("nk", "nh"),
    ("k", "c"),
    ("dz", "d"),
    ("oj", "oi"),
    ("uj", "ui"),
    ("aj", "ai"),
    ("ej", "ei"),
    ("j", "i"),
    ("x", "s"),
    ("s", "x"),
    ("ch", "tr"),
    ("tr", "ch"),
    ("n", "ng"),
    ("ng", "n"),
    ("c", "t"),
    ("t", "c"),
)


@dataclass(frozen=True)
class Match:
    """A search result: the FAQ id and a calibrated confidence in [0, 1]."""

    faq_id: str
    score: float


class Features(NamedTuple):
    """What the confidence of a match is computed from (a named tuple: six are made per question, and a
    frozen dataclass took four times as long to build)."""

    coverage: float  # IDF-weighted share of the query the FAQ matches (BM25F, saturated)
    trigram: float  # best character 3-gram similarity between the query and one of the FAQ's questions
    overlap: float  # best F1 of shared IDF-weighted terms between the query and one question
    margin: float  # lead of the first result over the second (0 for the others)
    novelty: float  # share of the query's syllables that no FAQ uses
    length: float  # log(1 + syllables of the query)

    def vector(self) -> tuple[float, ...]:
        return (1.0, self.coverage, self.trigram, self.overlap, self.margin, self.novelty, self.length)

    def confidence(self) -> float:
        x = self.vector()
        scope = _sigmoid(sum(map(mul, SCOPE_WEIGHTS, x)))
        right = _sigmoid(sum(map(mul, RIGHT_WEIGHTS, x)))
        return scope * right


class Scored(NamedTuple):
    """A search result with the features behind its score (for calibration, benchmarks and debugging)."""

    faq_id: str
    score: float
    raw: float
    features: Features


@dataclass(frozen=True)
class QueryTerms:
    """A query after analysis."""

    tokens: tuple[str, ...]  # syllables after abbreviation expansion, particles dropped
    terms: tuple[tuple[str, str | None, float], ...]  # (folded term, accent key or None, weight)
    known: int  # syllables the index knows (after correction)
    unknown: tuple[str, ...]  # syllables it does not know
    folded_text: str  # for 3-gram similarity
    denominator: float  # sum of IDF weights a perfect match would collect
    # For the other readers of the same question (the classifier, the out-of-scope words), so that it is
    # tokenised and expanded once: `tokenize(query)`, and its expansion with the particles kept.
    syllables: tuple[str, ...] = ()
    all_tokens: tuple[str, ...] = ()


def _sigmoid(x: float) -> float:
    if x < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


@lru_cache(maxsize=65536)
def _info(token: str) -> tuple[str, bool, str]:
    """(folded form, typed with marks?, accent key) of a normalised syllable."""
    folded = fold_token(token)
    return folded, folded != token, tone_key(token)


def trigrams(text: str) -> frozenset[str]:
    padded = f" {text} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2.0 * len(a & b) / (len(a) + len(b))


def _osa_within_one(a: str, b: str) -> bool:
    """True when `a` and `b` differ by at most one edit (insert, delete, substitute, swap neighbours)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass
class _Segment:
    """One analysed line of an FAQ (title, a question, a keyword, a body paragraph)."""

    length: int  # syllables
    folded: dict[str, int]  # folded term → count
    accented: dict[str, int]  # accent key → count (syllables with a known accent)
    wild: dict[str, int]  # folded term → count (typed without marks: any accent matches)
    term_set: frozenset[str]
    line: str  # the folded, expanded text (for character 3-grams)


class FaqIndex:
    """BM25F + accent signal + typo correction + 3-gram re-ranking over a `Content`'s FAQs."""

    def __init__(self, faqs: Sequence[Faq], abbreviations: AbbreviationTable, body_texts: Sequence[str]) -> None:
        self.ids: list[str] = [f.id for f in faqs]
        self.abbreviations = abbreviations
        n = len(faqs)
        self.n = n
        self._term_of_key: dict[str, str] = {}  # accent key → folded term
        cache: dict[str, _Segment] = {}
        pool: dict[str, str] = {}  # one string object per distinct term or 3-gram, shared by all tables

        def analysed(text: str) -> _Segment:
            seg = cache.get(text)
            if seg is None:
                seg = cache[text] = self._analyse_segment(text, pool)
            return seg

        # Pass 1: analyse every segment; field lengths for BM25F's length normalisation.
        docs: list[dict[str, list[_Segment]]] = []
        for faq, body in zip(faqs, body_texts, strict=True):
            docs.append(
                {
                    "title": [analysed(faq.title)],
                    "questions": [analysed(q) for q in faq.questions],
                    "keywords": [analysed(k) for k in faq.keywords],
                    "body": [analysed(p) for p in body.split("\n") if p.strip()],
                }
            )
        avg = {
            name: (sum(sum(seg.length for seg in doc[name]) for doc in docs) / n if n else 0.0) or 1.0
            for name in FIELDS
        }
        # Per FAQ: its title and questions as 3-gram sets and term sets (for the re-ranking features); the
        # terms residents use when asking (a short query made of one of them is a keyword of our domain).
        question_grams: list[list[frozenset[str]]] = []
        question_terms: list[list[frozenset[str]]] = []
        asking: set[str] = set()
        for doc in docs:
            lines = doc["title"] + doc["questions"]
            question_grams.append(
                [frozenset(pool.setdefault(g, g) for g in trigrams(seg.line)) for seg in lines if seg.line]
            )
            question_terms.append([seg.term_set for seg in lines if seg.term_set])
            for name in ("title", "questions", "keywords"):
                for seg in doc[name]:
                    asking.update(seg.term_set)
        self.asking_terms: frozenset[str] = frozenset(asking)
        # The 3-gram sets packed per FAQ for the re-ranking: 3-gram → an integer with a 1 in the lane of
        # every question (title first) that has it. Summing a query's 3-grams gives, in one C-level `sum`,
        # how many each question shares with the query (lanes are wide enough for the longest question).
        largest = max((len(g) for per_doc in question_grams for g in per_doc), default=0)
        self._gram_width = 1 if largest < 1 << 8 else 2 if largest < 1 << 16 else 4
        self._gram_format: Literal["B", "H", "I"] = "B" if largest < 1 << 8 else "H" if largest < 1 << 16 else "I"
        self._gram_lanes: list[dict[str, int]] = []
        self._gram_sizes: list[tuple[int, ...]] = []
        for per_doc in question_grams:
            lanes: dict[str, int] = {}
            for j, grams in enumerate(per_doc):
                bit = 1 << (8 * self._gram_width * j)
                for g in grams:
                    lanes[g] = lanes.get(g, 0) + bit
            self._gram_lanes.append(lanes)
            self._gram_sizes.append(tuple(len(g) for g in per_doc))
        del question_grams
        # A small collection also packs every question of every FAQ into one integer per 3-gram, so that
        # one sum serves all the candidates re-ranked (`_shared_grams`); same counts as the per-FAQ lanes.
        self._gram_offsets: list[int] = []
        self._all_gram_lanes: dict[str, int] = {}
        questions = sum(len(sizes) for sizes in self._gram_sizes)
        if questions <= ALL_GRAM_LANES_MAX:
            start = 0
            for lanes, sizes in zip(self._gram_lanes, self._gram_sizes, strict=True):
                self._gram_offsets.append(start)
                shift = 8 * self._gram_width * start
                for g, v in lanes.items():
                    self._all_gram_lanes[g] = self._all_gram_lanes.get(g, 0) + (v << shift)
                start += len(sizes)

        # Pass 2: field-weighted, length-normalised term frequencies: folded, and for the syllables written
        # with several accents in the FAQs ("mã", "má"…), per accent key and typed-without-marks ("wild").
        keys_of: dict[str, set[str]] = {}
        for key, term in self._term_of_key.items():
            keys_of.setdefault(term, set()).add(key)
        ambiguous = {term for term, keys in keys_of.items() if len(keys) > 1}
        fold_w: dict[str, dict[int, float]] = {}
        acc_w: dict[str, dict[int, float]] = {}
        wild_w: dict[str, dict[int, float]] = {}
        totals: dict[str, float] = {}  # raw corpus frequency of every term
        for d, doc in enumerate(docs):
            for name, (weight, b) in FIELDS.items():
                segments = doc[name]
                length = sum(seg.length for seg in segments)
                w = weight / (1.0 - b + b * length / avg[name])
                for seg in segments:
                    for key, count in seg.folded.items():
                        slot = fold_w.get(key)
                        if slot is None:
                            slot = fold_w[key] = {}
                        slot[d] = slot.get(d, 0.0) + w * count
                        totals[key] = totals.get(key, 0.0) + count
                    for table, counts in ((acc_w, seg.accented), (wild_w, seg.wild)):
                        for key, count in counts.items():
                            if (self._term_of_key[key] if table is acc_w else key) not in ambiguous:
                                continue
                            slot = table.get(key)
                            if slot is None:
                                slot = table[key] = {}
                            slot[d] = slot.get(d, 0.0) + w * count
        del docs
        cache.clear()
        pool.clear()

        # IDF per folded term. A bigram weighs as much as it is a phrase: "kich hoat" (the two syllables
        # nearly always together) counts fully, a chance neighbourhood like "dan kich" ("hướng dẫn kích
        # hoạt") hardly at all.
        self.idf: dict[str, float] = {}
        for term, post in fold_w.items():
            idf = math.log(1.0 + (n - len(post) + 0.5) / (len(post) + 0.5))
            if " " in term:
                first, second = term.split(" ", 1)
                rarest = min(totals.get(first, 1.0), totals.get(second, 1.0))
                idf *= min(1.0, totals[term] / rarest) ** PHRASE_POWER * BIGRAM_WEIGHT
            self.idf[term] = idf
        self.max_idf = math.log(1.0 + (n + 0.5) / 0.5) if n else 1.0
        del totals
        # Per FAQ, for the overlap feature: the IDF total of each question's terms, and the questions packed
        # like the 3-grams (term → a 1 in the OVERLAP_LANE_BITS-bit lane of every question that has it), so
        # that a query's shared IDF weight with every question is one C-level sum of products.
        self._question_totals: list[tuple[float, ...]] = []
        self._term_lanes: list[dict[str, int]] = []
        for per_doc in question_terms:
            term_lanes: dict[str, int] = {}
            for j, terms in enumerate(per_doc):
                bit = 1 << (OVERLAP_LANE_BITS * j)
                for t in terms:
                    term_lanes[t] = term_lanes.get(t, 0) + bit
            self._term_lanes.append(term_lanes)
            # Summed in sorted order: a set's order changes with the hash seed, and so would the last bit.
            self._question_totals.append(tuple(sum(self.idf.get(t, 0.0) for t in sorted(terms)) for terms in per_doc))
        del question_terms

        # Postings of pre-saturated contributions, idf · tf / (k1 + tf), computed in place. Static pruning
        # for large collections: a syllable found in very many FAQs keeps only the FAQs where it weighs
        # most (title, questions, keywords); elsewhere it is background noise. Never applies below
        # POSTING_CAP FAQs, so small collections are scored exactly.
        raw_ambiguous = {term: dict(fold_w[term]) for term in ambiguous if term in fold_w}
        k1 = K1
        fold_post: dict[str, dict[int, float]] = {}
        for term, post in fold_w.items():
            idf = self.idf[term]
            if idf <= 0:
                continue
            for d, tf in post.items():
                post[d] = idf * tf / (k1 + tf)
            if len(post) > POSTING_CAP:
                post = dict(sorted(heapq.nlargest(POSTING_CAP, post.items(), key=itemgetter(1))))
            fold_post[term] = post
        del fold_w
        # For syllables typed with marks: the same accent (or text typed without marks) matches fully,
        # other accents count at most ACCENT_MISMATCH of the term's weight. A term written with a single
        # accent in all FAQs needs no posting of its own.
        acc_post: dict[str, dict[int, float]] = {}
        self._accented_terms: frozenset[str] = frozenset(keys_of)
        mismatch = ACCENT_MISMATCH
        for term, keys in keys_of.items():
            base = fold_post.get(term)
            if base is None:
                continue
            if term not in ambiguous:
                (only,) = keys
                acc_post[only] = base
                continue
            idf = self.idf[term]
            wild = wild_w.get(term, {})
            total_tf = raw_ambiguous[term]
            for key in sorted(keys):
                exact = acc_w.get(key, {})
                accent_post: dict[int, float] = {}
                for d in base:
                    tf = total_tf[d]
                    match = exact.get(d, 0.0) + wild.get(d, 0.0)
                    full = match / (k1 + match)
                    accent_post[d] = idf * (full + mismatch * max(tf / (k1 + tf) - full, 0.0))
                acc_post[key] = accent_post
        del acc_w, wild_w, raw_ambiguous
        # Every posting packed into two flat arrays (FAQ numbers ascending, contributions), so that a query's
        # postings are added up by one numpy `bincount` (see _pool); a term keeps (start, stop, highest
        # contribution). Accent postings may alias a folded one: they share its slice.
        packed: dict[int, tuple[int, int, float]] = {}
        id_parts: list[list[int]] = []
        value_parts: list[list[float]] = []
        offset = 0
        for post in (*fold_post.values(), *acc_post.values()):
            if id(post) in packed:
                continue
            docs_of = sorted(post)  # ascending: the order in which a dict of scores would first meet them
            packed[id(post)] = (offset, offset + len(docs_of), max(post.values()))
            id_parts.append(docs_of)
            value_parts.append([post[d] for d in docs_of])
            offset += len(docs_of)
        self._post_ids: npt.NDArray[np.intp] = np.fromiter(
            (d for part in id_parts for d in part), dtype=np.intp, count=offset
        )
        self._post_values: npt.NDArray[np.float64] = np.fromiter(
            (v for part in value_parts for v in part), dtype=np.float64, count=offset
        )
        del id_parts, value_parts
        # For a small collection, each posting also as one integer: FAQ d's contribution in lane d, in fixed
        # point with the bits that a sum of SCORE_BUDGET contributions leaves in a 63-bit lane.
        self._packed_postings: dict[int, int] = {}
        self._pool_unfixed = 1.0
        if 0 < n <= PACKED_POOL_MAX:
            postings = (*fold_post.values(), *acc_post.values())
            highest = max((max(post.values()) for post in postings if post), default=0.0)
            fixed_bits = 62 - math.ceil(math.log2(SCORE_BUDGET)) - math.ceil(math.log2(highest + 1))
            self._pool_unfixed = 2.0**-fixed_bits
            for post in postings:
                start = packed[id(post)][0]
                if start not in self._packed_postings:
                    self._packed_postings[start] = sum(round(v * 2.0**fixed_bits) << (64 * d) for d, v in post.items())
        self._fold_slices: dict[str, tuple[int, int, float]] = {t: packed[id(p)] for t, p in fold_post.items()}
        self._accent_slices: dict[str, tuple[int, int, float]] = {k: packed[id(p)] for k, p in acc_post.items()}
        del packed, fold_post, acc_post

        # Vocabulary of folded syllables, with a one-deletion index for typo correction.
        self.vocabulary: frozenset[str] = frozenset(t for t in self.idf if " " not in t)
        self._deletion_index: dict[str, list[str]] = {}
        for word in self.vocabulary:
            if len(word) >= 3 and word.isalpha():
                for variant in _deletes(word):
                    self._deletion_index.setdefault(variant, []).append(word)
        self._corrections: dict[str, str | None] = {}
        self._syllable_terms: dict[str, tuple[tuple[str, str | None, float], str | None]] = {}  # _syllable_term

    # --- construction -------------------------------------------------------------------------------

    @classmethod
    def build(cls, content: Content) -> FaqIndex:
        """Index every FAQ of `content` (bodies rendered as plain text, placeholders filled)."""
        faqs = list(content.faqs.values())
        bodies = [render_plain(f, content.commune, "") for f in faqs]
        return cls(faqs, compile_abbreviations(content.abbreviations), bodies)

    def _syllables(self, text: str | Sequence[str]) -> tuple[list[str], list[str], bool]:
        """(typed syllables, expanded syllables, typed with marks?) with particles dropped; `text` as a
        string or as its `tokenize` syllables."""
        typed = [t for t in (tokenize(text) if isinstance(text, str) else text) if not is_filler(t)]
        letters = marked = 0
        for t in typed:
            if t.isalpha():
                letters += 1
                marked += _info(t)[1]
        accented = letters > 0 and marked >= ACCENTED_SEGMENT * letters
        expanded = expand_abbreviations(typed, self.abbreviations)
        return typed, expanded, accented

    def _analyse_segment(self, text: str, pool: dict[str, str]) -> _Segment:
        typed, expanded, accented = self._syllables(text)
        counts: dict[str, int] = {}
        accent_counts: dict[str, int] = {}
        wild: dict[str, int] = {}
        term_of_key = self._term_of_key
        typed_terms: set[str] = set()
        for sequence in (typed, expanded) if expanded != typed else (typed,):
            is_typed = sequence is typed
            previous: tuple[str, str | None] | None = None
            for token in sequence:
                folded, marked, tone = _info(token)
                key = tone if marked or accented else None
                pairs = [(folded, key)]
                if previous is not None:
                    pk = previous[1]
                    both = f"{pk} {key}" if pk is not None and key is not None else None
                    bigram = f"{previous[0]} {folded}"
                    pairs.append(
                        (pool.setdefault(bigram, bigram), None if both is None else pool.setdefault(both, both))
                    )
                previous = (folded, key)
                for term, term_key in pairs:
                    if is_typed:
                        typed_terms.add(term)
                    elif term in typed_terms:  # the expansion only adds what the typed form lacks
                        continue
                    counts[term] = counts.get(term, 0) + 1
                    if term_key is None:
                        wild[term] = wild.get(term, 0) + 1
                    else:
                        accent_counts[term_key] = accent_counts.get(term_key, 0) + 1
                        term_of_key[term_key] = term
        return _Segment(
            length=len(typed),
            folded=counts,
            accented=accent_counts,
            wild=wild,
            term_set=frozenset(counts),
            line=" ".join(_info(t)[0] for t in expanded),
        )

    # --- queries ------------------------------------------------------------------------------------

    def correct(self, syllable: str) -> str | None:
        """The known folded syllable closest to an unknown one, or None."""
        if syllable in self._corrections:
            return self._corrections[syllable]
        best: str | None = None
        if syllable.isalpha() and len(syllable) >= 2:
            for old, new in _SPELLINGS:
                if old in syllable:
                    candidate = syllable.replace(old, new)
                    if candidate in self.vocabulary:
                        best = candidate
                        break
            if best is None and len(syllable) >= 3:
                found: set[str] = set(self._deletion_index.get(syllable, ()))
                for variant in _deletes(syllable):
                    if variant in self.vocabulary:
                        found.add(variant)
                    found.update(self._deletion_index.get(variant, ()))
                close = [w for w in found if _osa_within_one(syllable, w)]
                if close:
                    # The most common candidate: a typo is more likely of a frequent word.
                    best = min(close, key=lambda w: (self.idf.get(w, 0.0), w))
        if len(self._corrections) < SYLLABLE_CACHE_MAX:
            self._corrections[syllable] = best
        return best

    def _syllable_term(self, token: str) -> tuple[tuple[str, str | None, float], str | None]:
        """(folded term, accent key, weight) of one expanded syllable, and its folded form when the index
        does not know it (else None); typos corrected. Kept for the next query with the same syllable."""
        folded = fold_token(token)
        frame = FRAME_WEIGHT if is_frame(token) else 1.0
        found: tuple[tuple[str, str | None, float], str | None]
        if folded in self.vocabulary or folded.isdigit():
            key = tone_key(token) if has_marks(token) else None
            # Typed with marks that no FAQ uses ("nắng" where FAQs only say "năng"): another word.
            known = folded in self.vocabulary and (key is None or key in self._accent_slices)
            found = ((folded, key, frame), None if known else folded)
        else:
            fixed = self.correct(folded)
            found = ((folded, None, frame), folded) if fixed is None else ((fixed, None, FUZZY_WEIGHT), None)
        if len(self._syllable_terms) < SYLLABLE_CACHE_MAX:
            self._syllable_terms[token] = found
        return found

    def analyse(self, query: str) -> QueryTerms:
        """Terms of a query with their weights, after abbreviation expansion and typo correction."""
        syllables = tokenize(query)
        typed, expanded, _accented = self._syllables(syllables)
        # Typo correction on syllables the index does not know.
        corrected: list[tuple[str, str | None, float]] = []  # (folded, accent key, weight)
        unknown: list[str] = []
        cache = self._syllable_terms
        for token in expanded:
            found = cache.get(token)
            if found is None:
                found = self._syllable_term(token)
            corrected.append(found[0])
            if found[1] is not None:
                unknown.append(found[1])
        known = len(corrected) - len(unknown)
        # One entry per folded term; a term met both with and without an accent key stays unconstrained.
        terms: dict[str, tuple[str | None, float]] = {}

        def add(term: str, key: str | None, weight: float) -> None:
            seen = terms.get(term)
            if seen is None:
                terms[term] = (key, weight)
            else:
                terms[term] = (seen[0] if seen[0] == key else None, max(seen[1], weight))

        previous: tuple[str, str | None, float] | None = None
        for folded, key, weight in corrected:
            add(folded, key, weight)
            if previous is not None:
                pf, pk, pw = previous
                # A bigram of two framing words ("làm sao", "ở đâu") is framing too.
                both = f"{pk} {key}" if pk is not None and key is not None else None
                add(f"{pf} {folded}", both, max(pw, weight))
            previous = (folded, key, weight)
        # Keep the typed (unexpanded) syllables too: "ca nhan" should still meet "cá nhân".
        if expanded != typed:
            folded_typed = [fold_token(t) for t in typed]
            for a, b in pairwise(folded_typed):
                if f"{a} {b}" not in terms:
                    add(f"{a} {b}", None, 1.0)
            for t in folded_typed:
                if t in self.vocabulary and t not in terms:
                    add(t, None, 1.0)
        denominator = 0.0
        for term, (_key, weight) in terms.items():
            if " " in term:
                denominator += weight * self.idf.get(term, 0.0)
            elif term in self.idf:
                denominator += weight * self.idf[term]
            else:
                denominator += weight * UNKNOWN_WEIGHT * self.max_idf
        return QueryTerms(
            tokens=tuple(expanded),
            terms=tuple((t, k, w) for t, (k, w) in terms.items()),
            known=known,
            unknown=tuple(unknown),
            folded_text=" ".join(t for t, _k, _w in corrected),
            denominator=denominator,
            syllables=tuple(syllables),
            all_tokens=tuple(expanded)
            if len(typed) == len(syllables)
            else tuple(expand_abbreviations(syllables, self.abbreviations)),
        )

    def _postings(self, term: str, key: str | None) -> tuple[tuple[int, int, float] | None, float]:
        """The posting for a query term as (start, stop, highest contribution), and the factor to apply."""
        if key is not None:
            found = self._accent_slices.get(key)
            if found is not None:
                return found, 1.0
            if term in self._accented_terms:  # typed with marks no FAQ uses for this syllable
                return self._fold_slices.get(term), ACCENT_MISMATCH
        return self._fold_slices.get(term), 1.0

    def _pool(self, analysed: QueryTerms, depth: int) -> list[tuple[int, float]]:
        """The `depth` FAQs with the highest BM25F scores, as (FAQ number, score), best first.

        Terms are taken by decreasing weight. In a large collection, once SCORE_BUDGET posting entries
        have been added up, the remaining (weaker) terms only update the SHORTLIST best FAQs so far; a
        collection of a few hundred FAQs never reaches the budget and is scored exactly.

        Each FAQ's score is the sum of its contributions in term order, as a dict of scores filled term by
        term would hold it (`bincount` adds its weights in input order); equal scores rank in the order
        such a dict first met the FAQs, or, after the shortlist, in shortlist order. A small collection
        (PACKED_POOL_MAX FAQs) adds a query within the budget up in packed integers instead (`_packed_pool`):
        the same scores to 1e-10, and a tie is left to this rule.
        """
        lists: list[tuple[float, int, int, float]] = []  # (bound, start, stop, weight)
        for term, key, weight in analysed.terms:
            posting, factor = self._postings(term, key)
            if posting is not None:
                start, stop, ceiling = posting
                lists.append((ceiling * weight * factor, start, stop, weight * factor))
        if not lists:
            return []
        lists.sort(key=lambda item: -item[0])
        if self._packed_postings and sum(stop - start for _b, start, stop, _w in lists) <= SCORE_BUDGET:
            found = self._packed_pool(lists, depth)
            if found is not None:
                return found
        ids, values = self._post_ids, self._post_values
        id_parts: list[npt.NDArray[np.intp]] = []
        value_parts: list[npt.NDArray[np.float64]] = []
        spent = 0
        for i, (_bound, start, stop, weight) in enumerate(lists):
            if spent + stop - start > SCORE_BUDGET and i:
                scores = self._sum(id_parts, value_parts)
                if np.count_nonzero(scores) > SHORTLIST:  # every contribution is > 0
                    shortlist = self._best(scores, SHORTLIST, lists[:i])
                    # The weaker terms, added after each shortlisted FAQ's score so far (0 + s = s).
                    id_parts = [shortlist]
                    value_parts = [scores[shortlist]]
                    for _bound, start, stop, weight in lists[i:]:
                        id_parts.append(ids[start:stop])
                        value_parts.append(values[start:stop] if weight == 1.0 else values[start:stop] * weight)
                    final = self._sum(id_parts, value_parts)
                    found = list(zip(shortlist.tolist(), final[shortlist].tolist(), strict=True))
                    return heapq.nlargest(depth, found, key=itemgetter(1))
            spent += stop - start
            id_parts.append(ids[start:stop])
            value_parts.append(values[start:stop] if weight == 1.0 else values[start:stop] * weight)
        if len(id_parts) == 1:
            scores = np.zeros(self.n)
            scores[id_parts[0]] = value_parts[0]
        else:
            scores = self._sum(id_parts, value_parts)
        best = self._best(scores, depth, lists)
        return list(zip(best.tolist(), scores[best].tolist(), strict=True))

    def _packed_pool(
        self, lists: Sequence[tuple[float, int, int, float]], depth: int
    ) -> list[tuple[int, float]] | None:
        """`_pool` of a small collection with its packed postings: the postings of each distinct term weight
        summed in one integer, then unpacked and weighted. The sums are exact in fixed point, so a score is
        within 1e-10 of numpy's; None when two of the FAQs returned tie (numpy's ordering rule decides)."""
        by_weight: dict[float, int] = {}
        packed = self._packed_postings
        for _bound, start, _stop, weight in lists:
            by_weight[weight] = by_weight.get(weight, 0) + packed[start]
        n = self.n
        scores: list[float] | None = None
        for weight, total in by_weight.items():
            lanes = memoryview(total.to_bytes(8 * n, sys.byteorder)).cast("Q")
            part = map(mul, lanes, repeat(weight * self._pool_unfixed))
            scores = list(part) if scores is None else list(map(add, scores, part))
        assert scores is not None
        best = sorted(range(n), key=scores.__getitem__, reverse=True)[: depth + 1]
        found = [(d, scores[d]) for d in best if scores[d] > 0.0]
        if any(a[1] == b[1] for a, b in pairwise(found)):
            return None
        return found[:depth]

    def _sum(
        self, id_parts: Sequence[npt.NDArray[np.intp]], value_parts: Sequence[npt.NDArray[np.float64]]
    ) -> npt.NDArray[np.float64]:
        """Per FAQ, the sum of its values in input order (bincount adds its weights one by one, in order)."""
        sums = np.bincount(np.concatenate(id_parts), np.concatenate(value_parts), self.n)
        return cast("npt.NDArray[np.float64]", sums)

    def _best(
        self, scores: npt.NDArray[np.float64], k: int, lists: Sequence[tuple[float, int, int, float]]
    ) -> npt.NDArray[np.intp]:
        """The k FAQs with the highest non-zero scores, best first; equal scores in the order in which the
        postings of `lists`, taken in turn, first meet the FAQs (each posting lists FAQs in ascending order)."""
        found = np.flatnonzero(scores)
        if len(found) > k:
            values = scores[found]
            kth = np.partition(values, len(values) - k)[len(values) - k]
            found = found[values >= kth]  # every FAQ tied with the k-th stays, for the tie-break below
        values = scores[found]
        order = np.argsort(-values, kind="stable")
        found, values = found[order], values[order]
        if len(values) > 1 and bool((values[1:] == values[:-1]).any()):
            first = np.full(self.n, len(lists), dtype=np.intp)
            for i in range(len(lists) - 1, -1, -1):  # the earliest posting's number wins
                _bound, start, stop, _weight = lists[i]
                first[self._post_ids[start:stop]] = i
            found = found[np.lexsort((found, first[found], -values))]
        return found[:k]

    def _shared_grams(self, grams: frozenset[str]) -> memoryview | None:
        """For a small collection, how many of `grams` each question of every FAQ has (FAQ d's questions
        from `_gram_offsets[d]`); None for a large one."""
        if not self._gram_offsets:
            return None
        shared = sum(filter(None, map(self._all_gram_lanes.get, grams)))
        size = self._gram_width * (self._gram_offsets[-1] + len(self._gram_sizes[-1]))
        return memoryview(shared.to_bytes(size, sys.byteorder)).cast(self._gram_format)

    def _trigram(self, grams: frozenset[str], d: int, every: memoryview | None = None) -> float:
        """The best `dice` between the query's 3-grams and those of one of FAQ d's title and questions
        (`every`: the counts of `_shared_grams`, when the collection is small)."""
        sizes = self._gram_sizes[d]
        if not grams or not sizes:
            return 0.0
        if every is not None:
            counts = every[self._gram_offsets[d] : self._gram_offsets[d] + len(sizes)]
            if not any(counts):
                return 0.0
        else:
            shared = sum(filter(None, map(self._gram_lanes[d].get, grams)))
            if not shared:
                return 0.0
            counts = memoryview(shared.to_bytes(self._gram_width * len(sizes), sys.byteorder)).cast(self._gram_format)
        # 2·|a ∩ b| / (|a| + |b|) per question, computed as `dice` does.
        return max(map(truediv, map(mul, counts, repeat(2.0)), map(add, sizes, repeat(len(grams)))))

    def _overlap(self, terms: Sequence[str], fixed_weights: Sequence[int], denominator: float, d: int) -> float:
        """The best F1 of shared IDF-weighted terms between the query and one of FAQ d's questions.

        With s the shared weight, T the question's total and D the query's denominator, recall is s / D and
        precision s / T (never above 1: a query term weighs at most its IDF), so F1 = 2s / (D + T)."""
        totals = self._question_totals[d]
        if not totals:
            return 0.0
        shared = sum(map(mul, map(self._term_lanes[d].get, terms, repeat(0)), fixed_weights))
        if not shared:
            return 0.0
        lanes = memoryview(shared.to_bytes(OVERLAP_LANE_BITS // 8 * len(totals), sys.byteorder)).cast("Q")
        return max(map(truediv, map(mul, lanes, repeat(2.0 / _OVERLAP_FIXED)), map(add, totals, repeat(denominator))))

    def search_detail(self, query: str | QueryTerms, k: int = 3) -> list[Scored]:
        """Top `k` FAQs with their features, best first (`query` as text or as `analyse` returned it)."""
        analysed = self.analyse(query) if isinstance(query, str) else query
        depth = max(RERANK, k)
        if analysed.denominator <= 0:
            return []
        pool = self._pool(analysed, depth)
        if not pool:
            return []
        grams = trigrams(analysed.folded_text)
        every = self._shared_grams(grams) if grams else None
        query_weights = {term: self.idf.get(term, 0.0) * weight for term, _key, weight in analysed.terms}
        # The query's term weights in fixed point, for _overlap.
        query_terms = tuple(query_weights)
        fixed_weights = tuple(round(w * _OVERLAP_FIXED) for w in query_weights.values())
        novelty = len(analysed.unknown) / max(len(analysed.tokens), 1)
        length = math.log1p(len(analysed.tokens))
        # The pool is in decreasing coverage; the 3-gram and overlap terms can add at most `lift` to the
        # ranking score, so once a candidate cannot reach the needed place the rest are skipped.
        lift = TRIGRAM_WEIGHT + OVERLAP_WEIGHT
        needed = max(k, 2)  # the runner-up is needed for the margin
        ranked: list[tuple[float, int, float, float, float]] = []
        for d, raw in pool:
            coverage = min(raw / analysed.denominator, 1.0)
            if len(ranked) >= needed and coverage + lift < sorted(r[0] for r in ranked)[-needed]:
                break
            trigram = self._trigram(grams, d, every)
            # The overlap only ranks when it has a weight; otherwise it is computed for the k returned.
            overlap = self._overlap(query_terms, fixed_weights, analysed.denominator, d) if OVERLAP_WEIGHT else 0.0
            rank_score = coverage + TRIGRAM_WEIGHT * trigram + OVERLAP_WEIGHT * overlap
            ranked.append((rank_score, d, coverage, trigram, overlap))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        raw_of = dict(pool)
        out: list[Scored] = []
        for i, (rank_score, d, coverage, trigram, overlap) in enumerate(ranked[:k]):
            if not OVERLAP_WEIGHT:
                overlap = self._overlap(query_terms, fixed_weights, analysed.denominator, d)
            following = ranked[i + 1][0] if i + 1 < len(ranked) else 0.0
            margin = max(rank_score - following, 0.0) if i == 0 else 0.0
            features = Features(coverage, trigram, overlap, margin, novelty, length)
            out.append(Scored(self.ids[d], features.confidence(), raw_of[d], features))
        return out

    def search(self, query: str, k: int = 3) -> list[Match]:
        """Top `k` FAQs for `query`, best first, each with a confidence in [0, 1]."""
        return [Match(s.faq_id, s.score) for s in self.search_detail(query, k)]
