"""Statistical forecasters fitted with statsforecast, as functions of a context window.

Each method is fitted once per target on the training part (parameters: smoothing weights, ARIMA coefficients, the
theta line); a forecast from a window of history then reuses those parameters and re-reads only the window, as
statsforecast's own ``forward`` does: ETS and Theta start from the initial states that fit the window best (least
squares), ARIMA runs its Kalman filter over the window with the window's mean in place of the fitted one.

With the parameters fixed, every method here is affine in the window (additive ETS only: statsforecast's
``restrict`` leaves no multiplicative season beside additive errors), and shifts and scales with it. So a window's
forecast is ``weights @ window + bias``: ``operator`` measures that map from statsforecast's own recursions, the
served model is that one matrix (no statsforecast, no torch), and export checks it against the recursions again.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

METHODS = ("seasonal_naive", "drift", "ets", "theta", "arima", "combo")
COMBO_MEMBERS = ("seasonal_naive", "ets", "theta", "arima")  # the M4 "Comb" habit, with seasonal naive beside them


def members(options: dict) -> dict[str, dict]:
    """A combination's members and each one's own options (conf/model/combo.yaml: members)."""
    found = options.get("members") or {name: {} for name in COMBO_MEMBERS}
    return {str(name): dict(found[name] or {}) for name in found}


def _seasonal(y: np.ndarray, m: int) -> bool:
    return m > 1 and len(y) > 2 * m


def _recent(y: np.ndarray, options: dict) -> np.ndarray:
    return y[-int(options.get("max_fit_steps") or len(y)) :]


def _fit_ets(y: np.ndarray, m: int, window: int, options: dict) -> dict:
    from statsforecast.models import AutoETS

    # additive errors: with `restrict` on, statsforecast then only tries additive trend and season (linear)
    season = m if _seasonal(y, m) and 2 * m <= window else 1
    model = AutoETS(season_length=season, model=str(options.get("model", "AZZ")), damped=options.get("damped"))
    fitted = model.fit(_recent(y, options)).model_
    alpha, beta, gamma, phi = (None if math.isnan(v) else float(v) for v in fitted["par"][:4])  # nan: unused
    return {"components": fitted["components"], "m": int(fitted["m"]), "alpha": alpha, "beta": beta,
            "gamma": gamma, "phi": phi, "states": int(fitted["par"][4:].size)}  # fmt: skip


def _fit_theta(y: np.ndarray, m: int, window: int, options: dict) -> dict:
    from statsforecast.theta import auto_theta

    # the seasonal test and the decomposition run once here; additive, so that the window map stays linear
    season = m if _seasonal(y, m) and 2 * m <= window else 1
    fitted = auto_theta(y, season, model=options.get("model"), decomposition_type="additive")
    par = fitted["par"]
    return {"model": fitted["modeltype"], "alpha": float(par["alpha"]), "theta": float(par["theta"]),
            "m": int(m), "decompose": bool(fitted.get("decompose", False))}  # fmt: skip


def _fit_arima(y: np.ndarray, m: int, window: int, options: dict) -> dict:
    from statsforecast.models import AutoARIMA

    # a long season (52 weeks) makes statsforecast's seasonal ARIMA take minutes; as its ETS, fit none then
    season = m if _seasonal(y, m) and m < window and m <= int(options.get("max_season", 24)) else 1
    kwargs = {key: options[key] for key in ("max_p", "max_q", "max_P", "max_Q", "stepwise") if key in options}
    model = AutoARIMA(season_length=season, allowdrift=bool(options.get("allow_drift", True)), **kwargs)
    fitted = model.fit(_recent(y, options)).model_
    return {"arma": [int(v) for v in fitted["arma"]], "coef": {k: float(v) for k, v in fitted["coef"].items()},
            "sigma2": float(fitted["sigma2"]), "method": str(model.method)}  # fmt: skip


def fit(method: str, y: np.ndarray, m: int, window: int, options: dict) -> dict:
    """The method's parameters fitted on ``y`` (the training part of one target); JSON-able."""
    if method in ("seasonal_naive", "drift"):
        return {}
    if method == "combo":  # each member fitted as its own candidate would be
        return {"members": {name: fit(name, y, m, window, own) for name, own in members(options).items()}}
    fitters = {"ets": _fit_ets, "theta": _fit_theta, "arima": _fit_arima}
    if method not in fitters:
        raise ValueError(f"unknown statistical method {method!r}")
    return fitters[method](np.asarray(y, np.float64), m, window, options)


def _refit_ets(params: dict, y: np.ndarray, options: dict) -> dict:
    error, trend, season, damped = params["components"]
    return _fit_ets(
        y, params["m"], 2 * params["m"], {**options, "model": error + trend + season, "damped": damped != "N"}
    )


def _refit_theta(params: dict, y: np.ndarray, options: dict) -> dict:
    season = params["m"] if params["decompose"] else 1  # the seasonal test is not run again when it said no
    return {**_fit_theta(y, season, 2 * season, {**options, "model": params["model"]}), "m": params["m"]}


def _refit_arima(params: dict, y: np.ndarray, options: dict) -> dict:
    from statsforecast.models import ARIMA

    p, q, big_p, big_q, m, d, big_d = params["arma"]
    method = params["method"] if params["method"] not in ("None", None) else "CSS-ML"  # AutoARIMA's final fit's
    model = ARIMA(order=(p, d, q), season_length=m, seasonal_order=(big_p, big_d, big_q), method=method,
                  include_mean="intercept" in params["coef"], include_drift="drift" in params["coef"])  # fmt: skip
    fitted = model.fit(_recent(y, options)).model_
    return {"arma": [int(v) for v in fitted["arma"]], "coef": {k: float(v) for k, v in fitted["coef"].items()},
            "sigma2": float(fitted["sigma2"]), "method": params["method"]}  # fmt: skip


def refit(method: str, params: dict, y: np.ndarray, options: dict) -> dict:
    """The model of ``params`` (its ETS components, ARIMA orders, Theta variant: the form that was validated) with
    its parameters estimated again on ``y`` (train+val): AutoGluon's refit_full. Choosing the form again on more
    data could hand the user a model nobody validated (on a short series a different ARIMA order can be far worse)."""
    if method == "combo":
        own = members(options)
        kept = params["members"].items()
        return {"members": {name: refit(name, fitted, y, own.get(name, {})) for name, fitted in kept}}
    refitters = {"ets": _refit_ets, "theta": _refit_theta, "arima": _refit_arima}
    if method not in refitters:
        return dict(params)  # seasonal naive, drift: nothing fitted
    return refitters[method](params, np.asarray(y, np.float64), options)


RCOND = 1e-9  # singular values below this share of the largest are a null direction of the initial state


def _least_squares_start(residuals: Callable[[np.ndarray, np.ndarray], np.ndarray], y: np.ndarray, size: int):
    """The initial state that minimises the one-step errors' squares; they are affine in it, so one solve. The
    Jacobian is measured on a zero series, so that it is the same for every window: a seasonal model's states have
    a null direction (a constant moved from the season to the level), which roundoff on the window's values would
    otherwise resolve differently per window (a forecast no longer linear in the window)."""
    zero = np.zeros_like(y)
    start = residuals(zero, np.zeros(size))
    jacobian = np.stack([residuals(zero, np.eye(size)[i]) - start for i in range(size)], axis=1)
    return np.linalg.lstsq(jacobian, -residuals(y, np.zeros(size)), rcond=RCOND)[0]


def _ets(params: dict, y: np.ndarray, h: int) -> np.ndarray:
    from statsforecast.ets import pegelsfcast_C, pegelsresid_C

    error, trend, season, damped = params["components"]
    alpha, beta, gamma, phi = (np.nan if params[k] is None else params[k] for k in ("alpha", "beta", "gamma", "phi"))
    fixed = {"m": params["m"], "errortype": error, "trendtype": trend, "seasontype": season,
             "damped": damped != "N", "alpha": alpha, "beta": beta, "gamma": gamma, "phi": phi,
             "nmse": 1}  # fmt: skip
    start = _least_squares_start(lambda z, x0: pegelsresid_C(z, init_state=x0, **fixed)[1], y, params["states"])
    states = pegelsresid_C(y, init_state=start, **fixed)[2]
    return pegelsfcast_C(h, {"states": states, "components": params["components"], "m": params["m"],
                             "par": [alpha, beta, gamma, phi]})  # fmt: skip


def _theta(params: dict, y: np.ndarray, h: int) -> np.ndarray:
    from statsforecast._lib import theta as _lib
    from statsforecast.theta import switch_theta
    from statsmodels.tsa.seasonal import seasonal_decompose

    m, seasonal = params["m"], np.zeros(len(y))
    if params["decompose"] and len(y) >= 2 * m:
        seasonal = seasonal_decompose(y, model="additive", period=m).seasonal
    adjusted, kind = y - seasonal, switch_theta(params["model"])
    alpha, theta = params["alpha"], params["theta"]

    def run(level: float, z: np.ndarray = adjusted):
        return _lib.pegels_resid(z, kind, float(level), alpha, theta, 1)

    level = _least_squares_start(lambda z, x0: run(x0[0], z)[1][3:], adjusted, 1)[0]  # [3:]: statsforecast's burn-in
    forecast = np.empty(h)
    _lib.forecast(run(level)[2], len(adjusted), kind, forecast, alpha, theta)
    return forecast + np.resize(seasonal[-m:], h) if params["decompose"] and len(y) >= 2 * m else forecast


def _arima(params: dict, y: np.ndarray, h: int) -> np.ndarray:
    from statsforecast.arima import forecast_arima, forward_arima

    model = _arima_model(params)
    centre = y.mean() if "intercept" in params["coef"] else 0.0
    with np.errstate(invalid="ignore"):
        forwarded = forward_arima(model, y=y - centre, method=params["method"])
    return forecast_arima(forwarded, h)["mean"] + centre


def _arima_model(params: dict) -> dict:
    """A fitted-model dict that statsforecast's `forward_arima` takes, its mean set to zero (the window's is used).
    It rebuilds a drift regressor by regressing the fitted one on time: the two steps (1, 2) give the window's own
    steps 1..n, numbered as auto_arima numbers a series."""
    coef = {key: 0.0 if key == "intercept" else value for key, value in params["coef"].items()}
    drift = np.array([[1.0], [2.0]]) if "drift" in coef else None
    return {
        "coef": coef,
        "arma": list(params["arma"]),
        "sigma2": params["sigma2"],
        "x": np.zeros(2),
        "xreg": drift,
        "lambda": None,
    }


def window_forecast(method: str, params: dict, y: np.ndarray, h: int, m: int) -> np.ndarray:
    """The next ``h`` values after the window ``y`` (1-D), by statsforecast's recursions with fixed parameters."""
    y = np.asarray(y, np.float64)
    if method == "combo":  # the equal-weight mean of the members' forecasts
        return np.mean([window_forecast(name, own, y, h, m) for name, own in params["members"].items()], axis=0)
    if method == "seasonal_naive":
        lag = m if m <= len(y) else 1
        steps = np.arange(h)
        return y[len(y) - lag * (steps // lag + 1) + steps % lag]
    if method == "drift":
        slope = (y[-1] - y[0]) / (len(y) - 1)
        return y[-1] + slope * np.arange(1, h + 1)
    return {"ets": _ets, "theta": _theta, "arima": _arima}[method](params, y, h)


def operator(method: str, params: dict, window: int, h: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(weights (h, window), bias (h,)): the forecast of any window is weights @ window + bias. Measured around a
    generic window (not zeros: statsforecast treats a constant series apart) one step at a time. A combination's
    map is the mean of its members' maps (each is affine, so their mean is the mean forecast's map)."""
    if method == "combo":
        maps = [operator(name, own, window, h, m) for name, own in params["members"].items()]
        return np.mean([w for w, _ in maps], axis=0), np.mean([b for _, b in maps], axis=0)
    base = np.random.default_rng(0).normal(size=window).cumsum()
    at_base = window_forecast(method, params, base, h, m)
    weights = np.empty((h, window))
    for step in range(window):
        probe = base.copy()
        probe[step] += 1.0
        weights[:, step] = window_forecast(method, params, probe, h, m) - at_base
    bias = at_base - weights @ base
    if not np.all(np.isfinite(weights)) or not np.all(np.isfinite(bias)):
        raise ValueError(f"{method}: the fitted model gives no finite forecast")
    return weights, bias


def describe(method: str, params: dict) -> str:
    """The fitted model in a few words, for the log."""
    if method == "combo":
        return "mean of " + " + ".join(describe(name, own) for name, own in params["members"].items())
    if method == "ets":
        return f"ETS({','.join(params['components'][:3])}{',damped' if params['components'][3] != 'N' else ''})"
    if method == "arima":
        p, q, big_p, big_q, m, d, big_d = params["arma"]
        drift = " with drift" if "drift" in params["coef"] else ""
        return f"ARIMA({p},{d},{q})({big_p},{big_d},{big_q})[{m}]{drift}"
    if method == "theta":
        return f"Theta {params['model']} (alpha {params['alpha']:.3g}, theta {params['theta']:.3g})"
    return method.replace("_", " ")
