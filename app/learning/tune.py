"""Blend weights fitted on recorded outcomes, and the held-out figures that say whether they
rank the recorded shortlists better than the weights in use.

The model: P(positive) = σ(b + Σ βᵢ·partᵢ) over the sub-scores stored with each candidacy at
shortlist time (text cosine, major, education, city, salary), fitted with balanced class
weights and an L2 penalty on standardised parts (scikit-learn's LogisticRegression defaults),
each β constrained to be ≥ 0 (L-BFGS-B bounds; scikit-learn's solver has no sign
constraint and clipping after the fit is biased when parts are correlated). A ranking by
Σ βᵢ·partᵢ is a ranking by that probability, so the blend weights are β / β_text: the text
weight stays 1.0 and the scores keep the scale the explanations show.

Shortlists are the best few dozen of thousands, so some parts do not vary among their
candidacies (every shortlisted graduate of a 本科 posting meets its education; most want its
city). The outcomes say nothing about such a part: it keeps its current weight.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from scipy.stats import rankdata

from app.learning.outcomes import Outcome, Positive, label_of
from app.ranking import StructuredFitWeights

FloatMatrix = np.ndarray[Any, np.dtype[np.float64]]
IntVector = np.ndarray[Any, np.dtype[np.int64]]
WEIGHT_NAMES: tuple[str, ...] = tuple(field.name for field in fields(StructuredFitWeights))

# 30 of each class: with the two or three parts that vary within shortlists that is 10
# outcomes of the rarer class per fitted weight (the usual floor for stable logistic
# coefficients), and the held-out AUC's standard error falls to about 0.05. Below it the
# fitted weights are mostly noise.
MIN_OUTCOMES = 30
# A part whose standard deviation over the outcomes is below this does not vary.
MIN_SPREAD = 1e-6
# Whole requisitions are held out once there are this many; fewer cannot be split that way.
MIN_REQUISITIONS_FOR_GROUPED_FOLDS = 3
FOLDS = 5
BOOTSTRAP_SAMPLES = 1000
L2_C = 1.0


class TuneRefused(ValueError):
    """The outcomes cannot support new weights; the message says why and what would."""


@dataclass(frozen=True, slots=True)
class BlendFit:
    """Weights from one fit, with the logistic coefficients behind them."""

    weights: StructuredFitWeights
    intercept: float
    coefficients: dict[str, float]
    fitted: tuple[str, ...]
    kept: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TuneResult:
    """New weights fitted on every labelled outcome, and held-out figures for old and new."""

    positive: Positive
    positives: int
    negatives: int
    undecided: int
    requisitions: int
    before: StructuredFitWeights
    after: StructuredFitWeights
    fit: BlendFit
    validation: str
    k: int
    auc_before: float | None
    auc_after: float | None
    auc_gain_interval: tuple[float, float] | None
    precision_before: float | None
    precision_after: float | None
    folds_on_current_weights: int

    @property
    def improved(self) -> bool:
        """Whether the held-out AUC of the new weights beats the old one's."""
        return (
            self.auc_before is not None
            and self.auc_after is not None
            and self.auc_after > self.auc_before
        )

    def metrics(self) -> dict[str, Any]:
        """The figures as plain JSON values (saved with the weights as provenance)."""
        return {
            "validation": self.validation,
            "k": self.k,
            "auc_before": self.auc_before,
            "auc_after": self.auc_after,
            "auc_gain_95": list(self.auc_gain_interval) if self.auc_gain_interval else None,
            "precision_at_k_before": self.precision_before,
            "precision_at_k_after": self.precision_after,
            "folds_on_current_weights": self.folds_on_current_weights,
            "fitted": list(self.fit.fitted),
            "kept": list(self.fit.kept),
            "coefficients": self.fit.coefficients,
            "intercept": self.fit.intercept,
        }


def outcome_matrix(
    outcomes: Sequence[Outcome], positive: Positive = "hired"
) -> tuple[FloatMatrix, IntVector, IntVector, int]:
    """Parts (one row per labelled candidacy, columns WEIGHT_NAMES), labels, requisition ids,
    and the number of candidacies left out as undecided. Rows keep the order given."""
    rows, labels, groups = [], [], []
    undecided = 0
    for outcome in outcomes:
        label = label_of(outcome, positive)
        if label is None or not all(name in outcome.parts for name in WEIGHT_NAMES):
            undecided += 1
            continue
        rows.append([outcome.parts[name] for name in WEIGHT_NAMES])
        labels.append(label)
        groups.append(outcome.requisition_id)
    x = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(WEIGHT_NAMES))
    return x, np.asarray(labels, dtype=np.int64), np.asarray(groups, dtype=np.int64), undecided


def blend_scores(x: FloatMatrix, weights: StructuredFitWeights) -> np.ndarray[Any, Any]:
    """The final score of each row of parts under `weights`."""
    vector = np.array([getattr(weights, name) for name in WEIGHT_NAMES], dtype=np.float64)
    result: np.ndarray[Any, Any] = x @ vector
    return result


def fit_logistic(
    x: FloatMatrix, y: IntVector, *, c: float = L2_C, non_negative: bool = True
) -> tuple[float, np.ndarray[Any, Any]]:
    """Intercept and coefficients of an L2 logistic regression with balanced class weights,
    on standardised columns (coefficients returned in the original units); every column must
    vary. With `non_negative`, each coefficient is constrained to be ≥ 0."""
    mean, spread = x.mean(axis=0), x.std(axis=0)
    z = (x - mean) / spread
    counts = np.bincount(y, minlength=2).astype(np.float64)
    sample = (len(y) / (2.0 * counts))[y]
    target = y.astype(np.float64)

    def loss(theta: np.ndarray[Any, Any]) -> tuple[float, np.ndarray[Any, Any]]:
        margin = theta[0] + z @ theta[1:]
        value = c * float(np.sum(sample * (np.logaddexp(0.0, margin) - target * margin)))
        value += 0.5 * float(theta[1:] @ theta[1:])
        residual = c * sample * (expit(margin) - target)
        gradient = np.concatenate(([residual.sum()], z.T @ residual + theta[1:]))
        return value, gradient

    bounds = [(None, None)] + [(0.0, None) if non_negative else (None, None)] * x.shape[1]
    solved = minimize(
        loss,
        np.zeros(x.shape[1] + 1),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 1000, "gtol": 1e-10, "ftol": 1e-14},
    )
    coefficients = solved.x[1:] / spread
    intercept = float(solved.x[0] - coefficients @ mean)
    return intercept, coefficients


def fit_blend_weights(
    x: FloatMatrix, y: IntVector, current: StructuredFitWeights, *, c: float = L2_C
) -> BlendFit:
    """Blend weights from labelled parts: β / β_text for the parts that vary, the current
    weight (on the same scale) for those that do not."""
    if len(set(y.tolist())) < 2:
        raise TuneRefused("the outcomes hold only one class; nothing to tell apart")
    varying = x.std(axis=0) > MIN_SPREAD
    names = [name for name, on in zip(WEIGHT_NAMES, varying, strict=True) if on]
    if "text" not in names:
        raise TuneRefused("the text score does not vary among these outcomes")
    intercept, beta = fit_logistic(x[:, varying], y, c=c)
    coefficients = dict(zip(names, (float(value) for value in beta), strict=True))
    if coefficients["text"] <= 1e-9:
        raise TuneRefused(
            "in these outcomes a higher text score does not go with more positives, so the "
            "blend cannot be anchored on text; keep the current weights"
        )
    scale = current.text if current.text > 0 else 1.0
    values = {name: getattr(current, name) / scale for name in WEIGHT_NAMES}
    values.update({name: coefficients[name] / coefficients["text"] for name in names})
    return BlendFit(
        weights=StructuredFitWeights(**values),
        intercept=intercept,
        coefficients=coefficients,
        fitted=tuple(names),
        kept=tuple(name for name in WEIGHT_NAMES if name not in names),
    )


def grouped_auc(scores: np.ndarray[Any, Any], y: IntVector, groups: IntVector) -> float | None:
    """The share of (positive, negative) pairs of the same requisition that `scores` put in
    the right order, ties counting half; None when no requisition has both."""
    wins, pairs = 0.0, 0
    for group in np.unique(groups):
        mask = groups == group
        labels = y[mask]
        n_pos = int(labels.sum())
        n_neg = len(labels) - n_pos
        if n_pos == 0 or n_neg == 0:
            continue
        ranks = rankdata(scores[mask])
        wins += float(ranks[labels == 1].sum()) - n_pos * (n_pos + 1) / 2
        pairs += n_pos * n_neg
    return wins / pairs if pairs else None


def precision_at_k(
    scores: np.ndarray[Any, Any], y: IntVector, groups: IntVector, k: int
) -> float | None:
    """Pooled share of positives among each requisition's k best rows by `scores` (ties in
    row order)."""
    hits, taken = 0, 0
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        order = rows[np.argsort(-scores[rows], kind="stable")][:k]
        hits += int(y[order].sum())
        taken += len(order)
    return hits / taken if taken else None


def make_folds(
    y: IntVector, groups: IntVector, *, folds: int = FOLDS, seed: int = 0
) -> tuple[list[np.ndarray[Any, Any]], str]:
    """Test rows of each fold: whole requisitions when there are enough of them, else rows
    dealt out per class so every fold holds both; and a line saying which."""
    rng = random.Random(f"jobmatch-tune:{seed}")
    unique = sorted(set(groups.tolist()))
    if len(unique) >= MIN_REQUISITIONS_FOR_GROUPED_FOLDS:
        n = min(folds, len(unique))
        rng.shuffle(unique)
        fold_of = {group: number % n for number, group in enumerate(unique)}
        assignment = np.array([fold_of[group] for group in groups.tolist()])
        description = f"{n}-fold, whole requisitions held out ({len(unique)} requisitions)"
    else:
        n = max(2, min(folds, int(np.bincount(y, minlength=2).min())))
        assignment = np.zeros(len(y), dtype=np.int64)
        for label in (0, 1):
            rows = np.flatnonzero(y == label).tolist()
            rng.shuffle(rows)
            for number, row in enumerate(rows):
                assignment[row] = number % n
        description = (
            f"{n}-fold over candidacies, stratified (only {len(unique)} requisition"
            f"{'' if len(unique) == 1 else 's'}: too few to hold out whole ones)"
        )
    return [np.flatnonzero(assignment == fold) for fold in range(n)], description


def held_out_scores(
    x: FloatMatrix,
    y: IntVector,
    folds: list[np.ndarray[Any, Any]],
    current: StructuredFitWeights,
    *,
    c: float = L2_C,
) -> tuple[np.ndarray[Any, Any], int]:
    """Each row scored by weights fitted without its fold (text weight 1, so folds share a
    scale), and how many folds could not be fitted and kept the current weights."""
    scores = np.empty(len(y), dtype=np.float64)
    fallback = 0
    for test in folds:
        train = np.setdiff1d(np.arange(len(y)), test)
        try:
            weights = fit_blend_weights(x[train], y[train], current, c=c).weights
        except TuneRefused:
            weights, fallback = current, fallback + 1
        scores[test] = blend_scores(x[test], weights)
    return scores, fallback


def auc_gain_interval(
    before: np.ndarray[Any, Any],
    after: np.ndarray[Any, Any],
    y: IntVector,
    groups: IntVector,
    *,
    samples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> tuple[float, float] | None:
    """95 % bootstrap interval of AUC(after) − AUC(before), rows resampled within each
    requisition (the held-out scores stay fixed: this is the noise of the evaluation set)."""
    generator = np.random.default_rng(seed)
    members = [np.flatnonzero(groups == group) for group in np.unique(groups)]
    gains = []
    for _ in range(samples):
        rows = np.concatenate([generator.choice(m, size=len(m), replace=True) for m in members])
        old = grouped_auc(before[rows], y[rows], groups[rows])
        new = grouped_auc(after[rows], y[rows], groups[rows])
        if old is not None and new is not None:
            gains.append(new - old)
    if not gains:
        return None
    low, high = np.percentile(gains, [2.5, 97.5])
    return float(low), float(high)


def tune_weights(
    outcomes: Sequence[Outcome],
    current: StructuredFitWeights,
    *,
    positive: Positive = "hired",
    min_outcomes: int = MIN_OUTCOMES,
    k: int = 30,
    seed: int = 0,
) -> TuneResult:
    """Fit new blend weights on the labelled outcomes and compare them with `current` on
    held-out folds; TuneRefused when there are too few outcomes of either class."""
    x, y, groups, undecided = outcome_matrix(outcomes, positive)
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives < min_outcomes or negatives < min_outcomes:
        noun = "hires" if positive == "hired" else "candidacies that reached the interview"
        raise TuneRefused(
            f"not enough outcomes to tune: {positives} {noun} and {negatives} negatives "
            f"(rejected or withdrawn) recorded, {undecided} candidacies still undecided; "
            f"at least {min_outcomes} of each are needed, so that each fitted weight rests on "
            "about 10 outcomes of the rarer class and the held-out figures mean something"
        )
    fit = fit_blend_weights(x, y, current)
    folds, validation = make_folds(y, groups, seed=seed)
    after_scores, fallback = held_out_scores(x, y, folds, current)
    before_scores = blend_scores(x, current)
    return TuneResult(
        positive=positive,
        positives=positives,
        negatives=negatives,
        undecided=undecided,
        requisitions=len(set(groups.tolist())),
        before=current,
        after=fit.weights,
        fit=fit,
        validation=validation,
        k=k,
        auc_before=grouped_auc(before_scores, y, groups),
        auc_after=grouped_auc(after_scores, y, groups),
        auc_gain_interval=auc_gain_interval(before_scores, after_scores, y, groups, seed=seed),
        precision_before=precision_at_k(before_scores, y, groups, k),
        precision_after=precision_at_k(after_scores, y, groups, k),
        folds_on_current_weights=fallback,
    )


def weights_dict(weights: StructuredFitWeights) -> dict[str, float]:
    """Weights as a plain dict in WEIGHT_NAMES order."""
    values = asdict(weights)
    return {name: float(values[name]) for name in WEIGHT_NAMES}
