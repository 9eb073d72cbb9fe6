"""BM25 over token lists, one sparse matrix per field, scored with a few column sums."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse


class BM25Field:
    """Okapi BM25 with the document-side weights precomputed: a query is a sum of columns."""

    def __init__(self, docs: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        tfs: list[float] = []
        lengths = np.zeros(len(docs), dtype=np.float32)
        for row, tokens in enumerate(docs):
            lengths[row] = len(tokens)
            for term, tf in Counter(tokens).items():
                col = self.vocab.setdefault(term, len(self.vocab))
                rows.append(row)
                cols.append(col)
                tfs.append(tf)
        n_docs = max(len(docs), 1)
        avgdl = float(lengths.mean()) if len(docs) else 1.0
        row_arr = np.asarray(rows, dtype=np.int64)
        col_arr = np.asarray(cols, dtype=np.int64)
        tf_arr = np.asarray(tfs, dtype=np.float32)
        df = np.bincount(col_arr, minlength=len(self.vocab)).astype(np.float32)
        self.idf = np.log1p((n_docs - df + 0.5) / (df + 0.5)).astype(np.float32)
        norm = k1 * (1.0 - b + b * lengths[row_arr] / max(avgdl, 1e-9))
        weights = self.idf[col_arr] * tf_arr * (k1 + 1.0) / (tf_arr + norm)
        self.matrix = sparse.csc_matrix(
            (weights, (row_arr, col_arr)), shape=(len(docs), len(self.vocab)), dtype=np.float32
        )
        self.matrix_csr = self.matrix.tocsr()
        self.n_docs = len(docs)

    def score(self, query: Sequence[str]) -> np.ndarray:
        counts = Counter(t for t in query if t in self.vocab)
        if not counts:
            return np.zeros(self.n_docs, dtype=np.float32)
        cols = [self.vocab[t] for t in counts]
        weights = np.asarray(list(counts.values()), dtype=np.float32)
        return np.asarray(self.matrix[:, cols] @ weights, dtype=np.float32).reshape(-1)

    def idf_of(self, term: str) -> float:
        col = self.vocab.get(term)
        return float(self.idf[col]) if col is not None else 0.0


class LexicalIndex:
    """Three BM25 fields over the same units: pyvi words, accent-free syllables, syllable bigrams."""

    def __init__(self, words: Sequence[Sequence[str]], syllables: Sequence[Sequence[str]]) -> None:
        self.words = BM25Field(words)
        self.syllables = BM25Field(syllables)
        self.bigrams = BM25Field([[f"{a}_{b}" for a, b in itertools.pairwise(s)] for s in syllables])
        self.n_units = len(syllables)

    def score(
        self,
        *,
        words: Sequence[str],
        syllables: Sequence[str],
        bigrams: Sequence[str],
        weights: tuple[float, float, float],
    ) -> np.ndarray:
        total = np.zeros(self.n_units, dtype=np.float32)
        for field, tokens, weight in (
            (self.words, words, weights[0]),
            (self.syllables, syllables, weights[1]),
            (self.bigrams, bigrams, weights[2]),
        ):
            if weight and tokens:
                total += weight * field.score(tokens)
        return total
