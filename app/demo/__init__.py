"""SYNTHETIC demo data for `make run`, demos and benchmarks: seeded, deterministic, invented.

Every record's external_id starts with ``syn-``; see SYNTHETIC_NOTICE.
"""

from app.demo.generator import (
    DEFAULT_SEED,
    GRADUATE_FIELDS,
    JOB_FIELDS,
    KEYONGTAI_COMPANY,
    KEYONGTAI_JOB_EXTERNAL_ID,
    SYNTHETIC_NOTICE,
    ZHONGBO_AGENCY,
    DemoDataset,
    generate_demo,
    generate_graduates,
    generate_jobs,
    make_keyongtai_job,
)
from app.demo.vocabulary import major_classes

__all__ = [
    "DEFAULT_SEED",
    "GRADUATE_FIELDS",
    "JOB_FIELDS",
    "KEYONGTAI_COMPANY",
    "KEYONGTAI_JOB_EXTERNAL_ID",
    "SYNTHETIC_NOTICE",
    "ZHONGBO_AGENCY",
    "DemoDataset",
    "generate_demo",
    "generate_graduates",
    "generate_jobs",
    "major_classes",
    "make_keyongtai_job",
]
