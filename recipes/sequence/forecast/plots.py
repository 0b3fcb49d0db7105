"""The forecast-vs-actual plot and the error by horizon step (matplotlib)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

STYLES = {"model": ("tab:orange", "-"), "seasonal_naive": ("tab:gray", "--"), "linear_ar": ("tab:green", ":")}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def forecast_vs_actual(report: dict, path: Path) -> None:
    data, plt = report["plot"], _pyplot()
    fig, ax = plt.subplots(figsize=(11, 4))
    steps = np.arange(len(data["actual"]))
    ax.plot(steps, data["actual"], color="black", linewidth=1, label="actual")
    ax.axvline(data["test_from"], color="black", alpha=0.3)
    for name, values in data["forecasts"].items():
        colour, line = STYLES.get(name, ("tab:blue", "-"))
        for i, (origin, forecast) in enumerate(zip(data["origins"], values)):
            ax.plot(origin + np.arange(len(forecast)), forecast, color=colour, linestyle=line,
                    label=name.replace("_", " ") if i == 0 else None)  # fmt: skip
    ticks = np.linspace(0, len(steps) - 1, 6).astype(int)
    ax.set_xticks(ticks, [data["times"][i][:10] for i in ticks])
    ax.set_ylabel(data["target"])
    ax.set_title(f"Forecasts from every {report['horizon']}th origin of the test part (MASE {report['mase']:.3f})")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def error_by_step(report: dict, path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    rows = {"model": report["mae_by_step"], **{k: v["mae_by_step"] for k, v in report["baselines"].items()}}
    for name, values in rows.items():
        colour, line = STYLES.get(name, ("tab:blue", "-"))
        ax.plot(np.arange(1, len(values) + 1), values, color=colour, linestyle=line, label=name.replace("_", " "))
    ax.set_xlabel("steps ahead")
    ax.set_ylabel("MAE")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
