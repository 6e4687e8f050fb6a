"""The change cursor: which change ids a worker has applied, and when a refit is due."""

from __future__ import annotations

from app.matching.change_log import ChangeCursor
from app.matching.refit import AUTO_REFIT_MIN_CHANGES, AUTO_REFIT_SHARE, is_refit_due


def test_the_cursor_moves_over_contiguous_ids_only() -> None:
    cursor = ChangeCursor(3)
    assert cursor.unseen([2, 3, 4, 5, 7]) == [4, 5, 7]
    cursor.mark([4, 7])
    # 5 is not applied yet: the cursor stops below it and remembers 7.
    assert cursor.low == 4 and cursor.seen == {7}
    assert cursor.unseen([5, 6, 7]) == [5, 6]
    cursor.mark([5, 6])
    assert cursor.low == 7 and cursor.seen == set()


def test_a_refit_is_due_after_a_share_of_the_documents_changed() -> None:
    small, large = 100, 10 * int(AUTO_REFIT_MIN_CHANGES / AUTO_REFIT_SHARE)
    assert not is_refit_due(changes_since_fit=AUTO_REFIT_MIN_CHANGES - 1, documents=small)
    assert is_refit_due(changes_since_fit=AUTO_REFIT_MIN_CHANGES, documents=small)
    share = int(AUTO_REFIT_SHARE * large)
    assert not is_refit_due(changes_since_fit=share - 1, documents=large)
    assert is_refit_due(changes_since_fit=share, documents=large)
