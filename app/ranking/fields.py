"""Marked token lists: a document's fields in one list, each opened by a marker token, with
their weights, and the term counts of every field of every list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from functools import cache
from itertools import repeat
from typing import Any

import numpy as np
import scipy.sparse as sp

from app.ranking.arrays import Int64Array as IntArray
from app.ranking.documents import GraduateTextFields, JobTextFields, TextFields

# Opens a field in a token list: FIELD_MARK + "side.field". The tokenizer drops every token
# without a word character, so no real token can start with this control character.
FIELD_MARK = "\x1f"
JOB_SIDE = "job"
GRADUATE_SIDE = "graduate"
# The field of a token list that has no markers.
UNMARKED = ""
# Fields whose tokens are character n-grams, and the prefix that keeps those apart from words.
NGRAM_FIELD_SUFFIX = "_ngrams"
NGRAM_PREFIX = "~"
# The field of every weighted text's character n-grams, when the character channel is on.
CHAR_CHANNEL = "text" + NGRAM_FIELD_SUFFIX
# Two and three characters: most Chinese words are two, three catches the common compounds,
# and single characters match too much.
NGRAM_RANGE = (2, 3)


def identity_analyzer(tokens: list[str]) -> list[str]:
    """Analyzer for TfidfVectorizer when documents are already token lists."""
    return tokens


def field_marker(side: str, name: str) -> str:
    """The token that opens a field."""
    return f"{FIELD_MARK}{side}.{name}"


def mark_fields(
    side: str, field_tokens: Mapping[str, list[str]], weights: Mapping[str, float]
) -> list[str]:
    """One token list of a document: each weighted, non-empty field after its marker."""
    out: list[str] = []
    for name, tokens in field_tokens.items():
        if tokens and weights.get(name, 0) > 0:
            out.append(field_marker(side, name))
            out.extend(tokens)
    return out


@cache
def field_weights_of(side_fields: JobTextFields | GraduateTextFields) -> Mapping[str, float]:
    """Field name → weight for one side (cached: asked for every document)."""
    return {name: float(weight) for name, weight in asdict(side_fields).items()}


def field_weights(fields: TextFields) -> dict[str, float]:
    """Weight of each field key ("job.title", ...); an unmarked list is one field of weight 1."""
    weights = {UNMARKED: 1.0}
    for side, side_fields in ((JOB_SIDE, fields.job), (GRADUATE_SIDE, fields.graduate)):
        for name, weight in field_weights_of(side_fields).items():
            weights[f"{side}.{name}"] = weight
        weights[f"{side}.{CHAR_CHANNEL}"] = 1.0
    return weights


def marker_codes(weights: Mapping[str, float], n_terms: int) -> dict[str, int]:
    """Code of each field marker: n_terms + the field key's position in weights."""
    return {
        field_marker(*key.split(".", 1)): n_terms + index
        for index, key in enumerate(weights)
        if key != UNMARKED
    }


def term_codes(terms: Sequence[str], weights: Mapping[str, float]) -> dict[str, int]:
    """Term → column, then each field marker → a code past the last column."""
    codes = {term: column for column, term in enumerate(terms)}
    codes.update(marker_codes(weights, len(terms)))
    return codes


def count_fields(
    token_lists: Sequence[list[str]], flat: list[str], codes: Mapping[str, int], n_terms: int
) -> tuple[sp.csr_matrix, IntArray, IntArray]:
    """Term counts of every field of every list (a piece), with each piece's list and the
    position of its field key in field_weights.

    A piece starts at each marker and at the start of each list (an unmarked list is one
    piece, key 0); tokens outside the vocabulary drop.
    """
    token_codes = np.fromiter(map(codes.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=len(token_lists))
    list_starts = np.cumsum(lengths) - lengths
    is_marker = token_codes >= n_terms
    starts_piece = is_marker.copy()
    starts_piece[list_starts[lengths > 0]] = True
    piece_of_token = np.cumsum(starts_piece) - 1
    first_tokens = np.flatnonzero(starts_piece)
    owners = np.searchsorted(list_starts, first_tokens, side="right") - 1
    piece_keys = np.where(is_marker[first_tokens], token_codes[first_tokens] - n_terms, 0)
    words = (token_codes >= 0) & ~is_marker
    counts = sp.csr_matrix(
        (
            np.ones(int(words.sum()), dtype=np.float32),
            (piece_of_token[words], token_codes[words]),
        ),
        shape=(first_tokens.size, n_terms),
    )
    counts.sum_duplicates()
    return counts, owners.astype(np.int64), piece_keys.astype(np.int64)


def job_rows(token_lists: Sequence[list[str]]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    prefix = field_marker(JOB_SIDE, "")
    return np.fromiter(
        (bool(tokens) and tokens[0].startswith(prefix) for tokens in token_lists),
        dtype=bool,
        count=len(token_lists),
    )
