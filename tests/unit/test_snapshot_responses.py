"""Whole responses kept with a snapshot: past a full answers dict, not past a change, and
no more than their byte bound."""

from __future__ import annotations

from app.matching.snapshot import ANSWERS_KEPT, RESPONSE_BYTES_KEPT, IndexSnapshot
from app.ranking import Ranker
from app.tables import utcnow


def snapshot() -> IndexSnapshot:
    return IndexSnapshot(
        ranker=Ranker(), version="v1", fitted_at=utcnow(), fitted_change_id=0, source="fitted"
    )


def test_a_response_outlives_a_full_answers_dict_but_not_a_change() -> None:
    index = snapshot()
    index.responses.put(("response", 1), b'{"matches": []}')
    for number in range(ANSWERS_KEPT + 1):  # the last one finds the dict full and replaces it
        index.answer(("ranked", number), lambda: [])
    assert len(index.answers) == 1
    assert index.responses.get(("response", 1)) == b'{"matches": []}'
    index.forget_answers()
    assert index.responses.get(("response", 1)) is None


def test_responses_stop_at_their_byte_bound() -> None:
    index = snapshot()
    body = b"x" * (RESPONSE_BYTES_KEPT // 3)
    for number in range(4):
        index.responses.put(("response", number), body)
    kept = [number for number in range(4) if index.responses.get(("response", number))]
    assert kept == [0, 1, 2]
