"""Learning from outcomes: recorded pipeline events become labels for the shortlists that
produced them (precision@k and recall against hires) and for the blend weights `jobmatch tune`
fits.

Submodules are imported explicitly (`app.learning.outcomes`, `.tune`, `.report`). The tuned
weights themselves are kept by app.model_store, where the match engine reads them.
"""
