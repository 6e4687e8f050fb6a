"""Our TF-IDF vectors equal scikit-learn's TfidfVectorizer on the same tokens where max_df and
min_df apply: more than MIN_DOCUMENTS_FOR_MAX_DF documents, so the production cut-off path runs."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from app.demo import generate_jobs
from app.ranking import CoherenceParams, TextModel, Tokenizer
from app.ranking.fields import identity_analyzer
from app.ranking.vectorize import MIN_DOCUMENTS_FOR_MAX_DF

N_DOCUMENTS = MIN_DOCUMENTS_FOR_MAX_DF + 60


@pytest.fixture(scope="module")
def token_lists() -> list[list[str]]:
    """Tokens of synthetic postings: boilerplate words (公司, 负责, …) in most of them."""
    tokenizer = Tokenizer(backend="jieba")
    jobs = generate_jobs(N_DOCUMENTS, seed=3)
    return [
        tokenizer.tokenize(" ".join([job["title"], *job["skills"], job["description"]]))
        for job in jobs
    ]


@pytest.mark.parametrize(
    ("max_df", "min_df", "sublinear_tf"),
    [(0.5, 1, False), (0.3, 2, True), (100, 0.01, False)],
)
def test_vectors_equal_sklearn_with_max_df(
    token_lists: list[list[str]], max_df: float | int, min_df: float | int, sublinear_tf: bool
) -> None:
    assert len(token_lists) > MIN_DOCUMENTS_FOR_MAX_DF
    reference = TfidfVectorizer(
        analyzer=identity_analyzer, max_df=max_df, min_df=min_df, sublinear_tf=sublinear_tf
    )
    expected = reference.fit_transform(token_lists)
    # max_df must drop terms here, or this test would not reach the cut-off path.
    frequency = Counter(term for tokens in token_lists for term in set(tokens))
    most = max_df if isinstance(max_df, int) else max_df * len(token_lists)
    assert any(count > most for count in frequency.values())

    model = TextModel(
        max_df=max_df,
        min_df=min_df,
        sublinear_tf=sublinear_tf,
        coherence=CoherenceParams(weight=0),
    )
    vectors = model.fit_transform_tokens(token_lists)

    assert list(model.terms_) == list(reference.get_feature_names_out())
    np.testing.assert_allclose(model.idf_, reference.idf_, rtol=1e-12)
    assert vectors.shape == expected.shape
    np.testing.assert_allclose(vectors.toarray(), expected.toarray(), atol=1e-6)
    np.testing.assert_allclose(
        model.transform_tokens(token_lists).toarray(), expected.toarray(), atol=1e-6
    )
