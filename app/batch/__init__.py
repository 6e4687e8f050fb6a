"""Batch re-ranking and allocation: every query of one side against every candidate of the
other, exactly as the online ranker ranks them, in chunks that run in-process or on Dask."""
