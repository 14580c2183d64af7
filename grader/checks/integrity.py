"""Integrity checks: do the logged numbers and times tell the truth about the submission?

These never accuse: a mismatch says what was found and by how much, and names the innocent
explanation when the numbers are consistent with one (another train/test split, a clock).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

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
    messages=(
        "ok",
        "mismatch",
        "other_split",
        "logged_mse",
        "not_logged",
        "no_test_metrics",
        "not_probed",
        "probe_failed",
        "no_production",
        "no_run",
    ),
    needs=("runs", "registry", "probe", "test_split"),
)
def integrity_metrics(ev: Evidence, s: Settings) -> Outcome:
    """The Production run's logged metrics that the rubric's task names (class 195: ``rmse_test``
    and ``r2_test``) match what the Production model gives when the sandboxed probe predicts the
    task's whole test split (class 195: California Housing, ``train_test_split(X, y,
    test_size=0.2, random_state=42)``, 4,128 rows), within a relative tolerance ``rel_tol``. The
    texts get ``{compared}`` (every metric, logged vs recomputed) and ``{mismatched}``; with an
    ``rmse`` and an ``r2`` measure also ``{rmse_logged}``, ``{r2_pct}``... When both differ but the
    pair (rmse, r2) is consistent with a test set
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
    if not isinstance(recomputed, dict):
        return skipped("no_test_metrics")
    measures = recomputed.get("measures") or {"rmse_test": "rmse", "r2_test": "r2"}
    names = [k for k in measures if k in recomputed]
    if not names or not all(_finite(recomputed.get(k)) for k in names):
        return skipped("no_test_metrics")
    run = ev.run(version.run_id)
    if run is None:
        return skipped("no_run", version=version.version, run_id=version.run_id or "-")
    logged = {k: run.metrics.get(k) for k in names}
    lacking = [k for k in names if not _finite(logged[k])]
    if lacking:
        return skipped("not_logged", run=run.label, metrics=lacking)
    rel, abs_ = float(s["rel_tol"]), float(s["abs_tol"])
    n_rows = recomputed.get("n_rows", "?")
    diffs: dict[str, dict[str, float]] = {}
    for k in names:
        value = logged[k]
        assert value is not None  # _finite: not lacking
        lg, rc = float(value), float(recomputed[k])
        diffs[k] = {"logged": lg, "recomputed": rc, "diff": lg - rc, "rel": (lg - rc) / abs(rc) if rc else math.inf}
    ok = {k: _close(d["logged"], d["recomputed"], rel, abs_) for k, d in diffs.items()}
    evidence = {
        "run_id": run.run_id,
        "version": version.version,
        "n_rows": n_rows,
        "metrics": {k: {kk: round(vv, 6) if _finite(vv) else None for kk, vv in d.items()} for k, d in diffs.items()},
    }
    params: dict[str, Any] = {
        "run": run.label,
        "version": version.version,
        "n_rows": n_rows,
        "rel_tol": f"{rel:g}",
        # every metric of the task, for a rubric's own texts: "accuracy_test 0.9510 vs 0.9580 (-0.73%)"
        "compared": "; ".join(
            f"{k} {d['logged']:.4f} vs {d['recomputed']:.4f} ({_pct(d['rel'])})" for k, d in diffs.items()
        ),
        "mismatched": [k for k in names if not ok[k]],
    }
    # rmse_logged, r2_pct...: the texts of regression rubrics (whatever the logged names are)
    by_measure = {m: k for k, m in measures.items() if k in diffs}
    for measure in ("rmse", "r2"):
        if measure in by_measure:
            d = diffs[by_measure[measure]]
            params.update(
                {
                    f"{measure}_logged": f"{d['logged']:.4f}",
                    f"{measure}_recomputed": f"{d['recomputed']:.4f}",
                    f"{measure}_diff": f"{d['diff']:+.4f}",
                    f"{measure}_pct": _pct(d["rel"]),
                }
            )
    if all(ok.values()):
        return passed(evidence=evidence, **params)
    severity = str(s["severity"])
    if "rmse" in by_measure:
        rmse = diffs[by_measure["rmse"]]
        if not ok[by_measure["rmse"]] and _close(rmse["logged"], rmse["recomputed"] ** 2, rel, abs_):
            return _by(severity, "logged_mse", evidence=evidence, **params)
        if "r2" in by_measure and not any(ok.values()):
            r2 = diffs[by_measure["r2"]]
            v_logged = _implied_variance(rmse["logged"], r2["logged"])
            v_canonical = _implied_variance(rmse["recomputed"], r2["recomputed"])
            if v_logged and v_canonical:
                ratio = v_logged / v_canonical
                evidence["variance_ratio"] = round(ratio, 4)
                if abs(ratio - 1) <= float(s["split_variance_tol"]):
                    return warned("other_split", evidence=evidence, **params)
    return _by(severity, "mismatch", evidence=evidence, **params)


def _pct(rel: float) -> str:
    return f"{100 * rel:+.2f}%" if math.isfinite(rel) else "-"


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
            for what, ms in (
                ("creation_timestamp", v.creation_timestamp),
                ("last_updated_timestamp", v.last_updated_timestamp),
            ):
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
    late = [
        f"{label}: {what} {_when(ms)}" for label, (what, ms) in sorted(latest_by_label.items(), key=lambda i: -i[1][1])
    ]
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
