"""jobmatch: a job-matching recommender for Chinese graduate recruitment."""

__version__ = "0.1.0"
