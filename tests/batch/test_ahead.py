"""Snapshots taken ahead (grader.batch.ahead): the same verdicts as each student's own snapshot, in
the pool's order, bounded, and whatever goes wrong ahead leaves the student to take their own."""

from __future__ import annotations

import csv
import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from grader.batch import BatchOptions, grade_batch
from grader.batch import run as batch_run
from grader.batch.ahead import Ahead
from helpers import V2_STORES_DIR, load_fixtures_modules, tree_digest

_, variants = load_fixtures_modules()


class _Copy:
    """What an opener returns: a store that knows whether it was closed."""

    def __init__(self, slug: str, size: int = 0) -> None:
        self.slug, self.copied_bytes, self.closed = slug, size, False

    def close(self) -> None:
        self.closed = True


def _tasks(n: int) -> list[dict]:
    return [{"slug": f"s{i}", "path": f"/nowhere/s{i}"} for i in range(n)]


def _wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_tasks_are_taken_in_order_and_handed_once():
    order: list[str] = []
    opened: dict[str, _Copy] = {}

    def opener(task):
        order.append(task["slug"])
        opened[task["slug"]] = _Copy(task["slug"])
        return opened[task["slug"]]

    tasks = _tasks(5)
    with Ahead(tasks, opener) as ahead:
        _wait(lambda: len(order) == 5)
        claimed = [ahead.claim(t) for t in tasks]
    assert order == [t["slug"] for t in tasks]
    assert [c["opened"] for c in claimed] == [opened[t["slug"]] for t in tasks]
    assert ahead.handed == 5
    assert not any(c.closed for c in opened.values()), "a handed copy is the student's to close"
    assert all("opened" not in t for t in tasks), "the pool's own tasks are not changed"


def test_what_fails_ahead_is_left_to_the_student():
    def opener(task):
        if task["slug"] == "s1":
            raise RuntimeError("broken on purpose")
        if task["slug"] == "s2":
            raise SystemExit(3)  # anything at all
        return _Copy(task["slug"])

    tasks = _tasks(4)
    with Ahead(tasks, opener) as ahead:
        time.sleep(0.2)
        claimed = [ahead.claim(t) for t in tasks]
    assert ["opened" in c for c in claimed] == [True, False, False, True]
    assert claimed[1] == tasks[1] and claimed[2] == tasks[2]


def test_a_hanging_copy_costs_the_wait_only_and_is_removed_when_it_ends():
    release = threading.Event()
    late = _Copy("s0")

    def opener(task):
        release.wait(30)
        return late

    ahead = Ahead(_tasks(2), opener, claim_wait=0.3).start()
    _wait(lambda: ahead._state["s0"] == "taking")
    started = time.monotonic()
    assert "opened" not in ahead.claim({"slug": "s0"})  # waited, then the student takes their own
    assert 0.25 <= time.monotonic() - started < 5
    release.set()
    _wait(lambda: late.closed)  # claimed meanwhile: nobody else will remove it
    ahead.close()


def test_copies_held_ahead_are_bounded_and_unclaimed_ones_removed():
    made: list[_Copy] = []

    def opener(task):
        made.append(_Copy(task["slug"], size=100))
        return made[-1]

    tasks = _tasks(10)
    ahead = Ahead(tasks, opener, max_bytes=250).start()
    _wait(lambda: len(made) == 3)
    time.sleep(0.2)
    assert len(made) == 3, "past the bytes held ahead"
    assert "opened" in ahead.claim(tasks[0])
    _wait(lambda: len(made) == 4)
    ahead.close()
    assert [c.closed for c in made] == [False, True, True, True]
    ahead2 = Ahead(tasks, opener, max_held=2).start()
    _wait(lambda: len(made) == 6)
    time.sleep(0.2)
    assert len(made) == 6, "past the copies held ahead"
    ahead2.close()


def test_then_runs_once_every_task_is_taken_and_its_failure_is_nobodys():
    order: list[str] = []

    def then():
        order.append("then")
        raise RuntimeError("a warm-up that fails")

    tasks = _tasks(3)
    with Ahead(tasks, lambda task: order.append(task["slug"]) or _Copy(task["slug"]), then=then) as ahead:
        _wait(lambda: "then" in order)
        assert all("opened" in ahead.claim(t) for t in tasks)
    assert order == ["s0", "s1", "s2", "then"]


def test_a_claimed_task_is_never_taken():
    taken: list[str] = []
    gate = threading.Event()

    def opener(task):
        gate.wait(10)
        taken.append(task["slug"])
        return _Copy(task["slug"])

    tasks = _tasks(3)
    ahead = Ahead(tasks, opener).start()
    _wait(lambda: ahead._state["s0"] == "taking")
    assert ahead.claim(tasks[1]) == tasks[1] and ahead.claim(tasks[2]) == tasks[2]  # still pending: the student's
    gate.set()
    assert "opened" in ahead.claim(tasks[0])
    ahead.close()
    assert taken == ["s0"]


# --------------------------------------------------------------------------- a real class, both ways


@pytest.fixture(scope="module")
def klass(tmp_path_factory, reference_builds):
    subs = tmp_path_factory.mktemp("ahead") / "submissions"
    subs.mkdir()
    shutil.copytree(Path(reference_builds["file"]["out_dir"]), subs / "alice")
    shutil.copytree(Path(reference_builds["file"]["out_dir"]), subs / "alice_twin")  # copy detection, both ways
    shutil.copytree(Path(reference_builds["sqlite"]["out_dir"]), subs / "bob")
    variants.make_variant(V2_STORES_DIR / "file", subs / "dave", "missing_metric")
    (subs / "eve").mkdir()  # no store: an error, the same one whoever takes the snapshot
    (subs / "frank").mkdir()
    (subs / "frank" / "mlflow.db").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 40)
    return subs


def _grade(subs: Path, out: Path, rubric, ahead: bool, monkeypatch) -> dict:
    handed = []

    class Counting(Ahead):
        def close(self) -> None:
            super().close()
            handed.append(self.handed)

    monkeypatch.setattr(batch_run, "Ahead", Counting)
    grade_batch(subs, out, options=BatchOptions(rubric=rubric, jobs=2, lang="en", snapshots_ahead=ahead))
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    reports = {}
    for folder in sorted((out / "students").iterdir()):
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        reports[folder.name] = [(c["id"], c["status"], c["points"], c["message"]) for c in report["checks"]]
    return {"rows": rows, "reports": reports, "handed": handed}


def test_a_class_graded_ahead_gets_the_same_verdicts(klass, tmp_path, core_rubric_file, monkeypatch):
    before = tree_digest(klass)
    ahead = _grade(klass, tmp_path / "ahead", core_rubric_file, True, monkeypatch)
    own = _grade(klass, tmp_path / "own", core_rubric_file, False, monkeypatch)
    assert tree_digest(klass) == before, "a submission was changed"
    assert ahead["rows"] == own["rows"]
    assert ahead["reports"] == own["reports"]
    statuses = {name: row["status"] for name, row in ahead["rows"].items()}
    assert statuses == {"alice": "pass", "alice_twin": "pass", "bob": "pass", "dave": "fail", "eve": "error",
                        "frank": "error"}
    # the model digests taken ahead are the same as the student's own: the copy is found either way
    assert ahead["rows"]["alice_twin"]["suspected_copy_of"] == "alice", ahead["rows"]["alice_twin"]
    assert "identical model file" in ahead["rows"]["alice_twin"]["copy_evidence"], ahead["rows"]["alice_twin"]
    assert "no MLflow store" in ahead["rows"]["eve"]["error"]
    # Students were handed snapshots taken ahead (how many depends on how soon the pool starts: the
    # first ones may start before theirs is taken; never eve nor frank, whose snapshots fail, and
    # whose own process says why).
    assert own["handed"] == [] and ahead["handed"] and 1 <= ahead["handed"][0] <= 5, ahead["handed"]
