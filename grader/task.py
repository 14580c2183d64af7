"""The task a homework sets: the data, its test split, the kind of problem and the metrics.

A rubric's ``task:`` section says it; without one the task is class 195's (California Housing,
``train_test_split(X, y, test_size=0.2, random_state=42)``, regression, ``rmse_test`` and
``r2_test``). The grader uses the task twice, never touching the submission for it:

- the probe feeds the Production model the test split's first ``rows`` rows (the homework's final
  cell) and, for ``integrity.metrics``, the whole test split;
- ``integrity.metrics`` compares each metric the task names (``metrics``: logged name -> measure)
  with the same measure recomputed from those predictions.

Example (a classification homework on a data set scikit-learn ships, no network needed)::

    task:
      data: sklearn:breast_cancer      # or california_housing, or a CSV path (relative to the rubric)
      target: target                   # the column to predict
      kind: classification             # or regression
      split: {test_size: 0.25, random_state: 0, stratify: true}
      metrics: {accuracy_test: accuracy, f1_test: f1}
      rows: 5

Measures are computed from ``predict``'s output only (labels for a classifier): measures that need
probabilities (``roc_auc``, ``log_loss``) are refused when the rubric is loaded, with the reason.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RubricError

if TYPE_CHECKING:  # numpy and pandas are imported when data is read, not when a rubric is loaded
    import pandas as pd

KINDS = ("regression", "classification")
#: Data sets scikit-learn ships inside its wheel (``sklearn.datasets.load_*``): no download.
SKLEARN_DATASETS = ("iris", "wine", "breast_cancer", "diabetes")
SHIPPED = "california_housing"


def _rmse(y, p) -> float:
    return math.sqrt(float(((y - p) ** 2).mean()))


def _r2(y, p) -> float:
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - p) ** 2).sum()) / total if total else math.nan


def _sk(name: str, **kwargs) -> Callable[[Any, Any], float]:
    def measure(y, p) -> float:
        from sklearn import metrics

        return float(getattr(metrics, name)(y, p, **kwargs))

    return measure


#: Regression measures: name -> f(y_true, y_pred) on float arrays.
REGRESSION: dict[str, Callable[[Any, Any], float]] = {
    "rmse": _rmse,
    "mse": lambda y, p: float(((y - p) ** 2).mean()),
    "mae": lambda y, p: float(abs(y - p).mean()),
    "r2": _r2,
    "mape": _sk("mean_absolute_percentage_error"),
}
#: Classification measures on labels: name -> f(y_true, y_pred). ``f1``, ``precision`` and
#: ``recall`` are binary with two classes (the positive one the greater label) and macro-averaged
#: otherwise, as a course would compute them with scikit-learn's defaults on 0/1 targets.
CLASSIFICATION: dict[str, Callable[[Any, Any], float]] = {
    "accuracy": _sk("accuracy_score"),
    "balanced_accuracy": _sk("balanced_accuracy_score"),
    "f1": _sk("f1_score"),
    "f1_macro": _sk("f1_score", average="macro"),
    "f1_weighted": _sk("f1_score", average="weighted"),
    "precision": _sk("precision_score", zero_division=0),
    "precision_macro": _sk("precision_score", average="macro", zero_division=0),
    "recall": _sk("recall_score", zero_division=0),
    "recall_macro": _sk("recall_score", average="macro", zero_division=0),
}
#: Measures a rubric may name that the probe cannot compute (it sees ``predict``'s output only).
NEEDS_PROBABILITIES = ("roc_auc", "log_loss", "average_precision", "brier")
_BINARY_ONLY = ("f1", "precision", "recall")

TASK_KEYS = ("data", "target", "features", "kind", "split", "test_file", "metrics", "rows", "flavors")
#: MLflow model flavours the probe can load without running the model's own code (see grader.probe.scan).
#: ``xgboost`` and ``lightgbm`` need their library where the grader runs (the extras
#: ``mlflow-grader[xgboost]``, ``mlflow-grader[lightgbm]``); without it the probe says how to install it.
FLAVORS = ("sklearn", "xgboost", "lightgbm")
#: ``pyfunc``: a custom ``mlflow.pyfunc.PythonModel`` (a model whose only flavour is
#: ``python_function``). Loading one runs the student's own code, so a rubric must name it (it is
#: not accepted by default) and the probe loads it only when grading with ``--trust-pickles``: in the
#: same sandbox, which holds whatever the model's code does. Without it the model is the grader's
#: error ("grade with --trust-pickles"), not the student's fail.
OPT_IN_FLAVORS = ("pyfunc",)
KNOWN_FLAVORS = FLAVORS + OPT_IN_FLAVORS
#: Flavours a course may name that the probe cannot load at all: refused when the rubric loads.
UNSUPPORTED_FLAVORS = ("catboost", "pytorch", "tensorflow", "keras", "onnx", "python_function")
SPLIT_KEYS = ("test_size", "random_state", "stratify", "shuffle")


@dataclass(frozen=True)
class Task:
    """What the homework asks the model to do, and on which rows it is judged."""

    data: str = SHIPPED
    target: str = "MedHouseVal"
    features: tuple[str, ...] = ()  # () = every column but the target
    kind: str = "regression"
    test_size: float = 0.2
    random_state: int | None = 42
    stratify: bool = False
    shuffle: bool = True
    test_file: str = ""  # a CSV of the test rows (target included) instead of a split
    #: Logged metric name -> measure (:data:`REGRESSION` or :data:`CLASSIFICATION`), in order.
    metrics: tuple[tuple[str, str], ...] = (("rmse_test", "rmse"), ("r2_test", "r2"))
    rows: int = 5
    #: The MLflow flavours the graded model may have (``sklearn``, ``xgboost``, ``lightgbm``, and
    #: ``pyfunc`` when a rubric names it, see :data:`OPT_IN_FLAVORS`): a model of another is refused
    #: before it is loaded, with the rubric's rule in the message.
    flavors: tuple[str, ...] = FLAVORS
    #: The test rows are the whole data set, no split (``grade rubric init`` predicts them all once to
    #: find which split reproduces a reference's logged metrics; never set by a rubric).
    whole_data: bool = False
    #: Where relative paths (``data``, ``test_file``) are found: the rubric's folder.
    base: str = field(default="", compare=True)

    @property
    def measures(self) -> dict[str, Callable[[Any, Any], float]]:
        return REGRESSION if self.kind == "regression" else CLASSIFICATION

    def metric_names(self) -> list[str]:
        return [name for name, _ in self.metrics]

    def split(self) -> tuple[pd.DataFrame, pd.Series]:
        """``X_test, y_test``: the rows the Production model is judged on."""
        return _split(self)

    def test_rows(self, n: int | None = None) -> pd.DataFrame:
        """The first ``n`` rows of the test split (default: ``rows``), as the final cell predicts them."""
        return self.split()[0].head(self.rows if n is None else n)

    def score(self, predictions: Sequence[Any], y_true: pd.Series) -> dict[str, Any] | None:
        """Each metric of the task on ``predictions`` of the whole test split: ``{logged name: value,
        "n_rows": n, "measures": {logged name: measure}}``; None when the predictions cannot be
        scored (a value that is not a number for a regression, a count that differs)."""
        import numpy as np

        if len(predictions) != len(y_true):
            return None
        if self.kind == "regression":
            if not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in predictions):
                return None
            y_pred = np.asarray(predictions, dtype=float)
            y = np.asarray(y_true, dtype=float)
            if not np.all(np.isfinite(y_pred)):
                return None
        else:
            y, y_pred = _labels(y_true, predictions)
        out: dict[str, Any] = {}
        for name, measure in self.metrics:
            try:
                value = self.measures[measure](y, y_pred)
            except (ValueError, TypeError, ZeroDivisionError):
                return None
            out[name] = value
        out["n_rows"] = len(y)
        out["measures"] = dict(self.metrics)
        return out


def _labels(y_true: pd.Series, predictions: Sequence[Any]) -> tuple[Any, Any]:
    """Both as numbers when both are numbers (``1`` and ``1.0`` are the same class), else as text."""
    import numpy as np

    def numeric(values) -> bool:
        return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)

    truth = list(y_true)
    if numeric(truth) and numeric(predictions):
        return np.asarray(truth, dtype=float), np.asarray(predictions, dtype=float)
    return np.asarray([str(v) for v in truth], dtype=object), np.asarray([str(v) for v in predictions], dtype=object)


DEFAULT_TASK = Task()


# --------------------------------------------------------------------------- data


@lru_cache(maxsize=4)
def load_frame(data: str, base: str = "") -> pd.DataFrame:
    """The whole data set ``data`` names (``california_housing``, ``sklearn:NAME``, a CSV path read
    from ``base``), target column included; cached."""
    import pandas as pd

    if data == SHIPPED:
        with resources.files("grader").joinpath("data/california_housing.csv.gz").open("rb") as fh:
            return pd.read_csv(fh, compression="gzip", float_precision="round_trip")
    if data.startswith("sklearn:"):
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{data.split(':', 1)[1]}")(as_frame=True)
        return bunch.frame
    return _read_csv(data, base)


def _read_csv(path: str, base: str) -> pd.DataFrame:
    import pandas as pd

    where = Path(path) if Path(path).is_absolute() or not base else Path(base) / path
    compression = "gzip" if where.name.endswith(".gz") else None
    return pd.read_csv(where, compression=compression, float_precision="round_trip")


@lru_cache(maxsize=4)
def _split(task: Task) -> tuple[pd.DataFrame, pd.Series]:
    frame = load_frame(task.data, task.base)
    features = list(task.features) or [c for c in frame.columns if c != task.target]
    if task.test_file:
        test = _read_csv(task.test_file, task.base)
        return test[features], test[task.target]
    from sklearn.model_selection import train_test_split

    x, y = frame[features], frame[task.target]
    if task.whole_data:
        return x, y
    _, x_test, _, y_test = train_test_split(
        x,
        y,
        test_size=task.test_size,
        random_state=task.random_state,
        shuffle=task.shuffle,
        stratify=y if task.stratify else None,
    )
    return x_test, y_test


# --------------------------------------------------------------------------- the rubric's task: section


def _unknown(key: str, known: Sequence[str], where: str) -> RubricError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})"
    return RubricError(f"{where}: unknown key {key!r}{hint}")


def parse_task(raw: Any, base: str = "", where: str = "rubric") -> Task:
    """The rubric's ``task:`` section as a :class:`Task`, every value checked; None: class 195's task."""
    if raw is None:
        return DEFAULT_TASK
    where = f"{where}: task"
    if not isinstance(raw, Mapping):
        raise RubricError(f"{where}: expected a mapping (data, target, kind, split, metrics, rows)")
    for key in raw:
        if key not in TASK_KEYS:
            raise _unknown(str(key), TASK_KEYS, where)
    data = str(raw.get("data", SHIPPED))
    if data.startswith("sklearn:") and data.split(":", 1)[1] not in SKLEARN_DATASETS:
        raise RubricError(
            f"{where}.data: {data!r} is not a data set scikit-learn ships "
            f"(sklearn:{', sklearn:'.join(SKLEARN_DATASETS)}); or give a CSV path"
        )
    kind = str(raw.get("kind", "regression"))
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RubricError(f"{where}.kind: {kind!r} is not one of {', '.join(KINDS)}{hint}")
    default_target = "MedHouseVal" if data == SHIPPED else "target"
    target = str(raw.get("target", default_target))
    features = raw.get("features") or ()
    if not isinstance(features, (list, tuple)) or not all(isinstance(f, str) for f in features):
        raise RubricError(f"{where}.features: expected a list of column names")
    split = raw.get("split") or {}
    if not isinstance(split, Mapping):
        raise RubricError(f"{where}.split: expected a mapping (test_size, random_state, stratify, shuffle)")
    for key in split:
        if key not in SPLIT_KEYS:
            raise _unknown(str(key), SPLIT_KEYS, f"{where}.split")
    test_size = split.get("test_size", 0.2)
    if (
        isinstance(test_size, bool)
        or not isinstance(test_size, (int, float))
        or test_size <= 0
        or (isinstance(test_size, float) and test_size >= 1)
    ):
        raise RubricError(f"{where}.split.test_size: expected a fraction (0.2) or a number of rows, got {test_size!r}")
    random_state = split.get("random_state", 42)
    if random_state is not None and (isinstance(random_state, bool) or not isinstance(random_state, int)):
        raise RubricError(f"{where}.split.random_state: expected an integer or null, got {random_state!r}")
    for flag in ("stratify", "shuffle"):
        if flag in split and not isinstance(split[flag], bool):
            raise RubricError(f"{where}.split.{flag}: expected true or false")
    default_metrics = dict(DEFAULT_TASK.metrics) if kind == "regression" else {"accuracy_test": "accuracy"}
    metrics = raw.get("metrics", default_metrics)
    if not isinstance(metrics, Mapping) or not metrics:
        raise RubricError(f"{where}.metrics: expected a mapping of logged metric -> measure ({{rmse_test: rmse}})")
    measures = REGRESSION if kind == "regression" else CLASSIFICATION
    for name, measure in metrics.items():
        if measure in NEEDS_PROBABILITIES:
            raise RubricError(
                f"{where}.metrics.{name}: {measure!r} needs predicted probabilities, and the grader "
                f"sees only the model's predict() output; use one of {', '.join(measures)}"
            )
        if measure not in measures:
            close = difflib.get_close_matches(str(measure), list(measures), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RubricError(
                f"{where}.metrics.{name}: {measure!r} is not a {kind} measure{hint}; known: {', '.join(measures)}"
            )
    flavors = raw.get("flavors", list(FLAVORS))
    if not isinstance(flavors, list) or not flavors or not all(isinstance(f, str) for f in flavors):
        raise RubricError(f"{where}.flavors: expected a list of MLflow flavours ({', '.join(KNOWN_FLAVORS)})")
    for flavor in flavors:
        if flavor in UNSUPPORTED_FLAVORS:
            hint = " (a custom PythonModel: say pyfunc)" if flavor == "python_function" else ""
            raise RubricError(
                f"{where}.flavors: {flavor} models cannot be loaded by the grader{hint}; "
                f"accepted: {', '.join(KNOWN_FLAVORS)}"
            )
        if flavor not in KNOWN_FLAVORS:
            close = difflib.get_close_matches(flavor, KNOWN_FLAVORS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise RubricError(
                f"{where}.flavors: {flavor!r} is not an MLflow flavour the grader knows{hint}; "
                f"accepted: {', '.join(KNOWN_FLAVORS)}"
            )
    rows = raw.get("rows", 5)
    if isinstance(rows, bool) or not isinstance(rows, int) or not 1 <= rows <= 1000:
        raise RubricError(f"{where}.rows: expected a number of rows from 1 to 1000, got {rows!r}")
    task = Task(
        data=data,
        target=target,
        features=tuple(features),
        kind=kind,
        test_size=float(test_size) if isinstance(test_size, float) else int(test_size),
        random_state=random_state,
        stratify=bool(split.get("stratify", False)),
        shuffle=bool(split.get("shuffle", True)),
        test_file=str(raw.get("test_file") or ""),
        metrics=tuple((str(k), str(v)) for k, v in metrics.items()),
        rows=rows,
        flavors=tuple(flavors),
        base=base if _reads_files(data, str(raw.get("test_file") or "")) else "",
    )
    _validate_data(task, where)
    return task


def _reads_files(data: str, test_file: str) -> bool:
    """Whether the task reads a CSV (whose relative path is the rubric folder's)."""
    return bool(test_file) or not (data == SHIPPED or data.startswith("sklearn:"))


def _validate_data(task: Task, where: str) -> None:
    """Load the data once now, so that a wrong path or column is the rubric's error, not every student's."""
    try:
        x_test, y_test = task.split()
    except FileNotFoundError as exc:
        raise RubricError(f"{where}: data file not found: {exc.filename}") from None
    except KeyError as exc:
        raise RubricError(f"{where}: column {exc} is not in the data") from None
    except (ValueError, OSError) as exc:
        raise RubricError(f"{where}: the data cannot be split: {exc}") from None
    if task.kind == "classification" and any(m in _BINARY_ONLY for _, m in task.metrics) and y_test.nunique() > 2:
        binary = [n for n, m in task.metrics if m in _BINARY_ONLY]
        raise RubricError(
            f"{where}.metrics: {', '.join(binary)} are binary measures and the target has "
            f"{y_test.nunique()} classes; use f1_macro, precision_macro or recall_macro"
        )
    if len(x_test) < task.rows:
        raise RubricError(f"{where}.rows: the test split has only {len(x_test)} rows")


__all__ = ["CLASSIFICATION", "DEFAULT_TASK", "KINDS", "REGRESSION", "Task", "load_frame", "parse_task"]
