"""The ablation: the ranker re-run over every set with one text choice changed at a time.

Each variant is a name and a change to the parameters (and whether the tokenizer keeps its
synonyms and splits compounds); add one to VARIANTS to measure a new choice. Baselines do not
change with the ranker, so they are not re-run here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from app.evaluation.pools import AgencyPool, PoolRanking, pool_parts, rank_pool_with_core
from app.evaluation.sets import LabelledSet
from app.evaluation.suite import (
    EVALUATION_FILTERS,
    evaluation_params,
    fit_ranker,
    ranker_run,
    score_runs,
)
from app.ranking import MajorTable, RankerParams, Tokenizer


@dataclass(frozen=True, slots=True)
class Variant:
    """One choice changed: `change` maps the parameters in use to the variant's."""

    name: str
    change: Callable[[RankerParams], RankerParams]
    synonyms: bool = True
    split_compounds: bool = True

    def params(self, base: RankerParams) -> RankerParams:
        """The variant's parameters on top of `base`."""
        return self.change(base)

    def tokenizer(self, params: RankerParams) -> Tokenizer | None:
        """The variant's tokenizer (None: the ranker's default)."""
        if self.synonyms and self.split_compounds:
            return None
        return Tokenizer(
            backend=params.backend,
            synonym_groups=None if self.synonyms else (),
            split_compounds=self.split_compounds,
        )


def _job_fields(**changes: float) -> Callable[[RankerParams], RankerParams]:
    def change(params: RankerParams) -> RankerParams:
        job = dataclasses.replace(params.fields.job, **changes)
        return dataclasses.replace(params, fields=dataclasses.replace(params.fields, job=job))

    return change


def _ngrams(weight: float) -> Callable[[RankerParams], RankerParams]:
    # The two n-gram fields only ever match each other, so they go together.
    def change(params: RankerParams) -> RankerParams:
        fields = params.fields
        return dataclasses.replace(
            params,
            fields=dataclasses.replace(
                fields,
                job=dataclasses.replace(fields.job, title_ngrams=weight),
                graduate=dataclasses.replace(fields.graduate, role_ngrams=weight),
            ),
        )

    return change


def _equal_fields(params: RankerParams) -> RankerParams:
    fields = params.fields
    job = dataclasses.replace(fields.job, title=1, skills=1, title_ngrams=1)
    graduate = dataclasses.replace(fields.graduate, skills=1, desired_roles=1, role_ngrams=1)
    return dataclasses.replace(
        params, fields=dataclasses.replace(fields, job=job, graduate=graduate)
    )


def _set(**changes: Any) -> Callable[[RankerParams], RankerParams]:
    return lambda params: dataclasses.replace(params, **changes)


def _coherence(weight: float) -> Callable[[RankerParams], RankerParams]:
    return lambda params: dataclasses.replace(
        params, coherence=dataclasses.replace(params.coherence, weight=weight)
    )


def _major_weight(factor: float) -> Callable[[RankerParams], RankerParams]:
    def change(params: RankerParams) -> RankerParams:
        weights = params.weights
        return dataclasses.replace(
            params, weights=dataclasses.replace(weights, major=weights.major * factor)
        )

    return change


def _text_choices_of_2026_11_30(params: RankerParams) -> RankerParams:
    """Every text choice as shipped before issue 9, on the current blend."""
    fields = params.fields
    job = dataclasses.replace(fields.job, title=3, skills=2, title_ngrams=3)
    graduate = dataclasses.replace(fields.graduate, skills=2, desired_roles=3, role_ngrams=3)
    return dataclasses.replace(
        params,
        fields=dataclasses.replace(fields, job=job, graduate=graduate),
        max_df=0.3,
        sublinear_tf=True,
        coherence=dataclasses.replace(params.coherence, weight=0.5),
    )


# Each choice both ways, whatever ships: a variant equal to the parameters in use is skipped
# (it would repeat "as shipped"). Field normalisation, BM25 weighting, the character channel and
# feedback have never shipped other than as the defaults say, so they are listed one way.
VARIANTS: tuple[Variant, ...] = (
    Variant("as shipped", lambda params: params),
    Variant("title weight 3", _job_fields(title=3)),
    Variant("title weight 1", _job_fields(title=1)),
    Variant("title/role n-grams 3", _ngrams(3)),
    Variant("no title/role n-grams", _ngrams(0)),
    Variant("all field weights 1", _equal_fields),
    Variant("no coherence weighting", _coherence(0.0)),
    Variant("max_df 0.3", _set(max_df=0.3)),
    Variant("max_df 0.5", _set(max_df=0.5)),
    Variant("max_df 1.0 (off)", _set(max_df=1.0)),
    Variant("sublinear tf", _set(sublinear_tf=True)),
    Variant("raw tf", _set(sublinear_tf=False)),
    Variant("no synonyms", lambda params: params, synonyms=False),
    Variant("compounds kept whole", lambda params: params, split_compounds=False),
    Variant("no field normalisation", _set(normalize_fields=False)),
    Variant("BM25 weighting", _set(term_weighting="bm25")),
    Variant("word + character channels", _set(char_channel=True)),
    Variant("feedback 5 docs", _set(feedback_docs=5)),
    Variant("text choices of 2026-11-30", _text_choices_of_2026_11_30),
    Variant("major weight 0", _major_weight(0.0)),
    Variant("major weight /2", _major_weight(0.5)),
    Variant("major weight x2", _major_weight(2.0)),
)


def changes_anything(variant: Variant, bases: Sequence[RankerParams]) -> bool:
    """Whether the variant differs from the parameters in use on some set."""
    return not (variant.synonyms and variant.split_compounds) or any(
        variant.params(base) != base for base in bases
    )


def run_ablation(
    sets: Sequence[LabelledSet],
    pools: Sequence[tuple[AgencyPool, PoolRanking]],
    *,
    majors: MajorTable | None = None,
    variants: Sequence[Variant] = VARIANTS,
    pool_params: RankerParams | None = None,
) -> dict[str, Any]:
    """variant → set → part → metrics of the ranker (labelled sets with the evaluation
    parameters, pools with the service's), and the seconds each variant took."""
    results: dict[str, Any] = {}
    bases = [evaluation_params(), pool_params or RankerParams()]
    for number, variant in enumerate(variants):
        if number > 0 and not changes_anything(variant, bases):
            continue
        started = time.perf_counter()
        row: dict[str, Any] = {}
        set_params = variant.params(evaluation_params())
        for labelled in sets:
            ranker = fit_ranker(
                labelled, set_params, tokenizer=variant.tokenizer(set_params), majors=majors
            )
            runs = {"ranker": ranker_run(ranker, labelled, EVALUATION_FILTERS)}
            row[labelled.name] = {
                part: values["ranker"] for part, values in score_runs(runs, labelled).items()
            }
        params = variant.params(pool_params or RankerParams())
        for pool, ranking in pools:
            ranked = rank_pool_with_core(
                ranking, params, tokenizer=variant.tokenizer(params), majors=majors
            )
            row[pool.name] = pool_parts(ranked, pool.labels)
        results[variant.name] = {"sets": row, "seconds": round(time.perf_counter() - started, 1)}
    return results
