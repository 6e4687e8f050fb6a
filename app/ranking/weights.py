"""What each part of a score is worth: the blend's weights and the levels of major fit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class StructuredFitWeights:
    """final = text·t + major·major fit + education·edu fit + city·city fit + salary·fit, every
    part in [0, 1] (t the calibrated text part, see app.ranking.scoring).

    Major 2 makes each step of the major order (MajorFitLevels, steps of 1/4) worth half the
    best eligible text match: a graduate passes one a level above only with a text closer by
    half the best match, and never one two levels above, which is a recruiter's order with text
    deciding within a level and between neighbours (README, "The blend"). Education, city and
    salary are hard filters by default; a second say in the score would count the same fact
    twice, so they weigh nothing until `jobmatch tune` learns a weight for them from outcomes.
    """

    text: float = 1.0
    major: float = 2.0
    education: float = 0.0
    city: float = 0.0
    salary: float = 0.0


@dataclass(frozen=True, slots=True)
class MajorFitLevels:
    """Major fit by relation, in a recruiter's order: a major the posting lists (any of them),
    a major of a listed major's class, of a related class, no major stated (or a posting that
    lists none), an unrelated major.

    The values are the order itself in equal steps (4/4 … 0/4): nothing measured says one step
    matters more than another, and how far a step moves a ranking is the major weight's job.
    """

    same_major: float = 1.0
    same_class: float = 0.75
    related_class: float = 0.5
    unknown: float = 0.25
    unrelated: float = 0.0

    def name_of(self, value: float) -> str:
        """The relation a major part stands for ("listed major", …): the first level with
        this value, strongest first."""
        for name, level in (
            ("listed major", self.same_major),
            ("same class", self.same_class),
            ("related class", self.related_class),
            ("no major to compare", self.unknown),
            ("unrelated major", self.unrelated),
        ):
            if np.isclose(value, level):
                return name
        return "custom"
