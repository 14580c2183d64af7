"""Reusable helpers for the test suite (no pytest fixtures here; see conftest.py).

* :func:`tree_digest` -- a digest of a folder (paths, bytes, symlink targets, modes) to prove that
  something stayed read-only.
* :func:`load_fixtures_modules` -- the repo's ``fixtures`` package (or the installed
  ``grader.fixtures``).
* :func:`mlflow_rules` -- the homework's rules evaluated with the REAL MLflow client on a store
  (use it on a copy only: MLflow writes into file stores and migrates 2.x databases).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import os
import stat
import sys
import warnings
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("file", "sqlite")
LAYOUTS = ("3.x", "2.x")
V2_STORES_DIR = REPO_ROOT / "fixtures" / "stores" / "mlflow-2.22"
EXPERIMENT_NAME = "homework-195"
MODEL_NAME = "housing-best"
REQUIRED_PARAMS = ("model_type",)
REQUIRED_METRICS = ("rmse_test", "r2_test")

# The rules of homework 195, in the order a grader would report them.
RULES = (
    "experiment_name",         # an experiment called homework-195 exists
    "enough_runs",             # >= 10 active runs in it
    "run_fields",              # every active run has model_type, rmse_test, r2_test and a model
    "registered_model",        # housing-best exists
    "production_stage",        # it has a version in Production
    "production_is_best",      # search_runs top row run_id == Production version's run_id
    "production_model_loads",  # the Production model loads and predicts 5 rows
)

# Which rule each variant breaks (exactly one; rules that cannot be evaluated are None).
EXPECTED_BROKEN_RULE = {
    "reference": None,
    "too_few_runs": "enough_runs",
    "missing_metric": "run_fields",
    "wrong_experiment_name": "experiment_name",
    "no_registered_model": "registered_model",
    "staging_only": "production_stage",
    "production_not_best": "production_is_best",
    "deleted_best_run": "production_is_best",
    "broken_model_file": "production_model_loads",
}


def tree_digest(path) -> str:
    """sha256 over every entry under ``path``: relative path, kind, permission bits, file bytes
    and symlink targets (symlinks are not followed). Equal digests mean an untouched tree."""
    root = Path(path)
    h = hashlib.sha256()
    entries = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            entries.append(Path(dirpath) / name)
    h.update(f"root mode={stat.S_IMODE(os.lstat(root).st_mode):o}\0".encode())
    for p in sorted(entries, key=lambda q: q.relative_to(root).as_posix()):
        rel = p.relative_to(root).as_posix()
        st = os.lstat(p)
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            h.update(f"L {rel} {mode:o} -> {os.readlink(p)}\0".encode())
        elif stat.S_ISDIR(st.st_mode):
            h.update(f"D {rel} {mode:o}\0".encode())
        elif stat.S_ISREG(st.st_mode):
            h.update(f"F {rel} {mode:o} {st.st_size}\0".encode())
            with open(p, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            h.update(b"\0")
        else:
            h.update(f"O {rel} {mode:o} {stat.S_IFMT(st.st_mode)}\0".encode())
    return h.hexdigest()


def load_fixtures_modules():
    """(reference_solution, variants) from the repo's ``fixtures/`` (preferred, it is what the
    tests are about) or from the installed ``grader.fixtures``."""
    if (REPO_ROOT / "fixtures" / "variants.py").is_file():
        if str(REPO_ROOT) not in sys.path:
            sys.path.insert(0, str(REPO_ROOT))
        pkg = "fixtures"
    else:
        pkg = "grader.fixtures"
    return (importlib.import_module(f"{pkg}.reference_solution"),
            importlib.import_module(f"{pkg}.variants"))


def tracking_uri_for(root) -> str:
    root = Path(root).resolve()
    if (root / "mlflow.db").is_file():
        return f"sqlite:///{root}/mlflow.db"
    return f"file:{root}/mlruns"


def split_test_rows(n: int = 5):
    """The first ``n`` rows of the homework's test split (features only)."""
    return _test_split_features().iloc[:n]


@functools.lru_cache(maxsize=1)
def _test_split_features():
    import pandas as pd
    from sklearn.model_selection import train_test_split

    data = REPO_ROOT / "grader" / "data" / "california_housing.csv.gz"
    kwargs = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    df = pd.read_csv(data, **kwargs)
    X, y = df.drop(columns=["MedHouseVal"]), df["MedHouseVal"]
    _, Xte, _, _ = train_test_split(X, y, test_size=0.2, random_state=42)
    return Xte


@contextlib.contextmanager
def quiet_mlflow():
    """Silence the warnings loading old models prints (InconsistentVersionWarning x 200...)."""
    import logging

    loggers = [logging.getLogger(n) for n in ("mlflow", "alembic")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, lv in zip(loggers, levels):
                lg.setLevel(lv)


def mlflow_rules(root, *, load_model: bool = True) -> dict:
    """Evaluate :data:`RULES` on the store in ``root`` with the real MLflow client.

    Returns ``{"rules": {rule: True/False/None}, "top_run_id", "production": {...}, ...}``.
    Run-level rules use the experiment named homework-195 or, failing that, the only other
    experiment, so that a renamed experiment breaks only ``experiment_name``. Whether a run has a
    model and where the Production model lives are derived from the folder layout (the absolute
    paths inside a moved store are stale). Needs ``MLFLOW_ALLOW_FILE_STORE=true`` for file stores.
    Use on a COPY only.
    """
    from mlflow.entities import ViewType
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    _, variants = load_fixtures_modules()
    uri = tracking_uri_for(root)
    rules = dict.fromkeys(RULES)
    out = {"rules": rules, "tracking_uri": uri}
    from grader.evidence.reader import global_tracking_uri

    # MLflow 3's file registry resolves a version's LoggedModel with a default MlflowClient():
    # without a global tracking URI that client creates ./mlflow.db in the current directory.
    with quiet_mlflow(), global_tracking_uri(uri):
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        exp = client.get_experiment_by_name(EXPERIMENT_NAME)
        rules["experiment_name"] = exp is not None
        if exp is None:
            others = [e for e in client.search_experiments(view_type=ViewType.ALL)
                      if e.name != "Default"]
            exp = others[0] if len(others) == 1 else None
        runs = []
        if exp is not None:
            out["experiment_id"] = exp.experiment_id
            runs = client.search_runs([exp.experiment_id], order_by=["metrics.rmse_test ASC"],
                                      max_results=1000)
        out["active_run_ids"] = [r.info.run_id for r in runs]
        out["top_run_id"] = runs[0].info.run_id if runs else None
        rules["enough_runs"] = len(runs) >= 10

        view = variants.open_store(root, exp.name if exp is not None else EXPERIMENT_NAME)
        try:
            layout_runs = {r.run_id: r for r in view.runs()}
            missing = {}
            for r in runs:
                lacks = [p for p in REQUIRED_PARAMS if p not in r.data.params]
                lacks += [m for m in REQUIRED_METRICS if m not in r.data.metrics]
                rec = layout_runs.get(r.info.run_id)
                model_dirs = [view.logged_model_dir(m) for m in (rec.model_ids if rec else [])]
                model_dirs.append(view.run_artifact_dir(r.info.run_id) / "model")
                if not any((d / "MLmodel").is_file() for d in model_dirs):
                    lacks.append("model")
                if lacks:
                    missing[r.info.run_id] = lacks
            out["missing_fields"] = missing
            rules["run_fields"] = bool(runs) and not missing

            try:
                client.get_registered_model(MODEL_NAME)
                rules["registered_model"] = True
            except MlflowException:
                rules["registered_model"] = False
            prod = None
            if rules["registered_model"]:
                out["versions"] = {
                    int(v.version): {"stage": v.current_stage, "run_id": v.run_id,
                                     "source": v.source}
                    for v in client.search_model_versions(f"name='{MODEL_NAME}'")
                }
                latest = client.get_latest_versions(MODEL_NAME, stages=["Production"])
                prod = latest[0] if latest else None
                rules["production_stage"] = prod is not None
            if prod is not None:
                out["production"] = {"version": int(prod.version), "run_id": prod.run_id,
                                     "source": prod.source}
                rules["production_is_best"] = prod.run_id == out["top_run_id"]
                vrec = next(v for v in view.versions() if v.version == int(prod.version))
                model_dir = view.version_model_dir(vrec)
                out["production_model_dir"] = str(model_dir)
                if load_model:
                    rules["production_model_loads"] = _loads_and_predicts(model_dir, out)
        finally:
            view.close()
    return out


def _loads_and_predicts(model_dir: Path, out: dict) -> bool:
    import mlflow.pyfunc

    try:
        model = mlflow.pyfunc.load_model(str(model_dir))
        preds = model.predict(split_test_rows(5))
        out["predictions"] = [float(v) for v in list(preds)]
        return len(out["predictions"]) == 5
    except Exception as exc:  # noqa: BLE001 - any failure to load is the finding
        out["load_error"] = f"{type(exc).__name__}: {exc}"[:500]
        return False


def broken_rules(result: dict) -> set:
    return {k for k, v in result["rules"].items() if v is False}
