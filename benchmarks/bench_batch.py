#!/usr/bin/env python
"""Benchmark of batch grading (a script, not a test). Run from the repository root::

    python benchmarks/bench_batch.py [--n 40] [--jobs 2] [--base DIR | --train-rows N]
                                     [--backend file|sqlite] [--scale 100,300,1000] [--write]

What it measures, in the same run and on the same machine:

1. A class of ``--n`` copies of the reference submission (``fixtures/reference_solution.py``): each
   copy gets fresh run ids and logged-model ids (rewritten consistently in folder names, metadata,
   tags and the registry; the absolute paths inside point at the copy), so no two students share a
   run id. Their model files stay byte-identical: copy detection takes a file found in many
   submissions as the assignment's common outcome, not as evidence (as a seeded sweep would be).
2. **naive**: the loop an instructor would write: for each student, one fresh ``python -c`` that
   copies the submission to a private temp folder, imports MLflow, runs the acceptance criterion
   (``search_runs`` ordered by rmse_test, ``get_latest_versions(stage Production)``, compare run ids),
   loads ``models:/housing-best/Production`` and predicts 5 test rows.
3. **batch**: ``grade --batch CLASS --out OUT -j JOBS`` as a user runs it (a fresh process: its own
   imports and fork server included), with the full default rubric and the sandboxed probe; and
   again with the rubric minus ``integrity.metrics``, whose probe predicts 5 rows, not 4,128.
4. **floor**: in this one warm process (MLflow imported, one untimed warm-up load), the time to
   load each student's Production model folder with ``mlflow.pyfunc.load_model`` and predict 5 rows;
   and again predicting the whole test split, as the grader's probe does for ``integrity.metrics``.
5. **single**: one ``grade SUBMISSION`` against one naive run on the same student (medians of 5,
   interleaved).
6. **scale** (``--scale``): one file store with 100, 300, 1,000 runs (run folders and their logged
   models cloned with new ids from a small reference), graded in a warm process with the probe off.

``--write`` writes the figures to ``benchmarks/RESULTS.md`` (``RESULTS-sqlite.md`` with ``--backend
sqlite``). The targets of issue 4 (2 cores, class of 40): batch >= 5x faster than naive, single grade
<= 1.2x naive; issue 11's: batch <= 1.4x the floor; issue 13's, for a class of SQLite stores: <= 1.5x.
``--repeat K`` (default 2) measures the floor and the batch K times, alternately, and keeps the best
of each (the other measurements run once).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")

HEX32 = re.compile(r"^[0-9a-f]{32}$")
MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")
BINARY_SUFFIXES = (".pkl", ".skops", ".joblib", ".cloudpickle", ".db", ".png", ".jpg")
#: What follows this heading in RESULTS.md (the analysis, written by hand) survives ``--write``.
NOTES_HEADING = "## Notes"
#: The batch's target over the floor, by backend, and the issue that set it.
FLOOR_TARGETS = {"file": (1.4, "issue 11"), "sqlite": (1.5, "issue 13")}
GRADE_CLI = [sys.executable, "-c", "import sys; from grader.cli import main; sys.exit(main())"]

NAIVE = r"""
import json, os, shutil, sys, tempfile, warnings
warnings.simplefilter("ignore")
src = sys.argv[1]
work = tempfile.mkdtemp(prefix="naive-")
try:
    copy = os.path.join(work, "sub")
    shutil.copytree(src, copy)
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    import mlflow
    from mlflow.tracking import MlflowClient
    db = os.path.join(copy, "mlflow.db")
    uri = f"sqlite:///{db}" if os.path.exists(db) else "file:" + os.path.join(copy, "mlruns")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    runs = mlflow.search_runs(experiment_names=["homework-195"], order_by=["metrics.rmse_test ASC"])
    prod = MlflowClient().get_latest_versions("housing-best", stages=["Production"])
    ok = bool(len(runs)) and bool(prod) and runs.iloc[0]["run_id"] == prod[0].run_id
    from grader.data import test_rows
    model = mlflow.pyfunc.load_model("models:/housing-best/Production")
    preds = model.predict(test_rows(5))
    print(json.dumps({"ok": bool(ok), "runs": int(len(runs)), "predictions": [float(p) for p in preds]}))
finally:
    shutil.rmtree(work, ignore_errors=True)
"""


# --------------------------------------------------------------------------- building the class


def build_reference(target: Path, backend: str, train_rows: int | None) -> Path:
    from fixtures.reference_solution import build

    print(f"building the reference ({backend}, train_rows={train_rows or 'all'}) in {target} ...", flush=True)
    options = {"train_rows": train_rows} if train_rows else {}
    build(target, backend, **options)
    return target


def _text_files(root: Path):
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and not path.name.endswith(BINARY_SUFFIXES) and path.stat().st_size < 4 * 1024**2:
            yield path


def _ids_in(root: Path) -> list[str]:
    """Run ids and logged-model ids of a store: folder names under the experiments, and the SQLite rows."""
    ids = set()
    mlruns = root / "mlruns"
    for exp in mlruns.iterdir() if mlruns.is_dir() else ():
        if exp.is_dir():
            for child in exp.iterdir():
                if HEX32.match(child.name):
                    ids.add(child.name)
            for child in (exp / "models").iterdir() if (exp / "models").is_dir() else ():
                if MODEL_ID.match(child.name):
                    ids.add(child.name)
    db = root / "mlflow.db"
    if db.is_file():
        con = sqlite3.connect(db)
        try:
            ids.update(r[0] for r in con.execute("SELECT run_uuid FROM runs"))
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if "logged_models" in tables:
                ids.update(r[0] for r in con.execute("SELECT model_id FROM logged_models"))
        finally:
            con.close()
    return sorted(ids)


def clone_submission(src: Path, dst: Path) -> dict[str, str]:
    """Copy ``src`` to ``dst`` with every run id and logged-model id replaced by a fresh one."""
    shutil.copytree(src, dst)
    mapping = {}
    for old in _ids_in(dst):
        mapping[old] = ("m-" + uuid.uuid4().hex) if old.startswith("m-") else uuid.uuid4().hex
    replacements = list(mapping.items()) + [(str(src.resolve()), str(dst.resolve()))]
    for path in _text_files(dst):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = text
        for old, repl in replacements:
            if old in new:
                new = new.replace(old, repl)
        if new != text:
            path.write_text(new, encoding="utf-8")
    for path in sorted(dst.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and path.name in mapping:
            path.rename(path.with_name(mapping[path.name]))
    db = dst / "mlflow.db"
    if db.is_file():
        con = sqlite3.connect(db)
        try:
            with con:
                for table in [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]:
                    cols = [r[1] for r in con.execute(f"PRAGMA table_info('{table}')") if "CHAR" in (r[2] or "").upper() or "TEXT" in (r[2] or "").upper()]
                    for col in cols:
                        for old, repl in replacements:
                            con.execute(f'UPDATE "{table}" SET "{col}" = replace("{col}", ?, ?) WHERE instr("{col}", ?) > 0',
                                        (old, repl, old))
        finally:
            con.close()
    return mapping


def build_class(base: Path, klass: Path, n: int) -> list[Path]:
    klass.mkdir(parents=True)
    started = time.perf_counter()
    students = []
    for i in range(n):
        target = klass / f"student{i + 1:03d}"
        clone_submission(base, target)
        students.append(target)
    print(f"class of {n} built in {time.perf_counter() - started:.1f} s ({_size(klass) / 1024**3:.1f} GiB)", flush=True)
    return students


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# --------------------------------------------------------------------------- the measurements


def become_subreaper() -> bool:
    """Orphaned descendants (the batch's fork server) are re-parented to this process, so that their
    CPU time is counted in RUSAGE_CHILDREN once they are reaped (Linux)."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def reap_orphans(timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_naive(student: Path) -> tuple[float, dict, float]:
    started, cpu = time.perf_counter(), children_cpu()
    proc = subprocess.run([sys.executable, "-c", NAIVE, str(student)], capture_output=True, text=True,
                          cwd=tempfile.gettempdir(), env={**os.environ, "PYTHONPATH": str(REPO)})
    elapsed = time.perf_counter() - started
    cpu = children_cpu() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"naive script failed on {student}: {proc.stderr.strip().splitlines()[-1:]}")
    return elapsed, json.loads(proc.stdout.strip().splitlines()[-1]), cpu


def run_batch(klass: Path, out: Path, jobs: int, rubric: Path | None = None) -> tuple[float, list[dict], float]:
    import csv

    started, cpu = time.perf_counter(), children_cpu()
    extra = ["--rubric", str(rubric)] if rubric else []
    proc = subprocess.run([*GRADE_CLI, "--batch", str(klass), "--out", str(out), "-j", str(jobs), "-q", *extra],
                          capture_output=True, text=True, cwd=tempfile.gettempdir())
    elapsed = time.perf_counter() - started
    reap_orphans()
    cpu = children_cpu() - cpu
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"grade --batch failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    with open(out / "gradebook.csv", newline="", encoding="utf-8") as fh:
        return elapsed, list(csv.DictReader(fh)), cpu


def rubric_without_metrics(work: Path) -> Path:
    """The shipped rubric without ``integrity.metrics``: the only check that needs the probe to
    predict the whole test split (4,128 rows) instead of the homework's 5."""
    import yaml

    data = yaml.safe_load((REPO / "rubrics" / "homework-195.yaml").read_text(encoding="utf-8"))
    data["checks"] = [c for c in data["checks"] if c["id"] != "integrity.metrics"]
    path = work / "rubric-without-integrity-metrics.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def production_model_dir(student: Path) -> Path:
    """The Production version's model folder, found from the layout (file store) or the database."""
    db = student / "mlflow.db"
    if db.is_file():
        con = sqlite3.connect(db)
        try:
            source, run_id = con.execute("SELECT source, run_id FROM model_versions WHERE name='housing-best' "
                                         "AND current_stage='Production' ORDER BY version DESC").fetchone()
        finally:
            con.close()
    else:
        import yaml

        metas = [yaml.safe_load(p.read_text()) for p in (student / "mlruns" / "models" / "housing-best").glob("version-*/meta.yaml")]
        meta = max((m for m in metas if m.get("current_stage") == "Production"), key=lambda m: int(m["version"]))
        source, run_id = meta["source"], meta["run_id"]
    model_id = source.split("models:/", 1)[1].strip("/") if source.startswith("models:/m-") else None
    for exp in (student / "mlruns").iterdir():
        if model_id and (exp / "models" / model_id / "artifacts" / "MLmodel").is_file():
            return exp / "models" / model_id / "artifacts"
        if run_id and (exp / run_id / "artifacts" / "model" / "MLmodel").is_file():
            return exp / run_id / "artifacts" / "model"
    raise FileNotFoundError(f"no Production model folder in {student}")


def run_floor(students: list[Path], whole_split: bool = False) -> tuple[float, list[float], float]:
    """Load each Production model and predict 5 test rows (the homework's final cell), or with
    ``whole_split`` the 4,128 rows of the test split (what the grader's probe predicts, because
    ``integrity.metrics`` recomputes rmse_test and r2_test on them)."""
    import warnings

    warnings.simplefilter("ignore")
    import mlflow.pyfunc

    from grader.data import test_rows, test_split

    rows = test_split()[0] if whole_split else test_rows(5)
    folders = [production_model_dir(s) for s in students]
    mlflow.pyfunc.load_model(str(folders[0])).predict(rows)  # warm-up, untimed
    each = []
    cpu = time.process_time()
    for folder in folders:
        started = time.perf_counter()
        mlflow.pyfunc.load_model(str(folder)).predict(rows)
        each.append(time.perf_counter() - started)
    return sum(each), each, time.process_time() - cpu


def run_single(student: Path, out: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run([*GRADE_CLI, str(student), "-q", "--json", str(out)], capture_output=True, text=True,
                          cwd=tempfile.gettempdir())
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"grade failed ({proc.returncode}): {proc.stderr.strip()[-300:]}")
    return elapsed


# --------------------------------------------------------------------------- scale


def clone_runs(src: Path, dst: Path, total_runs: int) -> Path:
    """A file store with ``total_runs`` runs: the source's runs plus clones (new ids) of its runs."""
    import yaml

    shutil.copytree(src, dst)
    mlruns = dst / "mlruns"
    exp = next(p for p in mlruns.iterdir() if p.is_dir() and any(HEX32.match(c.name) for c in p.iterdir()))
    templates = sorted(c for c in exp.iterdir() if HEX32.match(c.name))
    existing = len(templates)
    src_root, dst_root = str(src.resolve()), str(dst.resolve())
    for path in _text_files(dst):
        text = path.read_text(encoding="utf-8")
        if src_root in text:
            path.write_text(text.replace(src_root, dst_root), encoding="utf-8")
    for i in range(total_runs - existing):
        template = templates[i % len(templates)]
        new_run = uuid.uuid4().hex
        mapping = {template.name: new_run}
        outputs = template / "outputs"
        for link in outputs.iterdir() if outputs.is_dir() else ():
            mapping[link.name] = "m-" + uuid.uuid4().hex
        run_dir = exp / new_run
        shutil.copytree(template, run_dir)
        for old_model, new_model in [(k, v) for k, v in mapping.items() if k.startswith("m-")]:
            (run_dir / "outputs" / old_model).rename(run_dir / "outputs" / new_model)
            shutil.copytree(exp / "models" / old_model, exp / "models" / new_model)
        touched = [run_dir] + [exp / "models" / v for k, v in mapping.items() if k.startswith("m-")]
        for folder in touched:
            for path in _text_files(folder):
                text = path.read_text(encoding="utf-8")
                new = text
                for old, repl in mapping.items():
                    new = new.replace(old, repl)
                if new != text:
                    path.write_text(new, encoding="utf-8")
        meta = yaml.safe_load((run_dir / "meta.yaml").read_text())
        meta["run_name"] = f"clone-{i:04d}"
        (run_dir / "meta.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
        name_tag = run_dir / "tags" / "mlflow.runName"
        if name_tag.is_file():
            name_tag.write_text(f"clone-{i:04d}")
    return dst


def run_scale(small_base: Path, sizes: list[int], work: Path) -> list[dict]:
    """``grade(store, probe=False)`` of stores with ``sizes`` runs, snapshot in the system temp dir
    (where it goes when ``TMPDIR`` is set) and in the default scratch dir (/dev/shm when it has room)."""
    import warnings

    warnings.simplefilter("ignore")
    from grader.api import grade
    from grader.submission.snapshot import scratch_root

    places = {"tmp": tempfile.gettempdir(), "scratch": scratch_root(1)}
    results = []
    grade(small_base, probe=False)  # warm-up: imports and first-call costs
    for n in sizes:
        store = clone_runs(small_base, work / f"runs-{n}", n)
        row = {"runs": n}
        for label, where in places.items():
            times = []
            for _ in range(2):
                started = time.perf_counter()
                result = grade(store, probe=False, workdir=where)
                times.append(time.perf_counter() - started)
            row[label] = min(times)
            row["graded_runs"] = len(result.runs)
        results.append(row)
        print(f"scale: {n} runs -> {row['tmp']:.2f} s with the snapshot in {places['tmp']}, "
              f"{row['scratch']:.2f} s in {places['scratch']} (runs read: {row['graded_runs']})", flush=True)
        shutil.rmtree(store, ignore_errors=True)
    for row in results:
        row["places"] = places
    return results


# --------------------------------------------------------------------------- main


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {d: version(d) for d in ("mlflow", "scikit-learn", "pandas")}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=40, help="students in the class")
    p.add_argument("--jobs", type=int, default=2, help="-j of grade --batch")
    p.add_argument("--backend", choices=("file", "sqlite"), default="file")
    p.add_argument("--base", type=Path, help="an existing reference submission to copy (else one is built)")
    p.add_argument("--train-rows", type=int, default=None, help="rows to train the built reference on (default: all)")
    p.add_argument("--small-base", type=Path, help="a small file-store reference for the scale runs (else built)")
    p.add_argument("--scale", default="100,300,1000", help="run counts of the scale measurement ('' to skip)")
    p.add_argument("--work", type=Path, help="work folder (default: a new temp folder, removed at the end)")
    p.add_argument("--skip-naive", action="store_true", help="do not run the naive loop (for quick checks)")
    p.add_argument("--write", action="store_true", help="write the figures to benchmarks/RESULTS.md")
    p.add_argument("--repeat", type=int, default=2,
                   help="measure the floor and the batch this many times, alternately, and keep the best of each")
    args = p.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    become_subreaper()
    load_before = os.getloadavg()
    figures: dict = {"n": args.n, "jobs": args.jobs, "backend": args.backend, "cores": os.cpu_count(),
                     "python": platform.python_version(), "versions": _versions(),
                     "command": "python benchmarks/bench_batch.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    try:
        base = args.base or build_reference(work / "reference", args.backend, args.train_rows)
        figures["submission_mib"] = round(_size(base) / 1024**2, 1)
        students = build_class(base, work / "class", args.n)
        # The class's 18 GiB are written back to disk in the background for a while: let that end
        # first, or it slows down whichever measurement comes first (the first pair, seen here).
        os.sync()
        figures["production_model_mib"] = round(sum(f.stat().st_size for f in production_model_dir(students[0]).iterdir()
                                                    if f.is_file()) / 1024**2, 1)

        # The floor and the batch alternate --repeat times (floor first: it reads every Production model
        # once, so the page cache is warm for both), and the best of each is kept: work that other
        # programs run on the machine only ever adds time, to either side.
        floors, batches = [], []
        for k in range(args.repeat):
            floor, each, floor_cpu = run_floor(students)
            floors.append((floor, floor_cpu))
            print(f"floor {k + 1}/{args.repeat}: {floor:.1f} s ({statistics.mean(each):.2f} s per model, "
                  "one warm process)", flush=True)
            shutil.rmtree(work / "out", ignore_errors=True)
            batch_s, rows, batch_cpu = run_batch(work / "class", work / "out", args.jobs)
            batches.append((batch_s, rows, batch_cpu))
            print(f"batch {k + 1}/{args.repeat}: {batch_s:.1f} s (-j {args.jobs})", flush=True)
        floor, floor_cpu = min(floors)
        batch_s, rows, batch_cpu = min(batches, key=lambda b: b[0])
        figures["floor_s"], figures["floor_cpu"] = floor, floor_cpu
        figures["floor_runs"] = [round(f[0], 1) for f in floors]
        figures["batch_runs"] = [round(b[0], 1) for b in batches]
        figures["pair_ratios"] = [round(b[0] / f[0], 2) for f, b in zip(floors, batches, strict=True)]
        floor_split, each_split, floor_split_cpu = run_floor(students, whole_split=True)
        figures["floor_split_s"], figures["floor_split_cpu"] = floor_split, floor_split_cpu
        print(f"floor predicting the whole test split: {floor_split:.1f} s ({statistics.mean(each_split):.2f} s per model)",
              flush=True)

        figures["batch_cpu"] = batch_cpu
        statuses = [r["status"] for r in rows]
        copies = sum(1 for r in rows if r["suspected_copy_of"])
        figures.update(batch_s=batch_s, batch_errors=statuses.count("error"), batch_copies=copies,
                       batch_predict=sum(1 for r in rows if r.get("model.predict_status") == "pass"))
        print(f"batch: best {batch_s:.1f} s (-j {args.jobs}; {statuses.count('error')} error rows, {copies} flagged as "
              f"copies, model.predict passed for {figures['batch_predict']}/{len(rows)})", flush=True)
        shutil.rmtree(work / "out", ignore_errors=True)
        letter_s, letter_rows, letter_cpu = run_batch(work / "class", work / "out", args.jobs, rubric_without_metrics(work))
        figures.update(letter_s=letter_s, letter_cpu=letter_cpu,
                       letter_predict=sum(1 for r in letter_rows if r.get("model.predict_status") == "pass"))
        print(f"batch without integrity.metrics (5 rows predicted): {letter_s:.1f} s", flush=True)

        if not args.skip_naive:
            naive_each, naive_cpu = [], 0.0
            for i, student in enumerate(students):
                elapsed, out, cpu = run_naive(student)
                if not out["ok"]:
                    raise RuntimeError(f"the acceptance criterion failed on {student}")
                naive_each.append(elapsed)
                naive_cpu += cpu
                print(f"  naive {i + 1}/{len(students)}: {elapsed:.2f} s", end="\r", flush=True)
            figures["naive_s"] = sum(naive_each)
            figures["naive_cpu"] = naive_cpu
            figures["naive_each_s"] = statistics.mean(naive_each)
            print(f"naive: {figures['naive_s']:.1f} s ({figures['naive_each_s']:.2f} s per student, one after the other)")

            single, naive_one = [], []
            for _ in range(5):  # interleaved, so that a burst of load on the machine hits both
                single.append(run_single(students[0], work / "single.json"))
                naive_one.append(run_naive(students[0])[0])
            figures["single_grade_s"] = statistics.median(single)
            figures["single_naive_s"] = statistics.median(naive_one)
            print(f"single: grade {figures['single_grade_s']:.2f} s vs naive script {figures['single_naive_s']:.2f} s "
                  "(medians of 5, interleaved)")

        sizes = [int(s) for s in args.scale.split(",") if s.strip()]
        if sizes:
            small = args.small_base or build_reference(work / "small-reference", "file", 300)
            figures["scale"] = run_scale(small, sizes, work)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    figures["load_before"] = [round(x, 2) for x in load_before]
    figures["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report = render(figures)
    print()
    print(report)
    if args.write:
        target = REPO / "benchmarks" / ("RESULTS.md" if args.backend == "file" else f"RESULTS-{args.backend}.md")
        previous = target.read_text(encoding="utf-8") if target.is_file() else ""
        notes = previous[previous.index(NOTES_HEADING):] if NOTES_HEADING in previous else ""
        target.write_text(report + ("\n" + notes if notes else ""), encoding="utf-8")
        print(f"-> {target}")
    return 0


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def render(f: dict) -> str:
    lines = ["# Batch grading benchmark", "",
             f"Command: `{f['command'].strip()}`", "",
             f"Machine: {f['cores']} cores, Python {f['python']}, "
             + ", ".join(f"{k} {v}" for k, v in f["versions"].items())
             + f"; load average before {f['load_before']}, after {f['load_after']}.", "",
             f"Class: {f['n']} copies of the reference submission ({f['backend']} store, {f['submission_mib']} MiB each, "
             f"Production model {f['production_model_mib']} MiB), fresh run ids per copy.", "",
             "Wall-clock seconds depend on what else the machine runs (see the load average); CPU seconds "
             "(user + system, this process and all its descendants) much less.", "",
             "| measurement | wall s | wall s per student | CPU s | CPU s per student |", "|---|---:|---:|---:|---:|"]
    n = f["n"]
    if "naive_s" in f:
        lines.append(f"| naive loop (fresh `python -c` per student, one after the other) | {f['naive_s']:.1f} | "
                     f"{f['naive_s'] / n:.2f} | {f['naive_cpu']:.1f} | {f['naive_cpu'] / n:.2f} |")
    lines.append(f"| `grade --batch -j {f['jobs']}` (whole command) | {f['batch_s']:.1f} | {f['batch_s'] / n:.2f} | "
                 f"{f['batch_cpu']:.1f} | {f['batch_cpu'] / n:.2f} |")
    if "letter_s" in f:
        lines.append(f"| `grade --batch -j {f['jobs']}` with the rubric minus `integrity.metrics` (the probe predicts 5 rows) | "
                     f"{f['letter_s']:.1f} | {f['letter_s'] / n:.2f} | {f['letter_cpu']:.1f} | {f['letter_cpu'] / n:.2f} |")
    lines.append(f"| floor: load the Production models + predict 5 rows, one warm process | {f['floor_s']:.1f} | "
                 f"{f['floor_s'] / n:.2f} | {f['floor_cpu']:.1f} | {f['floor_cpu'] / n:.2f} |")
    if "floor_split_s" in f:
        lines.append(f"| floor as the probe predicts: the whole test split (4,128 rows) | {f['floor_split_s']:.1f} | "
                     f"{f['floor_split_s'] / n:.2f} | {f['floor_split_cpu']:.1f} | {f['floor_split_cpu'] / n:.2f} |")
    lines.append("")
    jobs = min(f["jobs"], f["cores"] or 1)
    if "naive_s" in f:
        speedup = f["naive_s"] / f["batch_s"]
        lines.append(f"- naive / batch = **{speedup:.1f}x** wall (target >= 5x: {_verdict(speedup >= 5)}); "
                     f"in CPU seconds {f['naive_cpu'] / f['batch_cpu']:.1f}x, so on an idle machine with {jobs} cores "
                     f"about {jobs * f['naive_cpu'] / f['batch_cpu']:.1f}x")
    over_floor = f["batch_s"] / f["floor_s"]
    if len(f.get("batch_runs", [])) > 1:
        lines.append(f"- the floor and the batch were measured {len(f['batch_runs'])} times, alternately (floor "
                     f"{', '.join(map(str, f['floor_runs']))} s; batch {', '.join(map(str, f['batch_runs']))} s; each "
                     f"batch over the floor just before it: {', '.join(f'{r:.2f}x' for r in f['pair_ratios'])}): the "
                     "table and the ratios below use the best of each")
    limit, issue = FLOOR_TARGETS.get(f["backend"], FLOOR_TARGETS["file"])
    lines.append(f"- batch / floor = **{over_floor:.2f}x** wall ({issue}'s target <= {limit}x: "
                 f"{_verdict(over_floor <= limit)}); "
                 f"in CPU seconds {f['batch_cpu'] / f['floor_cpu']:.2f}x, so on an idle machine with {jobs} cores "
                 f"about {f['batch_cpu'] / jobs / f['floor_cpu']:.2f}x")
    if "letter_s" in f:
        letter = f["letter_s"] / f["floor_s"]
        lines.append(f"- batch without `integrity.metrics` / floor = **{letter:.2f}x** wall (target <= 1.5x: "
                     f"{_verdict(letter <= 1.5)}); in CPU seconds on {jobs} cores about "
                     f"{f['letter_cpu'] / jobs / f['floor_cpu']:.2f}x")
    if "floor_split_s" in f:
        like = f["batch_s"] / f["floor_split_s"]
        lines.append(f"- batch / the floor predicting what the probe predicts = **{like:.2f}x** wall; in CPU seconds on "
                     f"{jobs} cores about {f['batch_cpu'] / jobs / f['floor_split_cpu']:.2f}x")
    if "single_grade_s" in f:
        single = f["single_grade_s"] / f["single_naive_s"]
        lines.append(f"- one `grade SUBMISSION` {f['single_grade_s']:.2f} s vs one naive script {f['single_naive_s']:.2f} s = "
                     f"**{single:.2f}x** (target <= 1.2x: {_verdict(single <= 1.2)})")
    lines.append(f"- batch rows in error: {f['batch_errors']}; flagged as copies: {f['batch_copies']}; "
                 f"model.predict passed: {f['batch_predict']}/{n}")
    if f.get("scale"):
        places = f["scale"][0]["places"]
        lines += ["", "Scale: one file store graded with the probe off, in a warm process (best of 2); the private "
                      f"snapshot in `{places['tmp']}` (where it goes when `TMPDIR` is set) or in `{places['scratch']}` "
                      "(the default when it has room):", "",
                  f"| runs | seconds, snapshot in {places['tmp']} | ms per run | seconds, snapshot in {places['scratch']} | ms per run |",
                  "|---:|---:|---:|---:|---:|"]
        for s in f["scale"]:
            lines.append(f"| {s['runs']} | {s['tmp']:.2f} | {1000 * s['tmp'] / s['runs']:.1f} | {s['scratch']:.2f} | "
                         f"{1000 * s['scratch'] / s['runs']:.1f} |")
        first, last = f["scale"][0], f["scale"][-1]
        lines += ["", f"{last['runs']} runs take {last['tmp'] / first['tmp']:.1f}x ({places['tmp']}) and "
                      f"{last['scratch'] / first['scratch']:.1f}x ({places['scratch']}) the time of {first['runs']} runs "
                      f"({last['runs'] / first['runs']:.0f}x the runs)."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
