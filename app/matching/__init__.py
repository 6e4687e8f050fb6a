"""The live match index: per-tenant rankers kept fresh from the database's change log.

`engine` (MatchEngine: catch-up, adoption, refit, status) uses `change_log` (the cursor and the
log's reads), `snapshot` (a fitted ranker with its labels, and how one is built through the
model store), `refit` (the background thread and when it is due) and `status`.
"""
