"""California Housing, shipped with the grader (no network needed), and the homework's split.

Class 195's task (:data:`grader.task.DEFAULT_TASK`); a rubric's ``task:`` names another
(:mod:`grader.task`).
"""

from __future__ import annotations

import pandas as pd

from .task import DEFAULT_TASK, SHIPPED, load_frame

TARGET = DEFAULT_TASK.target
FEATURES = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"]
TEST_SIZE = DEFAULT_TASK.test_size
RANDOM_STATE = DEFAULT_TASK.random_state


def housing() -> pd.DataFrame:
    """The data set exactly as ``fetch_california_housing(as_frame=True)`` returns it (20,640 rows)."""
    return load_frame(SHIPPED, "")


def test_split() -> tuple[pd.DataFrame, pd.Series]:
    """``X_test, y_test`` of ``train_test_split(X, y, test_size=0.2, random_state=42)`` (4,128 rows)."""
    return DEFAULT_TASK.split()


def test_rows(n: int = 5) -> pd.DataFrame:
    """The first ``n`` rows of the test split, as the homework's final cell predicts them."""
    return DEFAULT_TASK.test_rows(n)
