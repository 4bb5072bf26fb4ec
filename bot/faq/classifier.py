"""A supervised topic classifier trained on the content's example questions, with explicit decline classes.

Classes: every FAQ id, every redirect id (content/redirects.toml) and `out-of-scope`. Training data: each
FAQ's title, questions, keywords and `content/examples/<id>.txt`; each redirect's examples; the
out-of-scope examples (`content/examples/out-of-scope.txt`).

Features of a text (after NFC, lower case, abbreviation expansion — "lltp" → "lý lịch tư pháp"):
character 2–5-grams of the folded text (diacritics removed, so "quen mat khau" = "quên mật khẩu" and a
typo still shares most of its n-grams), folded word unigrams and bigrams, and, as a weaker signal, the
accented words as typed (they tell "mã" from "má" when a resident did type the marks). Binary values,
scaled to unit length.

Model: multinomial logistic regression, trained with numpy by mini-batch stochastic gradient descent on
the examples as a sparse matrix (`_train`): per batch of BATCH examples, the scores and the gradient are
two small matrix products over the features the batch uses. As the per-example SGD it replaced, each
example's gradient counts in full (summed, not averaged, over the batch), is weighted inversely to its
class's size, and only corrects the classes whose probability is off by more than UPDATE_EPSILON (at most
MAX_TOUCHED); the same learning rate, decay, L2 and epochs, so the probabilities keep their meaning for the
thresholds of bot/faq/service.py. Deterministic (fixed seed). Weights are a float32 feature × class array.

Scoring a query (`predict`): each feature's row, pre-multiplied by the feature's value, is packed once
after training into a single Python integer: one LANE_BITS-bit lane per class holding the weight in fixed
point, and a last lane holding the square of the feature's value. A query's scores for all classes are
then one C-level `sum` of a few hundred integers, unpacked with `to_bytes` — no per-class Python objects,
no per-feature loop over classes. Integer sums are exact, so the result does not depend on the order of
the features. 32-bit lanes keep a row at 4 bytes per class: a query touches a few hundred rows, and at 8
bytes a class they crowded the index's tables out of the CPU cache (`bench/faq.py`, issue 11). The
weights get the fractional bits the lanes leave once CHUNK_BITS bits of room are kept for a sum of
2^CHUNK_BITS features (12 with today's weights: each weight within 2^-13 of its float32 value, which
moves a score by less than 1e-3); a longer text's features are summed in chunks of that many. The square
lane is exact (values are multiples of 1/4). A question's known features are found per syllable and per
pair of neighbouring syllables, and kept for the next question that has them (`_rows`; at most
FEATURE_CACHE_MAX of each): on questions never seen, whose syllables and pairs other questions had met,
that took the classifier's share from 0.113 to 0.101 ms a question on average. Prediction does not use
numpy: numpy's per-call overhead would cost more than the packed sum (README, "The FAQ classifier").

The fitted model is cached in memory by a hash of its training data: reloading unchanged content does not
train again.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import random
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Literal

import numpy as np

from bot.faq.normalize import AbbreviationTable, expand_abbreviations, fold_token, has_marks, tokenize

OUT_OF_SCOPE = "out-of-scope"

NGRAM_MIN, NGRAM_MAX = 2, 5  # _rows relies on NGRAM_MAX ≤ 5
FEATURE_CACHE_MAX = 10_000  # syllables, and pairs of syllables, whose known features are kept (_rows; ≤ ~15 MB)
ACCENT_WEIGHT = 0.5  # an accented word counts half as much as a folded feature
IDF_STEP = 0.5
EPOCHS = 5
LEARNING_RATE = 2.0
DECAY = 0.75  # learning rate multiplied by this after each epoch
UPDATE_EPSILON = 0.02
MAX_TOUCHED = 6  # at most this many classes corrected per example
L2 = 1e-5  # weight decay per update on touched weights
SEED = 6
BATCH = 16  # examples per mini-batch
WRAP_MAX = 5  # a wrapped copy of an example carries 1 to this many context phrases (`wrap`)
WRAP_COPIES = 1  # wrapped copies of each example (each with its own phrases; 2 cost twice the training time)
WRAP_BEFORE = 0.6  # share of the wrapped copies with the context before the question
# Packed scoring (see the module docstring). A lane holds a class's sum over a query's features, offset by
# 2^(LANE_BITS - 2) so that every lane stays non-negative. At most 2^CHUNK_BITS features are added in one
# integer; the weights get the fractional bits that keep |sum| below 2^(LANE_BITS - 3), at most FIXED_BITS.
LANE_BITS = 32
FIXED_BITS = 16
CHUNK_BITS = 11
SQUARE_FIXED = 16  # a value is a multiple of IDF_STEP × ACCENT_WEIGHT = 1/4, so its square × 16 is exact
_LANE_OFFSET = 1 << (LANE_BITS - 2)
_LANE_CODE: Literal["H", "I", "Q"] = "H" if LANE_BITS == 16 else "I" if LANE_BITS == 32 else "Q"  # memoryview format

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


def data_hash(examples: Mapping[str, Sequence[str]], abbreviations: Mapping[str, str],
              context: Sequence[str] = ()) -> str:
    h = hashlib.sha256()
    for phrase in context:
        h.update(b"\x02" + phrase.encode())
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
        self.features: list[str] = []  # feature names, one per row of `weights`
        self.weights: np.ndarray = np.zeros((0, len(self.labels)), dtype=np.float32)  # feature × class
        self.bias: list[float] = [0.0] * len(self.labels)
        self.idf: dict[str, float] = {}
        # Packed rows (see _prepare) per kind of feature, keyed without the "w:", "b:", "c:", "a:" prefix.
        self._packed: dict[str, dict[str, int]] = {"w": {}, "b": {}, "c": {}, "a": {}}
        self._offset = 0
        self._unfixed = 1.0
        self._chunk = 1 << CHUNK_BITS
        self._syllable_cache: dict[str, dict[str, int]] = {}  # see _rows
        self._pair_cache: dict[tuple[str, str], dict[str, int]] = {}

    @classmethod
    def train(
        cls,
        examples: Mapping[str, Sequence[str]],
        abbreviations: AbbreviationTable,
        *,
        context: Sequence[str] = (),
        plain: Collection[str] = (),
        cache_key: str | None = None,
    ) -> Classifier:
        """Fit on `examples` (label → texts), each also learnt wrapped in `context` (see `wrap`) except the
        labels in `plain`; with `cache_key`, reuse a model fitted on the same data."""
        if cache_key is not None and cache_key in _cache:
            return _cache[cache_key]
        labels = sorted(label for label, texts in examples.items() if texts)
        model = cls(labels, abbreviations)
        taught = wrap(examples, context, plain) if context else examples
        model._fit([(model.labels.index(label), text) for label in labels for text in taught[label]])
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
        # IDF rounded to a few levels (so that the packed rows' squares are exact, see _prepare).
        self.idf = {
            f: round((math.log((total + 1) / (d + 1)) + 1.0) / IDF_STEP) * IDF_STEP for f, d in df.items()
        }
        # The examples as a sparse matrix (CSR: feature ids, values, row pointers). Every feature of a
        # training text is known, so the ids are the features' order of first appearance.
        index: dict[str, int] = {}
        ids: list[int] = []
        values: list[float] = []
        targets: list[int] = []
        indptr = [0]
        for y, feats in raw:
            names, vals = _weighted(feats, self.idf)
            if not names:
                continue  # no feature at all (only punctuation): nothing to learn from
            ids.extend([index.setdefault(f, len(index)) for f in names])
            values.extend(vals)
            targets.append(y)
            indptr.append(len(ids))
        with _one_blas_thread():
            weights, bias = _train(
                np.array(ids, dtype=np.intp),
                np.array(values, dtype=np.float64),
                np.array(indptr, dtype=np.intp),
                np.array(targets, dtype=np.intp),
                n_features=len(index),
                n_classes=n_classes,
            )
        keep = np.flatnonzero(np.any(weights != 0.0, axis=1))
        names_all = list(index)
        self.features = [names_all[i] for i in keep.tolist()]
        self.weights = weights[keep].astype(np.float32)
        self.bias = bias.tolist()
        self.idf = {f: self.idf[f] for f in self.features}
        self._prepare()

    def _prepare(self) -> None:
        """Rows pre-multiplied by each feature's value (IDF × ACCENT_WEIGHT for accented words) and packed
        into one integer per feature: lane c = round(weight × 2^fixed bits) for class c, and a last lane
        with the value's square × SQUARE_FIXED (exact), which gives the query's norm."""
        n = len(self.labels)
        packed: dict[str, dict[str, int]] = {"w": {}, "b": {}, "c": {}, "a": {}}
        self._offset = sum(_LANE_OFFSET << (LANE_BITS * c) for c in range(n + 1))
        self._chunk = 1 << CHUNK_BITS
        self._syllable_cache = {}
        self._pair_cache = {}
        if not self.features:
            self._packed = packed
            return
        v = np.array(
            [self.idf[f] * (ACCENT_WEIGHT if f.startswith("a:") else 1.0) for f in self.features], dtype=np.float64
        )
        scaled = (self.weights.astype(np.float64) * v[:, None]).astype(np.float32)  # float32, as the rows
        largest = max(1.0, float(np.max(np.abs(scaled))))
        fixed_bits = min(FIXED_BITS, LANE_BITS - 3 - CHUNK_BITS - math.ceil(math.log2(largest + 1)))
        fixed = float(1 << fixed_bits)
        self._unfixed = 1.0 / fixed
        squares = v * v * SQUARE_FIXED
        if not np.array_equal(squares, np.rint(squares)):
            raise ValueError("a feature's value is not a multiple of 1/4: its square would not be exact")
        # Fewer features per chunk if a square is ever so large that the square lane could overflow.
        self._chunk = max(1, min(self._chunk, (1 << (LANE_BITS - 3)) // int(np.max(squares) + 1)))
        # lanes[i, c]: the fixed-point weights, then the square. A negative lane borrows one from the lane
        # above it in the packed integer: the lane's two's complement as unsigned, minus `borrow`.
        lanes = np.empty((len(self.features), n + 1), dtype=np.int64)
        lanes[:, :n] = np.rint(scaled.astype(np.float64) * fixed)
        lanes[:, n] = squares
        borrow = np.zeros_like(lanes)
        borrow[:, 1:] = lanes[:, :n] < 0
        unsigned = f"<u{LANE_BITS // 8}"
        low = lanes.astype(unsigned).tobytes()
        high = borrow.astype(unsigned).tobytes()
        width = LANE_BITS // 8 * (n + 1)
        from_bytes = int.from_bytes
        for i, f in enumerate(self.features):
            a, b = i * width, (i + 1) * width
            packed[f[0]][f[2:]] = from_bytes(low[a:b], "little") - from_bytes(high[a:b], "little")
        self._packed = packed

    def _rows(self, tokens: Sequence[str]) -> list[int]:
        """The packed rows of the known features of `tokens` (expanded syllables).

        The features of a text are those of each syllable (its folded word, its accented form, the character
        n-grams of " word ") and of each pair of neighbours (their bigram, the n-grams across the space between
        them), plus the 5-grams that reach over a one-letter syllable ("a b c"): so each syllable's and each
        pair's known features are looked up once and kept (`_syllable_rows`, `_pair_rows`), and a question's
        are their union — the same features as `featurize`, each counted once. The union is a dict by name:
        an n-gram by itself (it has no ":"), the other kinds with their prefix ("w:", "b:", "a:")."""
        known: dict[str, int] = {}
        syllables, pairs = self._syllable_cache, self._pair_cache
        for token in tokens:
            found = syllables.get(token)
            known.update(self._syllable_rows(token) if found is None else found)
        folded = [fold_token(t) for t in tokens]
        for pair in pairwise(folded):
            found = pairs.get(pair)
            known.update(self._pair_rows(pair) if found is None else found)
        grams = self._packed["c"]
        for before, middle, after in zip(folded, folded[1:-1], folded[2:], strict=False):
            if len(middle) == 1:  # NGRAM_MAX is 5: only a 5-gram reaches over a whole syllable
                gram = before[-1] + " " + middle + " " + after[0]
                row = grams.get(gram)
                if row:
                    known[gram] = row
        return list(known.values())

    def _syllable_rows(self, token: str) -> dict[str, int]:
        """The known features of one syllable, by name, with their packed rows (kept for the next question)."""
        folded = fold_token(token)
        packed = self._packed
        found: dict[str, int] = {}
        padded = " " + folded + " "
        grams = packed["c"]
        for n in range(NGRAM_MIN, NGRAM_MAX + 1):
            for i in range(len(padded) - n + 1):
                gram = padded[i : i + n]
                row = grams.get(gram)
                if row:
                    found[sys.intern(gram)] = row  # one string per n-gram however many syllables keep it
        row = packed["w"].get(folded)
        if row:
            found["w:" + folded] = row
        if has_marks(token):
            row = packed["a"].get(token)
            if row:
                found["a:" + token] = row
        if len(self._syllable_cache) < FEATURE_CACHE_MAX:
            self._syllable_cache[token] = found
        return found

    def _pair_rows(self, pair: tuple[str, str]) -> dict[str, int]:
        """The known features of two neighbouring folded syllables: their bigram and the n-grams that cross
        the space between them (kept for the next question)."""
        first, second = pair
        packed = self._packed
        found: dict[str, int] = {}
        row = packed["b"].get(first + " " + second)
        if row:
            found["b:" + first + " " + second] = row
        window = " " + first + " " + second + " "
        middle = len(first) + 1  # the space between them
        grams = packed["c"]
        for n in range(NGRAM_MIN, NGRAM_MAX + 1):
            for i in range(max(0, middle - n + 2), middle):  # a letter on each side of the middle space
                if i + n <= len(window):
                    gram = window[i : i + n]
                    row = grams.get(gram)
                    if row:
                        found[sys.intern(gram)] = row
        if len(self._pair_cache) < FEATURE_CACHE_MAX:
            self._pair_cache[pair] = found
        return found

    def _lane_sums(self, tokens: Sequence[str]) -> list[int]:
        """Per class, the fixed-point sum of the weights of the known features of `tokens`; last, the sum
        of their squared values × SQUARE_FIXED."""
        rows = self._rows(tokens)
        chunk = self._chunk
        parts = [rows] if len(rows) <= chunk else [rows[i : i + chunk] for i in range(0, len(rows), chunk)]
        size = LANE_BITS // 8 * (len(self.labels) + 1)
        sums: list[int] = []
        for part in parts:
            total = sum(part) + self._offset
            lanes = memoryview(total.to_bytes(size, sys.byteorder)).cast(_LANE_CODE).tolist()
            sums = [a + b for a, b in zip(sums, lanes, strict=True)] if sums else lanes
        return [x - len(parts) * _LANE_OFFSET for x in sums]

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
        probs = self.probabilities(text, tokens=tokens)
        ranked = sorted(zip(self.labels, probs, strict=True), key=lambda item: -item[1])[:k]
        return Prediction(tuple(ranked))

    def probabilities(self, text: str, *, tokens: Sequence[str] | None = None) -> list[float]:
        """The probability of every class of `text`, in the order of `labels` (see `predict`)."""
        if not self.labels:
            return []
        if tokens is None:
            typed = tokenize(text)
            tokens = expand_abbreviations(typed, self.abbreviations) if self.abbreviations.entries else typed
        lanes = self._lane_sums(tokens)
        squares = lanes[-1]
        if squares:
            scale = self._unfixed / math.sqrt(squares / SQUARE_FIXED)
            scores = [b + x * scale for b, x in zip(self.bias, lanes, strict=False)]
        else:
            scores = list(self.bias)
        return self._softmax(scores)


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run numpy's BLAS on one thread inside the block. Training's matrix products are small (16 × ~1,500
    × 48), and OpenBLAS's threads made them 3–5× slower on a 2-core machine with other load. Only numpy's
    bundled OpenBLAS is recognised; with any other BLAS this does nothing."""
    setter = getter = None
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for lib in sorted(libs.glob("libscipy_openblas*.so*")) if libs.is_dir() else ():
        try:
            handle = ctypes.CDLL(str(lib))
            setter = handle.scipy_openblas_set_num_threads64_
            getter = handle.scipy_openblas_get_num_threads64_
        except (OSError, AttributeError):
            continue
        break
    if setter is None or getter is None:
        yield
        return
    getter.restype = ctypes.c_int
    before = int(getter())
    setter(ctypes.c_int(1))
    try:
        yield
    finally:
        setter(ctypes.c_int(before))


def _train(
    ids: np.ndarray,
    values: np.ndarray,
    indptr: np.ndarray,
    targets: np.ndarray,
    *,
    n_features: int,
    n_classes: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights (feature × class) and biases of the logistic regression on the CSR matrix (ids, values,
    indptr) with one target class per row, by mini-batch gradient descent.

    Each mini-batch of BATCH examples is made dense over the features it uses, so that its scores and its
    gradient are two small matrix products, in float32 (the weights are kept as float32 anyway; float64
    took 1.6 times as long for the same answers on every evaluation set). As in per-example SGD, an
    example's gradient is summed into the step (not averaged), weighted inversely to its class's size,
    and only corrects its true class and the classes whose probability exceeds UPDATE_EPSILON (at most
    MAX_TOUCHED); touched weights decay by L2.
    """
    n = len(targets)
    weights = np.zeros((n_features, n_classes), dtype=np.float32)
    bias = np.zeros(n_classes, dtype=np.float64)
    if n == 0:
        return weights, bias
    # Classes are balanced: an example weighs inversely to its class's size (times the mean size).
    sizes = np.bincount(targets, minlength=n_classes)
    class_weight = np.where(sizes > 0, (n / n_classes) / np.maximum(sizes, 1), 0.0)
    lengths = np.diff(indptr)
    mark = np.zeros(n_features, dtype=bool)
    rank = np.zeros(n_features, dtype=np.intp)
    rng = np.random.default_rng(SEED)
    lr = LEARNING_RATE
    for _epoch in range(EPOCHS):
        order = rng.permutation(n)
        for start in range(0, n, BATCH):
            batch = order[start : start + BATCH]
            rows = len(batch)
            counts = lengths[batch]
            # Positions of the batch's entries in the CSR arrays, and the batch row of each.
            row_of = np.repeat(np.arange(rows), counts)
            first = np.cumsum(counts) - counts
            pos = np.repeat(indptr[batch] - first, counts) + np.arange(int(counts.sum()))
            # The batch's distinct features, in order, and each entry's index among them (a mark per
            # feature instead of np.unique's sort: an order of magnitude faster at this size).
            entry_ids = ids[pos]
            mark[entry_ids] = True
            used = np.flatnonzero(mark)
            mark[used] = False
            rank[used] = np.arange(len(used))
            column = rank[entry_ids]
            dense = np.zeros((rows, len(used)), dtype=np.float32)
            dense[row_of, column] = values[pos]
            w = weights[used]
            scores = dense @ w + bias
            scores -= scores.max(axis=1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=1, keepdims=True)
            y = targets[batch]
            # Only the true class and the classes that took its probability are corrected.
            touched = probs > UPDATE_EPSILON
            touched[np.arange(rows), y] = True
            crowded = np.flatnonzero(touched.sum(axis=1) > MAX_TOUCHED)
            if len(crowded):
                priority = np.where(touched[crowded], probs[crowded], -1.0)
                priority[np.arange(len(crowded)), y[crowded]] = 2.0
                keep = np.argsort(-priority, axis=1, kind="stable")[:, :MAX_TOUCHED]
                touched[crowded] = False
                touched[crowded[:, None], keep] = True
            grad = probs
            grad[np.arange(rows), y] -= 1.0
            grad *= touched
            grad *= (class_weight[y] * lr)[:, None]
            bias -= 0.1 * grad.sum(axis=0)
            # Weight decay on the touched weights, L2 per example that touched them (to first order).
            decay = (dense != 0.0).T.astype(np.float32) @ touched.astype(np.float32)
            weights[used] = w * (1.0 - L2 * decay) - dense.T @ grad.astype(np.float32)
        lr *= DECAY
    return weights, bias


def wrap(examples: Mapping[str, Sequence[str]], context: Sequence[str], plain: Collection[str] = ()
         ) -> dict[str, list[str]]:
    """Each example, and also a copy wrapped in one to WRAP_MAX of the `context` phrases (before it, or
    after it), for every label not in `plain`. Residents tell a story around their question ("chao can bo,
    toi nam nay 68 tuoi, …"); a short example's features fill its whole unit-length vector, a long
    message's are diluted by the story, so a model taught only short examples is unsure of long ones. The
    context phrases are neutral: they are wrapped around the examples of every class, the out-of-scope
    ones too, so they point to none. Deterministic (fixed seed)."""
    rng = random.Random(SEED)
    phrases = list(context)
    out: dict[str, list[str]] = {}
    for label in sorted(examples):
        texts = list(examples[label])
        if label not in plain and phrases:
            for _copy in range(WRAP_COPIES):
                for text in examples[label]:
                    story = ", ".join(rng.sample(phrases, min(len(phrases), rng.randint(1, WRAP_MAX))))
                    texts.append(f"{story}, {text}" if rng.random() < WRAP_BEFORE else f"{text}. {story}")
        out[label] = texts
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
