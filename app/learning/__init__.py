"""Learning from outcomes: recorded pipeline events become labels for the shortlists that
produced them (precision@k and recall against hires) and for the blend weights `jobmatch tune`
fits.

Submodules are imported explicitly (`app.learning.outcomes`, `.tune`, `.weights`, `.report`):
the match engine reads tuned weights through `app.learning.weights` and should not pay for the
rest.
"""
