"""The model probe: load a student's model and predict, in a separate, restricted process.

Loading an MLflow model unpickles it, which can run arbitrary code. So the probe
1. scans the model files statically and refuses those that import anything unexpected
   (:mod:`grader.probe.scan`), unless the instructor passes ``trust_pickles``;
2. loads and predicts in a child process (:mod:`grader.probe.worker`) with a wall-clock timeout,
   memory and file-size limits, a scrubbed environment, its own temp dir as cwd and HOME, and no
   network where the OS allows it; only JSON comes back, never a pickle.
"""

from .runner import ProbeOptions, probe_model

__all__ = ["ProbeOptions", "probe_model"]
