"""Near-duplicate documents: MinHash signatures of token shingles (datasketch), candidate pairs
from locality-sensitive hashing, and groups of documents linked by near-identical text."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

import numba
import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH
from datasketch.hashfunc import sha1_hash32

from app.ranking.text import Tokenizer

KeyT = TypeVar("KeyT", bound=Hashable)

# A fixed seed: signatures of the same text are equal across processes and runs.
SEED = 1
# Permutations per signature (NearDuplicates' default, and datasketch's).
NUM_PERM = 128


def shingles(tokens: Sequence[str]) -> set[str]:
    """Words and word pairs: pairs keep the order that a bag of words loses."""
    grams = set(tokens)
    grams.update(map(" ".join, zip(tokens, tokens[1:], strict=False)))
    return grams


def signatures(token_lists: Sequence[Sequence[str]], *, num_perm: int) -> list[LeanMinHash]:
    """One MinHash signature per document (an empty document gets an empty signature)."""
    hashed = MinHash.bulk(
        [[gram.encode("utf-8") for gram in shingles(tokens)] for tokens in token_lists],
        num_perm=num_perm,
        seed=SEED,
    )
    return [LeanMinHash(minhash) for minhash in hashed]


@cache
def duplicate_tokenizer() -> Tokenizer:
    """The tokenizer near-duplicates are found with (fixed, whatever a version's ranker uses):
    one text gives one signature in every process and after every refit. Compounds stay whole:
    the threshold, the title overlap and the 47-of-50 precision (README, "Near-duplicates") were
    measured on whole words, and splitting them was measured for ranking only."""
    return Tokenizer(split_compounds=False)


def posting_text(title: str, skills: Iterable[str], description: str) -> str:
    """The text of a posting compared for near-duplicates."""
    return " ".join([title, " ".join(skills), description])


# datasketch's default scheme (affine32): each shingle's SHA-1 (first 4 bytes), mixed by
# MurmurHash3's 32-bit finalizer, then h → a·h + b mod 2^32 per permutation; a signature is
# the minimum per permutation, and an empty one holds 2^32 − 1 everywhere.
_AFFINE32 = "affine32"
_EMPTY = np.uint32(0xFFFFFFFF)
# Words per pass (each a word and a pair shingle): ~100 a posting, ~10,000 postings a pass.
_SHINGLES_PER_PASS = 1_000_000
# Keys from here on are pairs of word numbers (a word's key is its number, below 2^32).
_PAIR = 1 << 32


@cache
def _permutations(num_perm: int) -> tuple[Any, Any]:
    minhash = MinHash(num_perm=num_perm, seed=SEED)
    if minhash.scheme != _AFFINE32:  # signature_rows reproduces this scheme only
        raise RuntimeError(f"datasketch's MinHash scheme is {minhash.scheme}, not {_AFFINE32}")
    a, b = minhash.permutations
    return a.astype(np.uint32), b.astype(np.uint32)


def _fmix32(values: Any) -> Any:
    """MurmurHash3's 32-bit finalizer on uint32 values (wrapping), as datasketch premixes."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def signature_rows(
    token_lists: Sequence[Sequence[str]], *, num_perm: int = NUM_PERM
) -> np.ndarray[Any, np.dtype[np.uint32]]:
    """signatures()' hash values as rows of a uint32 matrix, equal value for value, at a
    fraction of the cost: words numbered, each distinct shingle (a word, or a pair of word
    numbers) hashed once, the permutations and minima compiled. A shingle twice in a document
    changes no minimum, so no document's shingles are made into a set. 100k postings' token
    lists: 5.4 s of CPU, datasketch's MinHash.bulk 10.6 s."""
    a, b = _permutations(num_perm)
    rows = np.full((len(token_lists), num_perm), _EMPTY, dtype=np.uint32)
    numbers: dict[str, int] = {}
    words: list[str] = []
    # Shingle keys seen so far, sorted, and their hashes: a word's key is its number, a pair's
    # (left + 1) · 2^32 + right.
    known = np.empty(0, dtype=np.int64)
    known_hashes = np.empty(0, dtype=np.uint32)
    tokens = array("q")  # the word numbers of the documents of one pass, in a row
    starts: list[int] = []
    filled: list[int] = []

    def text_of(key: int) -> str:
        if key < _PAIR:
            return words[key]
        return f"{words[(key >> 32) - 1]} {words[key & 0xFFFFFFFF]}"

    def reduce_pass() -> None:
        nonlocal known, known_hashes
        if filled:
            row_tokens = np.array(tokens, dtype=np.int64)
            bounds = np.asarray([*starts, len(row_tokens)], dtype=np.int64)
            paired = np.ones(len(row_tokens), dtype=bool)
            paired[bounds[1:] - 1] = False  # a document's last word starts no pair
            lefts = np.flatnonzero(paired)
            pairs = ((row_tokens[lefts] + 1) << 32) | row_tokens[lefts + 1]
            pair_bounds = np.concatenate([[0], np.cumsum(np.diff(bounds) - 1)])
            keys, inverse = np.unique(np.concatenate([row_tokens, pairs]), return_inverse=True)
            at = np.minimum(np.searchsorted(known, keys), max(len(known) - 1, 0))
            seen = (known[at] == keys) if len(known) else np.zeros(len(keys), dtype=bool)
            new = keys[~seen]
            new_hashes = np.fromiter(
                (sha1_hash32(text_of(key).encode("utf-8")) for key in new.tolist()),
                dtype=np.uint32,
                count=len(new),
            )
            hashes = np.empty(len(keys), dtype=np.uint32)
            hashes[seen] = known_hashes[at[seen]]
            hashes[~seen] = new_hashes
            merged = np.concatenate([known, new])
            order = np.argsort(merged, kind="stable")
            known = merged[order]
            known_hashes = np.concatenate([known_hashes, new_hashes])[order]
            mixed = _fmix32(hashes)[inverse.ravel()]
            rows[filled] = _min_hashes(
                mixed[: len(row_tokens)], bounds, mixed[len(row_tokens) :], pair_bounds, a, b
            )
        del tokens[:]
        starts.clear()
        filled.clear()

    for row, document in enumerate(token_lists):
        if not document:
            continue  # an empty document keeps the empty signature
        for word in set(document).difference(numbers):
            numbers[word] = len(words)
            words.append(word)
        starts.append(len(tokens))
        filled.append(row)
        tokens.extend(map(numbers.__getitem__, document))
        if len(tokens) >= _SHINGLES_PER_PASS:
            reduce_pass()
    reduce_pass()
    return rows


@numba.njit(nogil=True)
def _min_hashes(words: Any, bounds: Any, pairs: Any, pair_bounds: Any, a: Any, b: Any) -> Any:
    """Per document d (words bounds[d] to bounds[d + 1], pairs pair_bounds[d] to
    pair_bounds[d + 1], each a mixed hash), the minimum over its shingles of a·h + b mod 2^32
    for each permutation (a, b): datasketch's affine32 values."""
    low32 = np.uint64(0xFFFFFFFF)
    out = np.empty((bounds.shape[0] - 1, a.shape[0]), dtype=np.uint32)
    best = np.empty(a.shape[0], dtype=np.uint64)
    for document in range(bounds.shape[0] - 1):
        best[:] = low32
        for values, first, last in (
            (words, bounds[document], bounds[document + 1]),
            (pairs, pair_bounds[document], pair_bounds[document + 1]),
        ):
            for position in range(first, last):
                value = np.uint64(values[position])
                for permutation in range(a.shape[0]):
                    permuted = (
                        value * np.uint64(a[permutation]) + np.uint64(b[permutation])
                    ) & low32
                    if permuted < best[permutation]:
                        best[permutation] = permuted
        for permutation in range(a.shape[0]):
            out[document, permutation] = np.uint32(best[permutation])
    return out


@dataclass(frozen=True, slots=True)
class DuplicatePair(Generic[KeyT]):
    """Two documents whose estimated Jaccard similarity of shingles reaches the threshold."""

    first: KeyT
    second: KeyT
    similarity: float


def _similarity(left: LeanMinHash, right: LeanMinHash) -> float:
    if left.is_empty() or right.is_empty():
        return 0.0
    return float(left.jaccard(right))


@cache
def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """MinHashLSH's own optimal (bands, rows) for its default weights, found once: it
    integrates numerically, which was most of the time of a small fit (one company's postings)."""
    from datasketch.lsh import _optimal_param

    bands, rows = _optimal_param(threshold, num_perm, 0.5, 0.5)
    return int(bands), int(rows)


class NearDuplicates(Generic[KeyT]):
    """Finds near-duplicate documents among those fitted, within blocks (e.g. one company):
    MinHash LSH proposes pairs, the signatures' Jaccard estimate keeps those ≥ threshold."""

    def __init__(
        self,
        *,
        threshold: float,
        title_overlap: float = 0.0,
        min_tokens: int = 1,
        num_perm: int = 128,
    ) -> None:
        self.threshold = threshold
        # Documents of fewer distinct tokens say too little to be told apart: two profiles
        # naming one desired role and nothing else are two people, not one twice.
        self.min_tokens = min_tokens
        # Share of the shorter title's words the other title must have: postings of one
        # company often share a long boilerplate about the company under different titles.
        self.title_overlap = title_overlap
        self.num_perm = num_perm

    def fit(
        self,
        keys: Sequence[KeyT],
        token_lists: Sequence[Sequence[str]],
        blocks: Sequence[Hashable] | None = None,
        titles: Sequence[Sequence[str]] | None = None,
    ) -> NearDuplicates[KeyT]:
        """Sign each document; `blocks` (one per document) limits pairs to equal blocks;
        `titles` (tokens, one list per document) must overlap by `title_overlap`."""
        self.keys_ = list(keys)
        self.blocks_ = list(blocks) if blocks is not None else [None] * len(self.keys_)
        self.titles_ = [frozenset(t) for t in titles] if titles is not None else None
        self.signatures_ = signatures(
            [tokens if len(set(tokens)) >= self.min_tokens else [] for tokens in token_lists],
            num_perm=self.num_perm,
        )
        self.lsh_ = MinHashLSH(
            threshold=self.threshold,
            num_perm=self.num_perm,
            params=lsh_bands(self.threshold, self.num_perm),
        )
        with self.lsh_.insertion_session() as session:
            for position, signature in enumerate(self.signatures_):
                if not signature.is_empty():
                    session.insert(position, signature, check_duplication=False)
        return self

    def _comparable(self, left: int, right: int) -> bool:
        if self.blocks_[left] != self.blocks_[right]:
            return False
        if self.titles_ is None:
            return True
        return titles_overlap(self.titles_[left], self.titles_[right], self.title_overlap)

    def pairs(self) -> list[DuplicatePair[KeyT]]:
        """Every near-duplicate pair among the fitted documents, each once, in key order."""
        found = []
        for position, signature in enumerate(self.signatures_):
            if signature.is_empty():
                continue
            for other in self.lsh_.query(signature):
                if other <= position or not self._comparable(position, other):
                    continue
                similarity = _similarity(signature, self.signatures_[other])
                if similarity >= self.threshold:
                    found.append(DuplicatePair(self.keys_[position], self.keys_[other], similarity))
        return found

    def similar_to(self, position: int) -> list[tuple[KeyT, float]]:
        """The fitted documents near-identical to document `position`, most similar first."""
        signature = self.signatures_[position]
        if signature.is_empty():
            return []
        found = []
        for other in self.lsh_.query(signature):
            if other == position or not self._comparable(position, other):
                continue
            similarity = _similarity(signature, self.signatures_[other])
            if similarity >= self.threshold:
                found.append((self.keys_[other], similarity))
        return sorted(found, key=lambda item: (-item[1], str(item[0])))


@cache
def _digest_factors(count: int) -> np.ndarray[Any, np.dtype[np.uint64]]:
    factors = np.random.default_rng(SEED).integers(0, 1 << 63, count, dtype=np.uint64)
    return factors * np.uint64(2) + np.uint64(1)


# Rows a block holds before it first grows (most companies have a handful of open postings).
_INITIAL_ROWS = 4


class _Block(Generic[KeyT]):
    """The signatures of one block's documents as rows of one matrix (rows [0, size) used)."""

    def __init__(self, num_perm: int) -> None:
        self.keys: list[KeyT] = []
        self.titles: list[frozenset[str]] = []
        self.rows = np.empty((0, num_perm), dtype=np.uint32)
        self.distinct = np.empty(0, dtype=np.int64)
        # One 64-bit digest per band of each row, for one (bands, rows per band), made when
        # first asked after a change: comparing 14 digests a row, not 128 values, finds the
        # few rows that may share a band (a digest match is then checked value by value).
        self._digests: tuple[tuple[int, int], np.ndarray[Any, np.dtype[np.uint64]]] | None = None

    def band_digests(self, bands: int, band_rows: int) -> np.ndarray[Any, np.dtype[np.uint64]]:
        """Each used row's digest of each band: equal bands give equal digests."""
        if self._digests is None or self._digests[0] != (bands, band_rows):
            size = len(self.keys)
            banded = self.rows[:size, : bands * band_rows].reshape(size, bands, band_rows)
            # Multiply-add of the band's values by fixed odd 64-bit factors, wrapping.
            digests = (banded.astype(np.uint64) * _digest_factors(band_rows)).sum(
                axis=2, dtype=np.uint64
            )
            self._digests = ((bands, band_rows), digests)
        return self._digests[1]

    def reserve(self, more: int) -> None:
        """Room for `more` rows: to the size asked when a put brings many (a build), else
        doubled, so that single puts cost O(1) on average."""
        size = len(self.keys)
        if size + more <= self.rows.shape[0]:
            return
        capacity = max(size + more, 2 * size, _INITIAL_ROWS)
        rows = np.empty((capacity, self.rows.shape[1]), dtype=np.uint32)
        rows[:size] = self.rows[:size]
        counts = np.empty(capacity, dtype=np.int64)
        counts[:size] = self.distinct[:size]
        self.rows, self.distinct = rows, counts

    def append(self, key: KeyT, row: Any, distinct: int, title: frozenset[str]) -> int:
        size = len(self.keys)
        self.reserve(1)
        self.rows[size] = row
        self.distinct[size] = distinct
        self._digests = None
        self.keys.append(key)
        self.titles.append(title)
        return size

    def pop(self, position: int) -> KeyT | None:
        """Remove row `position`, moving the last row into it; the moved row's key, if any."""
        last = len(self.keys) - 1
        moved = None
        self._digests = None
        if position != last:
            moved = self.keys[position] = self.keys[last]
            self.rows[position] = self.rows[last]
            self.distinct[position] = self.distinct[last]
            self.titles[position] = self.titles[last]
        self.keys.pop()
        self.titles.pop()
        return moved


class BlockSignatures(Generic[KeyT]):
    """Documents' MinHash signatures kept by block (e.g. a company's open postings), updated
    one document at a time, and each document's near-duplicates within its block found by
    comparing stored signatures: the answers NearDuplicates gives fitted on the block alone.

    Pairing is NearDuplicates' pairing, evaluated on the two signatures: MinHashLSH proposes
    two documents when some band (r consecutive hash values, bands from lsh_bands) is equal in
    both, whatever else is indexed, and the pair stands when the Jaccard estimate reaches the
    threshold and the titles overlap. Documents with fewer distinct tokens than `min_tokens`
    (and empty ones) pair with nothing."""

    def __init__(self, *, num_perm: int = NUM_PERM) -> None:
        self.num_perm = num_perm
        self._blocks: dict[Hashable, _Block[KeyT]] = {}
        self._where: dict[KeyT, tuple[Hashable, int]] = {}

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def put(
        self,
        keys: Sequence[KeyT],
        blocks: Sequence[Hashable],
        token_lists: Sequence[Sequence[str]],
        titles: Sequence[Sequence[str]],
    ) -> None:
        """Sign and keep documents (distinct keys; each replaces any kept under its key)."""
        rows = signature_rows(token_lists, num_perm=self.num_perm)
        for key in keys:
            self.remove(key)
        for name, count in Counter(blocks).items():
            if name not in self._blocks:
                self._blocks[name] = _Block(self.num_perm)
            self._blocks[name].reserve(count)
        for number, key in enumerate(keys):
            block = self._blocks[blocks[number]]
            position = block.append(
                key, rows[number], len(set(token_lists[number])), frozenset(titles[number])
            )
            self._where[key] = (blocks[number], position)

    def remove(self, key: KeyT) -> None:
        """Forget a document (nothing happens when it is not kept)."""
        where = self._where.pop(key, None)
        if where is None:
            return
        name, position = where
        block = self._blocks[name]
        moved = block.pop(position)
        if moved is not None:
            self._where[moved] = (name, position)
        if not block.keys:
            del self._blocks[name]

    def similar_to(
        self, key: KeyT, *, threshold: float, title_overlap: float = 0.0, min_tokens: int = 1
    ) -> list[tuple[KeyT, float]]:
        """The kept documents of the key's block near-identical to it, with their similarity,
        in no particular order ([] when the key is not kept)."""
        where = self._where.get(key)
        if where is None:
            return []
        block = self._blocks[where[0]]
        position = where[1]
        size = len(block.keys)
        # What NearDuplicates signs as empty, and so never indexes nor queries.
        signed = block.distinct[:size] >= min_tokens
        row = block.rows[position]
        if not signed[position] or not (row != _EMPTY).any():
            return []
        bands, band_rows = lsh_bands(threshold, self.num_perm)
        digests = block.band_digests(bands, band_rows)
        maybe = np.flatnonzero((digests == digests[position]).any(axis=1) & signed)
        maybe = maybe[maybe != position]
        candidates = block.rows[maybe]
        equal = candidates == row
        banded = equal[:, : bands * band_rows].reshape(len(maybe), bands, band_rows)
        similarity = np.count_nonzero(equal, axis=1) / self.num_perm
        keep = (
            banded.all(axis=2).any(axis=1)
            & (similarity >= threshold)
            & (candidates != _EMPTY).any(axis=1)
        )
        title = block.titles[position]
        return [
            (block.keys[other], value)
            for other, value in zip(maybe[keep].tolist(), similarity[keep].tolist(), strict=True)
            if titles_overlap(title, block.titles[other], title_overlap)
        ]


def titles_overlap(first: frozenset[str], second: frozenset[str], share: float) -> bool:
    """Whether the shorter title has at least `share` of its words in the other (any titles
    when share ≤ 0)."""
    if share <= 0:
        return True
    shorter = min(len(first), len(second))
    return shorter > 0 and len(first & second) / shorter >= share


def duplicate_groups(pairs: Sequence[DuplicatePair[KeyT]]) -> list[list[KeyT]]:
    """Connected groups of the pairs (union-find), each sorted, largest first."""
    parent: dict[KeyT, KeyT] = {}

    def root(key: KeyT) -> KeyT:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for pair in pairs:
        left, right = root(pair.first), root(pair.second)
        if left != right:
            parent[max(left, right, key=str)] = min(left, right, key=str)
    groups: dict[KeyT, list[KeyT]] = {}
    for key in parent:
        groups.setdefault(root(key), []).append(key)
    ordered = [sorted(group, key=str) for group in groups.values()]
    return sorted(ordered, key=lambda group: (-len(group), str(group[0])))
