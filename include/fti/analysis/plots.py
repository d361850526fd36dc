"""PNG charts of a model analysis, logged as MLflow artifacts next to its numbers.

matplotlib is imported inside each function with the non-interactive Agg backend: the charts are
drawn in Airflow workers without a display, and importing this module stays cheap. Every function
writes one file, closes its figure (a worker draws many charts over its life) and returns the path.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

MAX_POINTS = 200_000
"""Points drawn in :func:`predicted_vs_actual`: a sample this big shows the shape of millions."""
SAMPLE_SEED = 0
"""Fixed, so the same rows give the same chart."""
TOP_FEATURES = 20


def predicted_vs_actual(actual: np.ndarray, predicted: np.ndarray, path: str | Path) -> Path:
    """Hexbin of predicted against actual demand on log1p axes, with the diagonal of perfect forecasts.

    log1p because demand is heavy-tailed and mostly 0 or small; negative predictions are drawn at 0.
    At most :data:`MAX_POINTS` rows, sampled with :data:`SAMPLE_SEED`.
    """
    actual = np.asarray(actual, dtype="float64").ravel()
    predicted = np.asarray(predicted, dtype="float64").ravel()
    if len(actual) > MAX_POINTS:
        pick = np.random.default_rng(SAMPLE_SEED).choice(len(actual), MAX_POINTS, replace=False)
        actual, predicted = actual[pick], predicted[pick]
    x, y = np.log1p(np.maximum(actual, 0.0)), np.log1p(np.maximum(predicted, 0.0))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 6))
    try:
        if len(x):
            hexes = ax.hexbin(x, y, gridsize=60, bins="log", mincnt=1, cmap="viridis")
            fig.colorbar(hexes, ax=ax, label="rows")
            top = float(max(x.max(), y.max(), 1.0))
            ax.plot([0, top], [0, top], color="red", linewidth=1, label="perfect forecast")
            ax.legend(loc="upper left")
        else:
            ax.text(0.5, 0.5, "no rows", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("actual demand, log1p(units)")
        ax.set_ylabel("predicted demand, log1p(units)")
        ax.set_title(f"Predicted vs actual ({len(x):,} rows)")
        return _save(fig, path)
    finally:
        plt.close(fig)


def error_by_slice(
    table: pd.DataFrame, path: str | Path, title: str, overall_wape: float | None = None
) -> Path:
    """Horizontal bars of WAPE per slice of a :func:`fti.analysis.slices.slice_metrics` table.

    A vertical line marks the overall WAPE (by default the demand-weighted mean of the slices'
    WAPEs, which is the overall WAPE when the slices cover every row); flagged slices, when the
    table has a ``flagged`` column, are drawn in red.
    """
    wape = table["wape"].to_numpy(dtype="float64")
    demand = table["actual_sum"].to_numpy(dtype="float64")
    scored = np.isfinite(wape) & (demand > 0)
    if overall_wape is None and scored.any():
        overall_wape = float((wape[scored] * demand[scored]).sum() / demand[scored].sum())
    flagged = np.zeros(len(table), bool)
    if "flagged" in table.columns:
        flagged = table["flagged"].to_numpy(dtype=bool)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.3 * len(table) + 1.5)))
    try:
        positions = np.arange(len(table))
        ax.barh(positions, np.nan_to_num(wape), color=np.where(flagged, "tab:red", "tab:blue"))
        ax.set_yticks(positions, labels=table["slice"].astype(str).tolist())
        ax.invert_yaxis()
        if overall_wape is not None and np.isfinite(overall_wape):
            ax.axvline(overall_wape, color="black", linestyle="--", label=f"overall {overall_wape:.3f}")
            ax.legend(loc="lower right")
        ax.set_xlabel("WAPE")
        ax.set_title(title)
        return _save(fig, path)
    finally:
        plt.close(fig)


def feature_importance(importances: Mapping[str, float], path: str | Path) -> Path:
    """Horizontal bars of the :data:`TOP_FEATURES` most important features, most important on top."""
    top = sorted(importances.items(), key=lambda item: item[1], reverse=True)[:TOP_FEATURES]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.3 * len(top) + 1.5)))
    try:
        if top:
            ax.barh(np.arange(len(top)), [float(v) for _, v in top], color="tab:blue")
            ax.set_yticks(np.arange(len(top)), labels=[name for name, _ in top])
            ax.invert_yaxis()
        else:
            ax.text(0.5, 0.5, "no importances", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("importance")
        ax.set_title(f"Feature importance (top {len(top)})")
        return _save(fig, path)
    finally:
        plt.close(fig)


def _pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg backend (no display in a worker)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG at ``path`` (creating its folder) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(target, format="png", dpi=100)
    return target
