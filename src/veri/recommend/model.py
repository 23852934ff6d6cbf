"""The ROI model: gradient-boosted trees on the log of the return, with a split-conformal 80%
interval, and a prior for creators memory knows nothing about.

The trees learn the log of the revenue a deal brings (return x fee), not of the return itself:
what an audience buys does not depend on the fee paid for it, so a prediction at any fee is
revenue / fee, and ranking creators at one fee is not an extrapolation the trees never saw.
And relative to the creator's reach (log views per post, the `OFFSET` feature) when they see it:
reach sets the scale of what an audience buys, so the trees learn the multiplier that memory
knows of (how well this creator's audience converts, for this brand), and the fine order of
reach survives their coarse steps.
Log space, because revenue is multiplicative (audience x fit x conversion) and so is its noise;
the point prediction is the median (exp of the predicted log), which is also what "within
+-25%" rewards. The interval is split conformal: the 80th percentile of the absolute log
residuals on a calibration slice the trees never saw, so ~80% of new returns fall inside when
the future looks like the calibration slice (`coverage` in the metrics checks that it does).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import joblib
import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor
from threadpoolctl import ThreadpoolController

__all__ = ["LOG_FLOOR", "Prediction", "RoiModel", "score_predictions"]

LOG_FLOOR = 0.01  # returns of 0 (no sale) are read as 0.01x, so their log is finite
OFFSET = "log_views_per_post"
COVERAGE = 0.8
# Predictions run on one OpenMP thread: a request's few thousand rows gain nothing from more,
# and on a small machine serving several requests the threads only fight (p95 x10 in bench).
_THREADS = ThreadpoolController()


@dataclass(frozen=True)
class Prediction:
    roi: float
    low: float
    high: float
    prior: bool = False  # a cold-start guess: no outcome of this creator is known


class RoiModel:
    def __init__(self, features: Sequence[str], *, seed: int = 0):
        self.features = list(features)
        self.seed = seed
        self.trees: HistGradientBoostingRegressor | None = None
        self.half_width = math.log(4.0)  # until calibrated: a factor of 4 either way
        self.cold_half_width = math.log(6.0)
        self.prior_log = 0.0
        self.prior_half_width = math.log(6.0)

    def fit(
        self,
        rows: Sequence[Sequence[float]],
        rois: Sequence[float],
        fees: Sequence[float],
        known: Sequence[bool] | None = None,
    ) -> RoiModel:
        """Fit on the earlier 80% of `rows` (in decision order), calibrate on the latest 20%:
        creators with a known outcome and cold-start ones each get their own width."""
        x = np.asarray(rows, dtype=float)
        log_fee = np.log(np.maximum(np.asarray(fees, dtype=float), 1.0))
        y = np.log(np.maximum(np.asarray(rois, dtype=float), LOG_FLOOR)) + log_fee - self._offset(x)  # per reach
        warm = np.asarray(known if known is not None else [True] * len(y), dtype=bool)
        cut = max(1, int(len(y) * 0.8))
        log_roi = y + self._offset(x) - log_fee
        self.prior_log = float(np.median(log_roi))
        self.prior_half_width = _conformal(np.abs(log_roi - self.prior_log))
        self.trees = HistGradientBoostingRegressor(
            max_iter=200,
            learning_rate=0.05,
            max_leaf_nodes=15,
            min_samples_leaf=10,
            l2_regularization=1.0,
            random_state=self.seed,
        ).fit(x[:cut], y[:cut])
        if cut < len(y):
            residuals = np.abs(y[cut:] - self.trees.predict(x[cut:]))  # the offset cancels out
            self.half_width = _conformal(residuals)
            cold = residuals[~warm[cut:]]
            self.cold_half_width = _conformal(cold) if len(cold) >= 10 else max(self.half_width, self.prior_half_width)
            warm_residuals = residuals[warm[cut:]]
            if len(warm_residuals) >= 10:
                self.half_width = _conformal(warm_residuals)
            # The trees then learn from every row; the calibrated widths stay (slightly wide).
            self.trees.fit(x, y)
        return self

    def predict(
        self, rows: Sequence[Sequence[float]], fees: Sequence[float], *, known: Sequence[bool] | None = None
    ) -> list[Prediction]:
        """One prediction per row at its fee; a row whose creator has no known outcome (`known`
        False) gets the cold-start width, calibrated on such rows."""
        if self.trees is None:
            raise RuntimeError("the model is not fitted")
        if not len(rows):
            return []
        x = np.asarray(rows, dtype=float)
        with _THREADS.limit(limits=1, user_api="openmp"):
            trees = self.trees.predict(x)
        logs = trees + self._offset(x) - np.log(np.maximum(np.asarray(fees, float), 1.0))
        out = []
        for index, value in enumerate(logs):
            cold = known is not None and not known[index]
            width = self.cold_half_width if cold else self.half_width
            out.append(Prediction(math.exp(value), math.exp(value - width), math.exp(value + width), cold))
        return out

    def _offset(self, x: np.ndarray) -> np.ndarray:
        if OFFSET not in self.features:
            return np.zeros(len(x))
        return np.asarray(x[:, self.features.index(OFFSET)], dtype=float)

    def prior(self) -> Prediction:
        """What is known of any deal before anything of this one is: the median return, wide."""
        return Prediction(
            math.exp(self.prior_log),
            math.exp(self.prior_log - self.prior_half_width),
            math.exp(self.prior_log + self.prior_half_width),
            True,
        )

    def dumps(self) -> bytes:
        buffer = io.BytesIO()
        joblib.dump(self, buffer)
        return buffer.getvalue()

    @staticmethod
    def loads(blob: bytes) -> RoiModel:
        # Our own bytes from our own table (written by `dumps`), never a client's upload.
        model = joblib.load(io.BytesIO(blob))
        if not isinstance(model, RoiModel):
            raise TypeError("the stored blob is not an ROI model")
        return model


def _conformal(residuals: np.ndarray) -> float:
    """The split-conformal half width: the ceil((n + 1) * 0.8) / n quantile of the residuals."""
    if len(residuals) == 0:
        return math.log(6.0)
    level = min(1.0, math.ceil((len(residuals) + 1) * COVERAGE) / len(residuals))
    return float(np.quantile(residuals, level))


def score_predictions(predicted: Sequence[Prediction | float], realised: Sequence[float]) -> dict[str, float | None]:
    """The issue's scores: accuracy (realised within +-25% of the prediction), Spearman, MAE,
    and, for interval predictions, coverage and the median width ratio (high / low)."""
    from scipy.stats import spearmanr

    points = np.asarray([p.roi if isinstance(p, Prediction) else p for p in predicted], dtype=float)
    actual = np.asarray(realised, dtype=float)
    if len(actual) == 0:
        return {"n": 0}
    scores = {
        "n": len(actual),
        "accuracy": float(np.mean(np.abs(actual - points) <= 0.25 * points)),
        "spearman": float(spearmanr(points, actual).statistic) if len(actual) > 2 else float("nan"),
        "mae": float(np.mean(np.abs(actual - points))),
    }
    intervals = [p for p in predicted if isinstance(p, Prediction)]
    if len(intervals) == len(actual):
        low = np.asarray([p.low for p in intervals])
        high = np.asarray([p.high for p in intervals])
        scores["coverage"] = float(np.mean((actual >= low) & (actual <= high)))
        scores["width_ratio"] = float(np.median(high / np.maximum(low, 1e-9)))
    # NaN (Spearman of a constant) is not JSON: stored and shown as null.
    return {k: (None if math.isnan(v) else round(v, 4)) if isinstance(v, float) else v for k, v in scores.items()}
