"""The model probe: load a student's model and predict, in a separate, restricted process.

Loading an MLflow model unpickles it, which can run arbitrary code. So the probe
1. checks ``MLmodel`` and skops files before loading (:mod:`grader.probe.scan`), and pickles while
   they load, with an unpickler that refuses any import off an allowlist
   (:mod:`grader.probe.unpickle`), unless the instructor passes ``trust_pickles``;
2. loads and predicts in a child process (:mod:`grader.probe.worker`), forked from the grader when
   it can be (:mod:`grader.probe.fork`), with a wall-clock timeout, memory and file-size limits, a
   scrubbed environment, its own temp dir as cwd and HOME, no network and Landlock file rules where
   the OS allows them (:mod:`grader.probe.runner`); only JSON comes back, never a pickle.
"""

from .runner import ProbeOptions, probe_model

__all__ = ["ProbeOptions", "probe_model"]
