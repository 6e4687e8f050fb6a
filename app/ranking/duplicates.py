"""Near-duplicate documents: MinHash signatures of token shingles (datasketch), candidate pairs
from locality-sensitive hashing, and groups of documents linked by near-identical text."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Generic, TypeVar

from datasketch import LeanMinHash, MinHash, MinHashLSH

KeyT = TypeVar("KeyT", bound=Hashable)

# A fixed seed: signatures of the same text are equal across processes and runs.
SEED = 1


def shingles(tokens: Sequence[str]) -> set[str]:
    """Words and word pairs: pairs keep the order that a bag of words loses."""
    grams = set(tokens)
    grams.update(f"{left} {right}" for left, right in zip(tokens, tokens[1:], strict=False))
    return grams


def signatures(token_lists: Sequence[Sequence[str]], *, num_perm: int) -> list[LeanMinHash]:
    """One MinHash signature per document (an empty document gets an empty signature)."""
    hashed = MinHash.bulk(
        [[gram.encode("utf-8") for gram in shingles(tokens)] for tokens in token_lists],
        num_perm=num_perm,
        seed=SEED,
    )
    return [LeanMinHash(minhash) for minhash in hashed]


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
        if self.titles_ is None or self.title_overlap <= 0:
            return True
        first, second = self.titles_[left], self.titles_[right]
        shorter = min(len(first), len(second))
        return shorter > 0 and len(first & second) / shorter >= self.title_overlap

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
