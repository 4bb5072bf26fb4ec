"""Search index over the FAQ files.

Design (measured on the real content and on 3,000 synthetic FAQs by bench/faq.py):

* Text is normalised (NFC, lower case), split into syllables, abbreviations expanded ("dk" → "đăng ký";
  the original syllables are kept too), particles ("ạ", "nhé") dropped.
* Terms are folded syllables and folded syllable bigrams ("dang", "dang ky"), scored with BM25F over four
  fields: title, questions and keywords weigh more than the body.
* Accent-aware signal: a syllable the user typed *with* marks only fully matches the same accented
  syllable ("mã" ≠ "má"); folded look-alikes still count, at `ACCENT_MISMATCH` of their weight. Text typed
  without marks matches by folding alone. Old/new tone placement compare equal ("hoà" = "hòa").
* Typos: a syllable unknown to the index is replaced by the closest known one (one edit, or a teencode
  spelling such as "w" → "qu"), at a discount; the top candidates are then re-ranked with a character
  3-gram similarity between the query and each FAQ's questions.
* Confidence: a logistic function of how much of the query (IDF-weighted) the FAQ explains and of the
  3-gram similarity, calibrated by `bench/faq.py --calibrate` on tests/data/paraphrases.tsv, so that
  `Match.score` is in [0, 1] and comparable across queries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from bot.content import Content, Faq
from bot.faq.normalize import (
    AbbreviationTable,
    compile_abbreviations,
    expand_abbreviations,
    fold_token,
    has_marks,
    is_filler,
    tokenize,
    tone_key,
)
from bot.faq.render import render_plain

# BM25F: saturation and, per field, weight and length normalisation.
K1 = 1.2
FIELDS: dict[str, tuple[float, float]] = {  # name → (weight, b)
    "title": (3.0, 0.3),
    "questions": (1.0, 0.5),
    "keywords": (3.0, 0.2),
    "body": (0.2, 0.75),
}
BIGRAM_WEIGHT = 1.0  # a bigram counts like a syllable of the same IDF, on top of its two syllables
PHRASE_POWER = 0.5  # how strongly a bigram's weight follows how often its syllables occur together
# A syllable typed with marks that matches a look-alike with other marks ("má" for "mã") keeps this share.
ACCENT_MISMATCH = 0.35
# A segment counts as "typed with marks" when at least this share of its letter syllables carry marks;
# its unmarked syllables then really have no marks ("cho" ≠ "chợ").
ACCENTED_SEGMENT = 0.3
FUZZY_WEIGHT = 0.7  # weight of a syllable obtained by typo correction
# Unknown syllables weigh this share of the highest IDF in the confidence denominator: the query says
# things no FAQ talks about.
UNKNOWN_WEIGHT = 0.6
RERANK = 12  # candidates re-ranked with the 3-gram similarity
TRIGRAM_WEIGHT = 0.35  # share of the 3-gram similarity in the ranking score
OVERLAP_WEIGHT = 0.0  # share of the best single-question overlap in the ranking score
DEFER_POSTINGS = 400  # terms in more FAQs than this are only scored on the candidates of rarer terms
CANDIDATES = 200

# Confidence = sigmoid(CONF_BIAS + CONF_COVERAGE * coverage + CONF_TRIGRAM * trigram + CONF_MARGIN * margin)
# Fitted by logistic regression (bench/faq.py --calibrate) on tests/data/paraphrases.tsv: target 1 when
# the top match is the right FAQ, 0 when it is wrong or the question is out of scope.
CONF_BIAS = -6.92
CONF_COVERAGE = 0.27
CONF_TRIGRAM = 6.49
CONF_MARGIN = 7.2
CONF_OVERLAP = 8.18
CONF_NOVELTY = -8.21

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


@dataclass(frozen=True)
class Scored:
    """A search result with the features behind its score (for calibration, benchmarks and debugging)."""

    faq_id: str
    score: float
    raw: float
    coverage: float
    trigram: float
    overlap: float
    margin: float
    novelty: float  # share of the query's syllables that no FAQ uses


@dataclass(frozen=True)
class QueryTerms:
    """A query after analysis."""

    tokens: tuple[str, ...]  # syllables after abbreviation expansion, particles dropped
    terms: tuple[tuple[str, str | None, float], ...]  # (folded term, accent key or None, weight)
    known: int  # syllables the index knows (after correction)
    unknown: tuple[str, ...]  # syllables it does not know
    folded_text: str  # for 3-gram similarity
    denominator: float  # sum of IDF weights a perfect match would collect


def _sigmoid(x: float) -> float:
    if x < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


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
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
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
    """Analysed text: (folded term, accent key or None) per occurrence, syllable count."""

    terms: list[tuple[str, str | None]] = field(default_factory=list)
    length: int = 0


class FaqIndex:
    """BM25F + accent signal + typo correction + 3-gram re-ranking over a `Content`'s FAQs."""

    def __init__(
        self, faqs: Sequence[Faq], abbreviations: AbbreviationTable, body_texts: Sequence[str]
    ) -> None:
        self.ids: list[str] = [f.id for f in faqs]
        self.abbreviations = abbreviations
        n = len(faqs)
        self.n = n
        self._term_of_key: dict[str, str] = {}  # accent key → folded term
        # Per document and field: folded tf, accent tf, "wildcard" tf (segments typed without marks).
        field_docs: dict[str, list[_Segment]] = {name: [] for name in FIELDS}
        fold_tf: list[dict[str, dict[str, float]]] = []  # doc → field → term → tf
        acc_tf: list[dict[str, dict[str, float]]] = []  # doc → field → accent key → tf
        wild_tf: list[dict[str, dict[str, float]]] = []  # doc → field → term → tf
        lengths: list[dict[str, int]] = []
        self._question_grams: list[list[frozenset[str]]] = []
        self._question_terms: list[list[frozenset[str]]] = []
        for faq, body in zip(faqs, body_texts, strict=True):
            texts = {
                "title": [faq.title],
                "questions": list(faq.questions),
                "keywords": list(faq.keywords),
                "body": [p for p in body.split("\n") if p.strip()],
            }
            f_tf: dict[str, dict[str, float]] = {}
            a_tf: dict[str, dict[str, float]] = {}
            w_tf: dict[str, dict[str, float]] = {}
            lens: dict[str, int] = {}
            for name, segments in texts.items():
                ft: dict[str, float] = {}
                at: dict[str, float] = {}
                wt: dict[str, float] = {}
                total = 0
                for text in segments:
                    seg = self._analyse_segment(text)
                    total += seg.length
                    for term, accent in seg.terms:
                        ft[term] = ft.get(term, 0.0) + 1.0
                        if accent is None:
                            wt[term] = wt.get(term, 0.0) + 1.0
                        else:
                            at[accent] = at.get(accent, 0.0) + 1.0
                f_tf[name], a_tf[name], w_tf[name], lens[name] = ft, at, wt, total
                field_docs[name].append(_Segment(length=total))
            fold_tf.append(f_tf)
            acc_tf.append(a_tf)
            wild_tf.append(w_tf)
            lengths.append(lens)
            grams = [trigrams(self._fold_line(q)) for q in (faq.title, *faq.questions)]
            self._question_grams.append([g for g in grams if g])
            self._question_terms.append(
                [frozenset(t for t, _ in self._analyse_segment(q).terms) for q in (faq.title, *faq.questions)]
            )

        avg = {
            name: (sum(s.length for s in docs) / n if n else 0.0) or 1.0 for name, docs in field_docs.items()
        }
        norms = [
            {name: 1.0 - b + b * lengths[d][name] / avg[name] for name, (_w, b) in FIELDS.items()}
            for d in range(n)
        ]

        def weighted(tables: list[dict[str, dict[str, float]]]) -> dict[str, dict[int, float]]:
            out: dict[str, dict[int, float]] = {}
            for d, per_field in enumerate(tables):
                for name, table in per_field.items():
                    w = FIELDS[name][0] / norms[d][name]
                    for key, tf in table.items():
                        slot = out.setdefault(key, {})
                        slot[d] = slot.get(d, 0.0) + w * tf
            return out

        fold_w = weighted(fold_tf)
        acc_w = weighted(acc_tf)
        wild_w = weighted(wild_tf)

        # IDF per folded term; postings of pre-saturated contributions (idf · tf / (k1 + tf)).
        self.idf: dict[str, float] = {
            term: math.log(1.0 + (n - len(post) + 0.5) / (len(post) + 0.5)) for term, post in fold_w.items()
        }
        self.max_idf = math.log(1.0 + (n + 0.5) / 0.5) if n else 1.0
        # A bigram weighs as much as it is a phrase: "kich hoat" (the two syllables nearly always together)
        # counts fully, a chance neighbourhood such as "dan kich" ("hướng dẫn kích hoạt") hardly at all.
        totals: dict[str, float] = {}
        for per_field in fold_tf:
            for table in per_field.values():
                for term, tf in table.items():
                    totals[term] = totals.get(term, 0.0) + tf
        for term in self.idf:
            if " " in term:
                first, second = term.split(" ", 1)
                rarest = min(totals.get(first, 1.0), totals.get(second, 1.0))
                self.idf[term] *= min(1.0, totals[term] / rarest) ** PHRASE_POWER * BIGRAM_WEIGHT
        self._question_sets: list[list[tuple[frozenset[str], float]]] = [
            [(terms, sum(self.idf.get(t, 0.0) for t in terms)) for terms in per_doc if terms]
            for per_doc in self._question_terms
        ]
        sat = self._saturate
        self.fold_post: dict[str, dict[int, float]] = {
            term: {d: idf * sat(tf) for d, tf in post.items()}
            for term, post in fold_w.items()
            if (idf := self.idf[term]) > 0
        }
        # For accented query syllables: exact accent + wildcard match fully, other accents at a discount.
        self.acc_post: dict[str, dict[int, float]] = {}
        accents_of: dict[str, list[str]] = {}
        for key in acc_w:
            accents_of.setdefault(self._term_of_key[key], []).append(key)
        # A mismatched occurrence can add at most ACCENT_MISMATCH of the term's full weight.
        for term, post in fold_w.items():
            idf = self.idf[term]
            wild = wild_w.get(term, {})
            for key in accents_of.get(term, []):
                exact = acc_w[key]
                self.acc_post[key] = {
                    d: idf * self._blend(exact.get(d, 0.0) + wild.get(d, 0.0), tf) for d, tf in post.items()
                }
        # Accent keys never seen in the FAQs: only occurrences typed without marks match fully.
        self.none_post: dict[str, dict[int, float]] = {}
        for term, post in fold_w.items():
            idf = self.idf[term]
            wild = wild_w.get(term, {})
            self.none_post[term] = {d: idf * self._blend(wild.get(d, 0.0), tf) for d, tf in post.items()}
        # Vocabulary of folded syllables, with a one-deletion index for typo correction.
        self.vocabulary: frozenset[str] = frozenset(t for t in fold_w if " " not in t)
        self._deletion_index: dict[str, list[str]] = {}
        for word in self.vocabulary:
            if len(word) >= 3 and word.isalpha():
                for variant in _deletes(word):
                    self._deletion_index.setdefault(variant, []).append(word)
        self._corrections: dict[str, str | None] = {}

    # --- construction -------------------------------------------------------------------------------

    @classmethod
    def build(cls, content: Content) -> FaqIndex:
        """Index every FAQ of `content` (bodies rendered as plain text, placeholders filled)."""
        faqs = list(content.faqs.values())
        bodies = [render_plain(f, content.commune, "") for f in faqs]
        return cls(faqs, compile_abbreviations(content.abbreviations), bodies)

    @staticmethod
    def _saturate(tf: float) -> float:
        return tf / (K1 + tf) if tf > 0 else 0.0

    @classmethod
    def _blend(cls, compatible: float, total: float) -> float:
        """Saturated weight of a term whose `compatible` occurrences match fully, the others at a discount."""
        full = cls._saturate(compatible)
        return full + ACCENT_MISMATCH * max(cls._saturate(total) - full, 0.0)

    def _syllables(self, text: str) -> tuple[list[str], list[str], bool]:
        """(typed syllables, expanded syllables, typed with marks?) with particles dropped."""
        typed = [t for t in tokenize(text) if not is_filler(t)]
        letters = [t for t in typed if t.isalpha()]
        marked = sum(1 for t in letters if has_marks(t))
        accented = bool(letters) and marked >= ACCENTED_SEGMENT * len(letters)
        expanded = expand_abbreviations(typed, self.abbreviations)
        return typed, expanded, accented

    def _analyse_segment(self, text: str) -> _Segment:
        typed, expanded, accented = self._syllables(text)
        seg = _Segment(length=len(typed))
        seen: set[str] = set()
        for sequence in (typed, expanded) if expanded != typed else (typed,):
            keys = [self._accent_key(t, accented) for t in sequence]
            folded = [fold_token(t) for t in sequence]
            found: list[tuple[str, str | None]] = []
            for i, term in enumerate(folded):
                found.append((term, keys[i]))
                if i:
                    a, b = keys[i - 1], keys[i]
                    found.append(
                        (f"{folded[i - 1]} {term}", f"{a} {b}" if a is not None and b is not None else None)
                    )
            for term, key in found:
                if key is not None:
                    self._term_of_key[key] = term
            if sequence is typed:
                seg.terms.extend(found)
                seen.update(t for t, _ in found)
            else:
                seg.terms.extend((t, a) for t, a in found if t not in seen)
        return seg

    @staticmethod
    def _accent_key(token: str, accented: bool) -> str | None:
        if has_marks(token) or accented:
            return tone_key(token)
        return None

    def _fold_line(self, text: str) -> str:
        _typed, expanded, _ = self._syllables(text)
        return " ".join(fold_token(t) for t in expanded)

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
        if len(self._corrections) < 100_000:
            self._corrections[syllable] = best
        return best

    def analyse(self, query: str) -> QueryTerms:
        """Terms of a query with their weights, after abbreviation expansion and typo correction."""
        typed, expanded, _accented = self._syllables(query)
        # Typo correction on syllables the index does not know.
        corrected: list[tuple[str, str | None, float]] = []  # (folded, accent key, weight)
        unknown: list[str] = []
        known = 0
        for token in expanded:
            folded = fold_token(token)
            if folded in self.vocabulary or folded.isdigit():
                key = tone_key(token) if has_marks(token) else None
                corrected.append((folded, key, 1.0))
                # Typed with marks that no FAQ uses ("nắng" where FAQs only say "năng"): another word.
                if folded in self.vocabulary and (key is None or key in self.acc_post):
                    known += 1
                else:
                    unknown.append(folded)
                continue
            fixed = self.correct(folded)
            if fixed is None:
                corrected.append((folded, None, 1.0))
                unknown.append(folded)
            else:
                corrected.append((fixed, None, FUZZY_WEIGHT))
                known += 1
        terms: dict[tuple[str, str | None], float] = {}
        for i, (folded, key, weight) in enumerate(corrected):
            terms[(folded, key)] = max(terms.get((folded, key), 0.0), weight)
            if i:
                pf, pk, pw = corrected[i - 1]
                bigram_key = f"{pk} {key}" if pk is not None and key is not None else None
                bigram = (f"{pf} {folded}", bigram_key)
                terms[bigram] = max(terms.get(bigram, 0.0), min(pw, weight))
        # Keep the typed (unexpanded) bigrams too: "ca nhan" should still meet "cá nhân".
        if expanded != typed:
            folded_typed = [fold_token(t) for t in typed]
            for a, b in pairwise(folded_typed):
                terms.setdefault((f"{a} {b}", None), 1.0)
            for t in folded_typed:
                if t in self.vocabulary:
                    terms.setdefault((t, None), 1.0)
        denominator = 0.0
        for (term, _key), weight in terms.items():
            if " " in term:
                denominator += weight * self.idf.get(term, 0.0)
            elif term in self.idf:
                denominator += weight * self.idf[term]
            else:
                denominator += weight * UNKNOWN_WEIGHT * self.max_idf
        return QueryTerms(
            tokens=tuple(expanded),
            terms=tuple((t, k, w) for (t, k), w in terms.items()),
            known=known,
            unknown=tuple(unknown),
            folded_text=" ".join(t for t, _k, _w in corrected),
            denominator=denominator,
        )

    def _postings(self, term: str, key: str | None) -> dict[int, float] | None:
        if key is None:
            return self.fold_post.get(term)
        found = self.acc_post.get(key)
        return found if found is not None else self.none_post.get(term)

    def _raw_scores(self, analysed: QueryTerms) -> dict[int, float]:
        lists: list[tuple[dict[int, float], float]] = []
        for term, key, weight in analysed.terms:
            posting = self._postings(term, key)
            if posting:
                lists.append((posting, weight))
        if not lists:
            return {}
        lists.sort(key=lambda item: len(item[0]))
        rare = [item for item in lists if len(item[0]) <= DEFER_POSTINGS] or lists[:1]
        common = lists[len(rare) :]
        scores: dict[int, float] = {}
        for posting, weight in rare:
            get = scores.get
            if weight == 1.0:
                for d, s in posting.items():
                    scores[d] = get(d, 0.0) + s
            else:
                for d, s in posting.items():
                    scores[d] = get(d, 0.0) + s * weight
        if common:
            if len(scores) > CANDIDATES:
                top = sorted(scores, key=scores.__getitem__, reverse=True)[:CANDIDATES]
                scores = {d: scores[d] for d in top}
            for posting, weight in common:
                for d in scores:
                    extra = posting.get(d)
                    if extra is not None:
                        scores[d] += extra * weight
        return scores

    def search_detail(self, query: str | QueryTerms, k: int = 3) -> list[Scored]:
        """Top `k` FAQs with their features, best first (`query` as text or as `analyse` returned it)."""
        analysed = self.analyse(query) if isinstance(query, str) else query
        scores = self._raw_scores(analysed)
        if not scores or analysed.denominator <= 0:
            return []
        pool = sorted(scores, key=scores.__getitem__, reverse=True)[: max(RERANK, k)]
        grams = trigrams(analysed.folded_text)
        query_weights: dict[str, float] = {}
        for term, _key, weight in analysed.terms:
            idf = self.idf.get(term, 0.0) * weight
            query_weights[term] = max(query_weights.get(term, 0.0), idf)
        query_terms = frozenset(query_weights)
        ranked: list[tuple[float, int, float, float, float]] = []
        for d in pool:
            coverage = min(scores[d] / analysed.denominator, 1.0)
            trigram = max((dice(grams, g) for g in self._question_grams[d]), default=0.0)
            overlap = 0.0
            for terms, total in self._question_sets[d]:
                shared = sum(query_weights[t] for t in query_terms & terms)
                if shared > 0:
                    recall = shared / analysed.denominator
                    precision = shared / total if total > 0 else 0.0
                    overlap = max(overlap, 2 * recall * precision / (recall + precision))
            rank_score = coverage + TRIGRAM_WEIGHT * trigram + OVERLAP_WEIGHT * overlap
            ranked.append((rank_score, d, coverage, trigram, overlap))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        novelty = len(analysed.unknown) / max(len(analysed.tokens), 1)
        out: list[Scored] = []
        for i, (rank_score, d, coverage, trigram, overlap) in enumerate(ranked[:k]):
            following = ranked[i + 1][0] if i + 1 < len(ranked) else 0.0
            margin = max(rank_score - following, 0.0) if i == 0 else 0.0
            score = _sigmoid(
                CONF_BIAS + CONF_COVERAGE * coverage + CONF_TRIGRAM * trigram + CONF_OVERLAP * overlap
                + CONF_MARGIN * margin + CONF_NOVELTY * novelty
            )
            out.append(Scored(self.ids[d], score, scores[d], coverage, trigram, overlap, margin, novelty))
        return out

    def search(self, query: str, k: int = 3) -> list[Match]:
        """Top `k` FAQs for `query`, best first, each with a confidence in [0, 1]."""
        return [Match(s.faq_id, s.score) for s in self.search_detail(query, k)]
