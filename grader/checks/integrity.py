"""Integrity checks: do the logged numbers and times tell the truth about the submission?

These never accuse: a mismatch says what was found and by how much, and names the innocent
explanation when the numbers are consistent with one (another train/test split, a clock).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from ..evidence.model import Evidence
from .base import Outcome, Settings, check, failed, passed, skipped, warned
from .registry import production_version

#: Times before this are not plausible for an MLflow run (ms since the epoch, 2015-01-01 UTC).
EARLIEST_MS = 1_420_070_400_000


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _close(a: float, b: float, rel: float, abs_: float) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def _implied_variance(rmse: float, r2: float) -> float | None:
    """Variance of y on the split the pair (rmse, r2) was computed on: r2 = 1 - rmse^2 / var(y)."""
    if not (_finite(rmse) and _finite(r2)) or r2 >= 1:
        return None
    return rmse * rmse / (1 - r2)


def _by(fail_or_warn: str, key: str, **kwargs) -> Outcome:
    return warned(key, **kwargs) if fail_or_warn == "warn" else failed(key, **kwargs)


@check(
    "integrity.metrics",
    settings={"rel_tol": 0.001, "abs_tol": 1e-6, "split_variance_tol": 0.08, "severity": "fail"},
    messages=("ok", "mismatch", "other_split", "logged_mse", "not_logged", "no_test_metrics", "not_probed",
              "probe_failed", "no_production", "no_run"),
    needs=("runs", "registry"),
)
def integrity_metrics(ev: Evidence, s: Settings) -> Outcome:
    """The Production run's logged ``rmse_test`` and ``r2_test`` match what the Production model
    gives when the sandboxed probe predicts the canonical test split (California Housing,
    ``train_test_split(X, y, test_size=0.2, random_state=42)``, 4,128 rows), within a relative
    tolerance ``rel_tol``. When both differ but the pair (rmse, r2) is consistent with a test set
    like the canonical one (the variance of y it implies, ``rmse**2 / (1 - r2)``, within
    ``split_variance_tol`` of the canonical one: random splits agree within a few %), the message says
    the metrics were probably computed on another split (a warning, not a failure). Logging the
    MSE as ``rmse_test`` is recognised. Skipped when the probe did not recompute the metrics.

    Fix: compute the metrics of the model you log, on the split of the course, and log them as
    they come: ``Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=42)``,
    ``rmse = np.sqrt(mean_squared_error(yte, model.predict(Xte)))``,
    ``mlflow.log_metric("rmse_test", rmse)``, ``mlflow.log_metric("r2_test", r2_score(yte, ...))``.
    Never edit logged values by hand.
    """
    version = production_version(ev, s)
    if version is None:
        return skipped("no_production", model_name=s["model_name"], stage=s["stage"])
    probe = ev.probe
    if probe is None:
        return skipped("not_probed")
    if not probe.ok:
        return skipped("probe_failed", error=probe.error or "?")
    recomputed = probe.details.get("test_metrics")
    if not isinstance(recomputed, dict) or not _finite(recomputed.get("rmse_test")) or not _finite(recomputed.get("r2_test")):
        return skipped("no_test_metrics")
    run = ev.run(version.run_id)
    if run is None:
        return skipped("no_run", version=version.version, run_id=version.run_id or "-")
    names = ("rmse_test", "r2_test")
    logged = {k: run.metrics.get(k) for k in names}
    lacking = [k for k in names if not _finite(logged[k])]
    if lacking:
        return skipped("not_logged", run=run.label, metrics=lacking)
    rel, abs_ = float(s["rel_tol"]), float(s["abs_tol"])
    re_rmse, re_r2 = float(recomputed["rmse_test"]), float(recomputed["r2_test"])
    lg_rmse, lg_r2 = float(logged["rmse_test"]), float(logged["r2_test"])
    n_rows = recomputed.get("n_rows", "?")
    diffs = {
        "rmse_test": {"logged": lg_rmse, "recomputed": re_rmse, "diff": lg_rmse - re_rmse,
                      "rel": (lg_rmse - re_rmse) / re_rmse if re_rmse else math.inf},
        "r2_test": {"logged": lg_r2, "recomputed": re_r2, "diff": lg_r2 - re_r2,
                    "rel": (lg_r2 - re_r2) / abs(re_r2) if re_r2 else math.inf},
    }
    ok = {k: _close(d["logged"], d["recomputed"], rel, abs_) for k, d in diffs.items()}
    evidence = {"run_id": run.run_id, "version": version.version, "n_rows": n_rows,
                "metrics": {k: {kk: round(vv, 6) if _finite(vv) else None for kk, vv in d.items()} for k, d in diffs.items()}}
    params = {
        "run": run.label, "version": version.version, "n_rows": n_rows, "rel_tol": f"{rel:g}",
        "rmse_logged": f"{lg_rmse:.4f}", "rmse_recomputed": f"{re_rmse:.4f}",
        "rmse_diff": f"{diffs['rmse_test']['diff']:+.4f}", "rmse_pct": f"{100 * diffs['rmse_test']['rel']:+.2f}%",
        "r2_logged": f"{lg_r2:.4f}", "r2_recomputed": f"{re_r2:.4f}",
        "r2_diff": f"{diffs['r2_test']['diff']:+.4f}", "r2_pct": f"{100 * diffs['r2_test']['rel']:+.2f}%",
    }
    if all(ok.values()):
        return passed(evidence=evidence, **params)
    severity = str(s["severity"])
    if _close(lg_rmse, re_rmse * re_rmse, rel, abs_) and not ok["rmse_test"]:
        return _by(severity, "logged_mse", evidence=evidence, **params)
    v_logged, v_canonical = _implied_variance(lg_rmse, lg_r2), _implied_variance(re_rmse, re_r2)
    if not any(ok.values()) and v_logged and v_canonical:
        ratio = v_logged / v_canonical
        evidence["variance_ratio"] = round(ratio, 4)
        if abs(ratio - 1) <= float(s["split_variance_tol"]):
            return warned("other_split", evidence=evidence, **params)
    return _by(severity, "mismatch", evidence=evidence, **params)


def _some(items: list[str], most: int = 8) -> str:
    return "; ".join(items[:most]) + (f"; ... (+{len(items) - most})" if len(items) > most else "")


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    try:
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return str(ms)


@check(
    "integrity.timeline",
    settings={"severity": "warn", "clock_skew_minutes": 10, "deadline": None},
    messages=("ok", "ok_deadline", "implausible", "late", "no_runs", "bad_deadline"),
    needs=("runs", "registry"),
)
def integrity_timeline(ev: Evidence, s: Settings) -> Outcome:
    """Runs have plausible times (an end not before the start, nothing before 2015 nor in the
    future beyond ``clock_skew_minutes``), and, when a deadline is given (``grade --deadline
    2026-06-30T23:59``, or the setting ``deadline``), no run started or ended and no registry
    change (a model version created, or updated: stage transitions and alias moves update it)
    happened after it. Reported as ``severity`` (warn by default: a clock can be wrong).

    Fix: do the work before the deadline and hand in the store as it was then; do not edit
    ``start_time``/``end_time`` by hand. If your computer's clock is wrong, fix it and rerun the
    notebook, or tell the instructor.
    """
    deadline = ev.deadline_ms
    if deadline is None and s.get("deadline") not in (None, ""):
        from ..deadline import parse_deadline

        try:
            deadline = parse_deadline(s["deadline"])
        except ValueError as exc:
            return Outcome("error", "bad_deadline", {"deadline": str(s["deadline"]), "error": str(exc)})
    now = ev.graded_at_ms
    skew = int(float(s["clock_skew_minutes"]) * 60_000)
    odd: list[str] = []
    stamps = []  # (label, kind, ms)
    for run in ev.runs:
        start, end = run.start_time, run.end_time
        if start is not None and end is not None and end < start:
            odd.append(f"{run.label}: end_time {_when(end)} < start_time {_when(start)}")
        for what, ms in (("start_time", start), ("end_time", end)):
            if ms is not None:
                stamps.append((run.label, what, ms))
        if run.status.upper() == "FINISHED" and start is None:
            odd.append(f"{run.label}: start_time = None")
    for model in ev.registered_models:
        if model.name != s["model_name"]:
            continue
        for v in model.versions:
            for what, ms in (("creation_timestamp", v.creation_timestamp), ("last_updated_timestamp", v.last_updated_timestamp)):
                if ms is not None:
                    stamps.append((f"{v.name} v{v.version}", what, ms))
    latest_by_label: dict[str, tuple[str, int]] = {}
    for label, what, ms in stamps:
        if ms < EARLIEST_MS:
            odd.append(f"{label}: {what} {_when(ms)} < 2015")
        elif now is not None and ms > now + skew:
            odd.append(f"{label}: {what} {_when(ms)} > {_when(now)}")
        elif deadline is not None and ms > deadline and ms >= latest_by_label.get(label, ("", -1))[1]:
            latest_by_label[label] = (what, ms)
    late = [f"{label}: {what} {_when(ms)}" for label, (what, ms) in sorted(latest_by_label.items(), key=lambda i: -i[1][1])]
    if not ev.runs and not stamps:
        return skipped("no_runs", experiment=ev.experiment_name)
    severity = str(s["severity"])
    evidence = {"implausible": odd, "after_deadline": late, "deadline_ms": deadline}
    latest = max((ms for _, _, ms in stamps), default=None)
    common = {"deadline": _when(deadline), "latest": _when(latest)}
    if odd:
        return _by(severity, "implausible", evidence=evidence, n=len(odd), problems=_some(odd), **common)
    if late:
        return _by(severity, "late", evidence=evidence, n=len(late), problems=_some(late), **common)
    return passed("ok" if deadline is None else "ok_deadline", evidence=evidence, n=len(stamps), **common)
