"""A supervised topic classifier trained on the content's example questions, with explicit decline classes.

Classes: every FAQ id, every redirect id (content/redirects.toml) and `out-of-scope`. Training data: each
FAQ's title, questions, keywords and `content/examples/<id>.txt`; each redirect's examples; the
out-of-scope examples (`content/examples/out-of-scope.txt`).

Features of a text (after NFC, lower case, abbreviation expansion — "lltp" → "lý lịch tư pháp"):
character 2–5-grams of the folded text (diacritics removed, so "quen mat khau" = "quên mật khẩu" and a
typo still shares most of its n-grams), folded word unigrams and bigrams, and, as a weaker signal, the
accented words as typed (they tell "mã" from "má" when a resident did type the marks). Binary values,
scaled to unit length.

Model: multinomial logistic regression, trained by stochastic gradient descent in pure Python. Weights
are one row of class scores per feature (`array('f')`). An update only touches the classes whose
probability is off by more than UPDATE_EPSILON, which keeps training to a couple of seconds.

Scoring a query (`predict`): each feature's row, pre-multiplied by the feature's value, is packed once
after training into a single Python integer: one LANE_BITS-bit lane per class holding the weight in fixed
point (FIXED_BITS fractional bits), and a last lane holding the square of the feature's value. A query's
scores for all classes are then one C-level `sum` of a few hundred integers, unpacked with `to_bytes` —
no per-class Python objects, no per-feature loop over classes. Integer sums are exact, so the result does
not depend on the order of the features; the rounding (2^-32, finer than the float32 rows) moves scores
by less than 1e-7. No numpy: the standard library does it in the time budget, and the bot keeps no
compiled dependency (README, "The FAQ classifier").

The fitted model is cached in memory by a hash of its training data: reloading unchanged content does not
train again.
"""

from __future__ import annotations

import hashlib
import math
import random
import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise, repeat

from bot.faq.normalize import AbbreviationTable, expand_abbreviations, fold_token, has_marks, tokenize

OUT_OF_SCOPE = "out-of-scope"

NGRAM_MIN, NGRAM_MAX = 2, 5
ACCENT_WEIGHT = 0.5  # an accented word counts half as much as a folded feature
IDF_STEP = 0.5
EPOCHS = 5
LEARNING_RATE = 2.0
DECAY = 0.75  # learning rate multiplied by this after each epoch
UPDATE_EPSILON = 0.02
MAX_TOUCHED = 6  # at most this many classes corrected per example
L2 = 1e-5  # weight decay per update on touched weights
SEED = 6
# Packed scoring (see the module docstring). A lane holds a class's sum over a query's features, offset by
# 2^(LANE_BITS - 2) so that every lane stays non-negative. A query has fewer than 2^FEATURE_BITS distinct
# features (normalize caps texts at 16,384 characters); FIXED_BITS shrinks if a weight is ever so large
# that |sum| could reach 2^(LANE_BITS - 2) (with today's weights, |w| < 32, it never does).
LANE_BITS = 64
FIXED_BITS = 32
FEATURE_BITS = 18
_LANE_OFFSET = 1 << (LANE_BITS - 2)

_cache: dict[str, Classifier] = {}


def featurize(text: str, abbreviations: AbbreviationTable) -> dict[str, float]:
    """Sparse binary features of `text` (accented words at ACCENT_WEIGHT)."""
    typed = tokenize(text)
    tokens = expand_abbreviations(typed, abbreviations) if abbreviations.entries else typed
    feats: dict[str, float] = {}
    folded = [fold_token(t) for t in tokens]
    for w in folded:
        feats["w:" + w] = 1.0
    for a, b in pairwise(folded):
        feats["b:" + a + " " + b] = 1.0
    line = " " + " ".join(folded) + " "
    for n in range(NGRAM_MIN, NGRAM_MAX + 1):
        for i in range(len(line) - n + 1):
            gram = line[i : i + n]
            if gram.strip():
                feats["c:" + gram] = 1.0
    for t in tokens:
        if has_marks(t):
            feats["a:" + t] = ACCENT_WEIGHT
    return feats


MAX_CACHED_LINE = 400  # lines up to this length reuse their n-gram slices (at most ~1,600 slices each)


@lru_cache(maxsize=MAX_CACHED_LINE + 1)
def _gram_slices(length: int) -> tuple[slice, ...]:
    """The slices of the character n-grams of a line of `length` characters (NGRAM_MIN to NGRAM_MAX)."""
    return tuple(slice(i, i + n) for n in range(NGRAM_MIN, NGRAM_MAX + 1) for i in range(length - n + 1))


def _weighted(feats: dict[str, float], idf: Mapping[str, float]) -> tuple[list[str], list[float]]:
    """Known features of a text with their TF-IDF values (IDF rounded to IDF_STEP), scaled to unit length."""
    names: list[str] = []
    values: list[float] = []
    for f, v in feats.items():
        w = idf.get(f)
        if w is not None:
            names.append(f)
            values.append(v * w)
    norm = math.sqrt(sum(v * v for v in values))
    if norm:
        values = [v / norm for v in values]
    return names, values


@dataclass(frozen=True)
class Prediction:
    """Class probabilities, best first."""

    ranked: tuple[tuple[str, float], ...]

    @property
    def label(self) -> str:
        return self.ranked[0][0]

    @property
    def probability(self) -> float:
        return self.ranked[0][1]

    @property
    def margin(self) -> float:
        return self.ranked[0][1] - (self.ranked[1][1] if len(self.ranked) > 1 else 0.0)


def data_hash(examples: Mapping[str, Sequence[str]], abbreviations: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    for label in sorted(examples):
        h.update(label.encode())
        for text in examples[label]:
            h.update(b"\x00" + text.encode())
    for key in sorted(abbreviations):
        h.update(b"\x01" + key.encode() + b"=" + abbreviations[key].encode())
    return h.hexdigest()


class Classifier:
    """Multinomial logistic regression over sparse n-gram features."""

    def __init__(self, labels: Sequence[str], abbreviations: AbbreviationTable) -> None:
        self.labels = list(labels)
        self.abbreviations = abbreviations
        self.weights: dict[str, array[float]] = {}
        self.bias: list[float] = [0.0] * len(self.labels)
        self.idf: dict[str, float] = {}
        # Packed rows (see _prepare) per kind of feature, keyed without the "w:", "b:", "c:", "a:" prefix.
        self._packed: dict[str, dict[str, int]] = {"w": {}, "b": {}, "c": {}, "a": {}}
        self._offset = 0
        self._unfixed = 1.0

    @classmethod
    def train(
        cls,
        examples: Mapping[str, Sequence[str]],
        abbreviations: AbbreviationTable,
        *,
        cache_key: str | None = None,
    ) -> Classifier:
        """Fit on `examples` (label → texts); with `cache_key`, reuse a model fitted on the same data."""
        if cache_key is not None and cache_key in _cache:
            return _cache[cache_key]
        labels = sorted(label for label, texts in examples.items() if texts)
        model = cls(labels, abbreviations)
        model._fit([(model.labels.index(label), text) for label in labels for text in examples[label]])
        if cache_key is not None:
            if len(_cache) > 8:
                _cache.clear()
            _cache[cache_key] = model
        return model

    def _fit(self, data: Sequence[tuple[int, str]]) -> None:
        n_classes = len(self.labels)
        if not data or n_classes < 2:
            return
        raw = [(y, featurize(text, self.abbreviations)) for y, text in data]
        df: dict[str, int] = {}
        for _y, feats in raw:
            for f in feats:
                df[f] = df.get(f, 0) + 1
        total = len(raw)
        # IDF rounded to a few levels: rows with the same value are summed together (see _scores).
        self.idf = {
            f: round((math.log((total + 1) / (d + 1)) + 1.0) / IDF_STEP) * IDF_STEP for f, d in df.items()
        }
        index: dict[str, int] = {}
        rows: list[list[float]] = []
        encoded: list[tuple[int, list[int], list[float]]] = []
        for y, feats in raw:
            names, values = _weighted(feats, self.idf)
            ids: list[int] = []
            for f in names:
                i = index.get(f)
                if i is None:
                    i = index[f] = len(rows)
                    rows.append([0.0] * n_classes)
                ids.append(i)
            encoded.append((y, ids, values))
        # Classes are balanced: an example weighs inversely to its class's size (times the mean size).
        sizes = [0] * n_classes
        for y, _ids, _values in encoded:
            sizes[y] += 1
        mean = len(encoded) / n_classes
        class_weight = [mean / s if s else 0.0 for s in sizes]
        bias = self.bias
        rng = random.Random(SEED)
        order = list(range(len(encoded)))
        lr = LEARNING_RATE
        shrink = 1.0 - L2
        for _epoch in range(EPOCHS):
            rng.shuffle(order)
            for j in order:
                y, ids, values = encoded[j]
                probs = self._softmax(self._scores(rows, ids, values, bias))
                weight = class_weight[y] * lr
                # Only the true class and the classes that took its probability are corrected.
                touched = [c for c in range(n_classes) if probs[c] > UPDATE_EPSILON or c == y]
                if len(touched) > MAX_TOUCHED:
                    touched = sorted(touched, key=lambda c: -probs[c] if c != y else -2.0)[:MAX_TOUCHED]
                for c in touched:
                    g = probs[c] - (1.0 if c == y else 0.0)
                    step = g * weight
                    bias[c] -= step * 0.1
                    for i, v in zip(ids, values, strict=True):
                        row = rows[i]
                        row[c] = row[c] * shrink - step * v
            lr *= DECAY
        names = list(index)
        self.weights = {names[i]: array("f", rows[i]) for i in range(len(rows)) if any(rows[i])}
        self.idf = {f: self.idf[f] for f in self.weights}
        self._prepare()

    def _prepare(self) -> None:
        """Rows pre-multiplied by each feature's value (IDF × ACCENT_WEIGHT for accented words) and packed
        into one integer per feature: lane c = round(weight × 2^FIXED_BITS) for class c, and a last lane
        with the value's square (a multiple of 1/16, so exact), which gives the query's norm."""
        n = len(self.labels)
        rows: list[tuple[str, float, array[float]]] = []
        largest = 1.0
        for f, row in self.weights.items():
            v = self.idf[f] * (ACCENT_WEIGHT if f.startswith("a:") else 1.0)
            scaled = array("f", (w * v for w in row))  # float32, as the rows themselves
            rows.append((f, v, scaled))
            largest = max(largest, v * v, *map(abs, scaled))
        fixed_bits = min(FIXED_BITS, LANE_BITS - 3 - FEATURE_BITS - math.ceil(math.log2(largest + 1)))
        fixed = float(1 << fixed_bits)
        self._unfixed = 1.0 / fixed
        packed: dict[str, dict[str, int]] = {"w": {}, "b": {}, "c": {}, "a": {}}
        for f, v, scaled in rows:
            total = round(v * v * fixed) << (LANE_BITS * n)
            for c, w in enumerate(scaled):
                total += round(w * fixed) << (LANE_BITS * c)
            packed[f[0]][f[2:]] = total
        self._packed = packed
        self._offset = sum(_LANE_OFFSET << (LANE_BITS * c) for c in range(n + 1))

    def _packed_sum(self, tokens: Sequence[str]) -> int:
        """The sum of the packed rows of the known features of `tokens` (expanded syllables)."""
        folded = [fold_token(t) for t in tokens]
        line = " " + " ".join(folded) + " "
        if len(line) <= MAX_CACHED_LINE:
            grams = set(map(line.__getitem__, _gram_slices(len(line))))
        else:
            grams = {line[i : i + n] for n in range(NGRAM_MIN, NGRAM_MAX + 1) for i in range(len(line) - n + 1)}
        for n in range(NGRAM_MIN, NGRAM_MAX + 1):
            grams.discard(" " * n)  # featurize keeps only grams with a letter or digit
        packed = self._packed
        zero = repeat(0)
        return (
            sum(map(packed["w"].get, set(folded), zero))
            + sum(map(packed["b"].get, {a + " " + b for a, b in pairwise(folded)}, zero))
            + sum(map(packed["c"].get, grams, zero))
            + sum(map(packed["a"].get, {t for t in tokens if has_marks(t)}, zero))
        )

    @staticmethod
    def _scores(rows: Sequence[Sequence[float]], ids: list[int], values: list[float], bias: list[float]) -> list[float]:
        scores = list(bias)
        by_value: dict[float, list[Sequence[float]]] = {}
        for i, v in zip(ids, values, strict=True):
            by_value.setdefault(v, []).append(rows[i])
        for v, group in by_value.items():
            for c, total in enumerate(map(sum, zip(*group, strict=True))):
                scores[c] += total * v
        return scores

    @staticmethod
    def _softmax(scores: list[float]) -> list[float]:
        top = max(scores)
        exps = [math.exp(s - top) for s in scores]
        total = sum(exps)
        return [e / total for e in exps]

    def predict(self, text: str, k: int = 5, *, tokens: Sequence[str] | None = None) -> Prediction:
        """The `k` most probable classes of `text`; `tokens` are its syllables after abbreviation expansion
        when the caller already has them (`expand_abbreviations(tokenize(text), …)`)."""
        if not self.labels:
            return Prediction(((OUT_OF_SCOPE, 1.0),))
        if tokens is None:
            typed = tokenize(text)
            tokens = expand_abbreviations(typed, self.abbreviations) if self.abbreviations.entries else typed
        n = len(self.labels)
        total = self._packed_sum(tokens) + self._offset
        lanes = memoryview(total.to_bytes(LANE_BITS // 8 * (n + 1), sys.byteorder)).cast("Q").tolist()
        squares = lanes[n] - _LANE_OFFSET
        if squares:
            scale = self._unfixed / math.sqrt(squares * self._unfixed)
            scores = [b + (x - _LANE_OFFSET) * scale for b, x in zip(self.bias, lanes, strict=False)]
        else:
            scores = list(self.bias)
        probs = self._softmax(scores)
        ranked = sorted(zip(self.labels, probs, strict=True), key=lambda item: -item[1])[:k]
        return Prediction(tuple(ranked))


def cross_validate(
    examples: Mapping[str, Sequence[str]], abbreviations: AbbreviationTable, folds: int = 5
) -> list[tuple[str, str, str, float]]:
    """Out-of-fold predictions: (text, true label, predicted label, probability) for every example.

    Each example is predicted by a model that never saw it (stratified k-fold, deterministic).
    """
    assignment: list[tuple[int, str, str]] = []
    for label in sorted(examples):
        for i, text in enumerate(examples[label]):
            assignment.append((i % folds, label, text))
    out: list[tuple[str, str, str, float]] = []
    for fold in range(folds):
        train: dict[str, list[str]] = {}
        for f, label, text in assignment:
            if f != fold:
                train.setdefault(label, []).append(text)
        model = Classifier.train(train, abbreviations)
        for f, label, text in assignment:
            if f == fold:
                p = model.predict(text, k=1)
                out.append((text, label, p.label, p.probability))
    return out


def training_examples(
    faqs: Iterable[tuple[str, str, Sequence[str], Sequence[str], Sequence[str]]],
    extra: Mapping[str, Sequence[str]],
) -> dict[str, list[str]]:
    """label → texts, from (id, title, questions, keywords, examples) of each FAQ plus `extra` classes."""
    out: dict[str, list[str]] = {}
    for faq_id, title, questions, keywords, examples in faqs:
        out[faq_id] = [title, *questions, *keywords, *examples]
    for label, texts in extra.items():
        out.setdefault(label, []).extend(texts)
    return out
