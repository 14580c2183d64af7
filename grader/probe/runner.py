"""Run :mod:`grader.probe.worker` in a restricted child process and read back its result.

The child is forked from the grader when it can be (``ProbeOptions.launcher``, see
:mod:`grader.probe.fork`: MLflow and scikit-learn are imported already, which saves 2 to 3 s per
grade), or a new ``python -m grader.probe.worker``. Either way, what the child gets (Linux; each
step is best effort, and what holds is measured by the grader, see below):

- its own session, and ``PDEATHSIG``: it dies with the grader;
- namespaces (:mod:`grader.probe.sandbox`; for a non-root user inside a new user namespace): a new
  PID namespace whose PID 1 is the probe (when it ends, every process the model started ends: none
  outlives the probe; without one the whole session is killed), a new mount namespace (every mount
  private first) with a small tmpfs of its own on ``/dev/shm`` (joblib's semaphores for ``n_jobs``;
  the host's ``/dev/shm``, where snapshots live, is hidden) and a ``/proc`` of the PID namespace,
  and a new, empty network namespace. Without a mount namespace joblib runs every job in-process
  (the same predictions), see :func:`grader.probe.worker._parallelism`;
- limits: address space (``memory_mb``), file size (256 MiB), no core dumps, and for a non-root user
  a bounded number of processes (fork bombs);
- no capabilities (empty bounding set: root's probe cannot load a kernel module), ``no_new_privs``;
- no network besides the namespace: Landlock's TCP rules (bind and connect refused) where the kernel
  has them (ABI >= 4), and a seccomp filter that makes ``socket(2)`` fail (Unix sockets such as
  ``docker.sock`` or an ssh agent are not cut off by a network namespace);
- Landlock file-system rules: writes only inside its own temp dir, its private ``/dev/shm`` and
  ``/dev/null``; reads only from the Python installation, the grader, the system folders (``/usr``,
  ``/lib``, ``/etc``...), of ``/dev`` only ``null``, ``zero``, ``random``, ``urandom``, a few ``/proc``
  files and some of its own ``/proc/<pid>`` (never ``environ``), the model folder and its temp dir,
  and (read-only) the original files of the model that the snapshot did not copy: not the
  instructor's home, not the rest of the snapshot nor of the submission, not other students'.
  With ABI >= 6 it also cannot signal processes outside its sandbox (the grader). While the child
  lives the grader is not dumpable, so even without Landlock a same-user child cannot read its
  environment nor write its memory through ``/proc``;
- a scrubbed environment (only ``PATH``, locale and time zone survive: no tokens, no credentials), its
  temp dir as cwd, ``HOME`` and ``TMPDIR``; a forked child also overwrites the grader's environment
  it inherited in memory (the block ``/proc/self/environ`` shows, libc's strings, ``os.environ``'s
  and ``posix.environ``'s values);
- stdout discarded, stderr to a file in its temp dir (only the last lines are read, for a crash's
  message), and the result over a pipe the grader holds (:mod:`grader.probe.channel`): never a
  pickle, never a file the child could write.

The grader decides: the child's first frame (sent before any model code runs) says what it set up;
the grader then reads ``/proc/<child>/status``, ``ns/*`` and ``mountinfo`` while the child waits,
and ``ProbeEv.details["isolation"]`` holds what it measured, with ``not_held`` naming what did not
hold. A child that exits non-zero or is killed, or that sends more than one result, is a crash
whatever it sent. A refusal by the sandbox (``EACCES``/``EPERM`` while loading or predicting) is
``error_kind="sandbox"``: the grader's error, not the student's.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grader

from ..evidence.model import ModelArtifactEv, ProbeEv
from ..task import DEFAULT_TASK, Task
from . import channel, sandbox

CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE, PR_SET_DUMPABLE = 3, 4
PR_SET_NO_NEW_PRIVS = 38
MAX_RESULT_BYTES = 4 * 1024**2
MAX_FILE_BYTES = 256 * 1024**2
STDERR_TAIL = 4096
#: Environment variables the child keeps; everything else (tokens, credentials) is dropped.
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "SYSTEMROOT")
#: System folders the child may read (shared libraries, locale, time zones, /proc for CPU counts).
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/sys", "/nix/store")
#: Of /dev only what Python needs (plus ``/dev/null`` read-write and the probe's private ``/dev/shm``).
DEV_READ = ("/dev/zero", "/dev/urandom", "/dev/random")
#: Of the child's own /proc/<pid>: not ``environ`` (nor ``task/*/environ``), ``mem``, ``pagemap``...
PROC_SELF_READ = (
    "status",
    "stat",
    "statm",
    "fd",
    "fdinfo",
    "cgroup",
    "mountinfo",
    "mounts",
    "limits",
    "cmdline",
    "comm",
    "maps",
)
#: Of /proc only these (plus the child's own /proc/<pid>): never the grader's /proc/<pid>/environ or mem.
PROC_READ = (
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/loadavg",
    "/proc/uptime",
    "/proc/version",
    "/proc/filesystems",
    "/proc/sys",
    "/proc/mounts",
)

# Landlock (linux/landlock.h); syscall numbers are the same on x86_64 and arm64.
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_READ = (1 << 2) | (1 << 3)  # READ_FILE | READ_DIR
FS_READ_DIR = 1 << 3
FS_READ_FILE = 1 << 2
FS_WRITE_FILE = 1 << 1
FS_WRITE_V1 = (
    (1 << 1) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12)
)
FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1


# seccomp: refuse socket(2) (any family: TCP, UDP, and Unix sockets such as docker.sock or an ssh
# agent, which a network namespace does not cut off). socketpair(2) stays: it only links the process
# to itself.
PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
_SECCOMP_ARCH = {
    "x86_64": (0xC000003E, 41),
    "amd64": (0xC000003E, 41),
    "aarch64": (0xC00000B7, 198),
    "arm64": (0xC00000B7, 198),
}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter))]


def _socket_filter():
    """A BPF program: socket() -> EPERM; any other architecture's or x32 syscall -> EPERM; else allow."""
    import platform

    arch = _SECCOMP_ARCH.get(platform.machine().lower())
    if arch is None or not sys.platform.startswith("linux"):
        return None
    audit_arch, nr_socket = arch
    ld_w_abs, jeq_k, jge_k, ret_k = 0x20, 0x15, 0x35, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | 1  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM
    program = [
        (ld_w_abs, 0, 0, 4),  # A = arch
        (jeq_k, 1, 0, audit_arch),  # native? skip the deny
        (ret_k, 0, 0, deny),
        (ld_w_abs, 0, 0, 0),  # A = syscall number
        (jge_k, 2, 0, 0x40000000),  # x32 ABI -> deny
        (jeq_k, 1, 0, nr_socket),  # socket -> deny
        (ret_k, 0, 0, allow),
        (ret_k, 0, 0, deny),
    ]
    filters = (_SockFilter * len(program))(*[_SockFilter(*ins) for ins in program])
    return _SockFprog(len(program), filters), filters  # keep the array alive with the program


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@dataclass(frozen=True)
class ProbeOptions:
    timeout: float = 60.0
    #: Address space the model may use: on top of what the grader has mapped when the worker is
    #: forked from it, the whole new interpreter's otherwise.
    memory_mb: int = 8192
    trust_pickles: bool = False
    rows: int = 5
    #: Predict the whole test split (4,128 rows: ``integrity.metrics`` recomputes rmse/r2 on it), or
    #: only its first ``rows`` (the homework's final cell) when no check needs more.
    whole_split: bool = True
    isolate_network: bool = True
    #: Landlock file-system rules (Linux); off only for debugging.
    isolate_files: bool = True
    #: ``fork`` the worker from this process, ``spawn`` a new interpreter, or ``auto``: fork when
    #: :func:`grader.probe.fork.can_fork` says it is safe (Linux, one thread), spawn otherwise.
    launcher: str = "auto"
    #: The rows to predict and the metrics to recompute (the rubric's ``task:``, see :mod:`grader.task`).
    task: Task = DEFAULT_TASK


@functools.lru_cache(maxsize=1)
def _versions() -> dict[str, str]:
    """The grader's own MLflow and scikit-learn versions (the report compares the model's with them):
    looked up once a process (about 8 ms each; a batch's fork server looks them up for every student)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist, label in (("mlflow", "mlflow"), ("scikit-learn", "scikit-learn")):
        try:
            out[label] = version(dist)
        except PackageNotFoundError:
            pass
    return out


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - not Linux/glibc-like
        return None


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when unavailable (or not Linux)."""
    libc = _libc()
    if libc is None or not sys.platform.startswith("linux"):
        return 0
    try:
        version = libc.syscall(
            SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION)
        )
    except (AttributeError, OSError):
        return 0
    return max(int(version), 0)


def _read_roots(model_dir: Path, home: Path) -> tuple[list[str], list[str]]:
    """Folders the child may read (whole subtrees), and folders it may only list.

    Python, its packages (``sys.path`` entries inside an installation or named ``site-packages``:
    never ``''``, the cwd, nor a script's folder, which may be the instructor's submissions), the
    grader package, the system folders, the model and its own temp dir.
    """
    package = Path(grader.__file__).resolve().parent
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    roots = {
        *SYSTEM_READ,
        *prefixes,
        os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))),
        str(package),
        str(model_dir),
        str(home),
    }
    cwd = os.path.realpath(os.getcwd())
    for entry in sys.path:
        real = os.path.realpath(entry) if entry else ""
        if not real or real == cwd or not os.path.isdir(real):
            continue
        if (
            any(real == p or real.startswith(p + os.sep) for p in prefixes)
            or "site-packages" in real
            or "dist-packages" in real
        ):
            roots.add(entry)
    out = set()
    for root in roots:
        for candidate in (root, os.path.realpath(root)):
            if os.path.isdir(candidate):
                out.add(candidate)
    # Python must list the folder PYTHONPATH names to find the grader package, not read its other files.
    listed = (
        [str(package.parent)]
        if not any(str(package.parent) == r or str(package.parent).startswith(r + os.sep) for r in out)
        else []
    )
    return sorted(out), listed


class _Plan:
    """Everything the child needs to restrict itself, computed in the parent (nothing to import after fork)."""

    def __init__(
        self, options: ProbeOptions, model_dir: Path, home: Path, forked: bool = False, read_files: tuple[str, ...] = ()
    ) -> None:
        self.memory_mb = options.memory_mb
        #: RLIMIT_AS: a forked child starts with the grader's mappings, which the model's budget excludes.
        self.address_space = (
            (options.memory_mb * 1024**2 + (_mapped_bytes() if forked else 0)) if options.memory_mb else 0
        )
        self.isolate_network = options.isolate_network and sys.platform.startswith("linux")
        self.libc = _libc() if sys.platform.startswith("linux") else None
        self.abi = landlock_abi() if self.libc is not None else 0
        self.isolate_files = options.isolate_files and self.abi >= 1
        self.read_roots, self.list_roots = _read_roots(model_dir, home)
        self.read_files = read_files  # single files (the model's originals), never followed if a link
        self.seccomp = _socket_filter() if self.isolate_network else None
        self.home = str(home)
        self.forked = forked
        #: The result pipe's write end in the child (set by :func:`probe_model` before the start).
        self.result_fd = -1
        self.go_fd = -1
        #: Set in the child by :func:`_limit_child` (the Landlock rules follow what was mounted).
        self.private_shm = False
        #: A tmpfs of its own on /dev/shm, unless the probe's temp dir or a model file it reads is
        #: there (it would be hidden).
        self.own_shm = not any(_under_shm(Path(p)) for p in (str(home), *read_files))
        self.own_proc = False
        self.nproc = _nproc_limit()
        self.is_root = hasattr(os, "geteuid") and os.geteuid() == 0


def _mapped_bytes() -> int:
    """This process's virtual memory size (``VmSize``), 0 when unknown."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _nproc_limit() -> int | None:
    """For a non-root user: the tasks it runs now plus 256 (root ignores RLIMIT_NPROC anyway)."""
    if not hasattr(os, "getuid") or os.getuid() == 0 or not os.path.isdir("/proc"):
        return None
    uid, tasks = str(os.getuid()), 0
    try:
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
                        fields = dict(line.split(":", 1) for line in fh if ":" in line)
                    if fields.get("Uid", "").split()[:1] == [uid]:
                        tasks += int(fields.get("Threads", "1").strip() or 1)
                except (OSError, ValueError):
                    continue
    except OSError:
        return None
    return tasks + 256


def _limit_child(plan: _Plan):
    def apply() -> None:  # runs in the child right after fork (before exec when spawned): no imports
        state: dict[str, Any] = {
            "network": "none",
            "sockets": "allowed",
            "filesystem": "none",
            "signals": "not scoped",
            "landlock_abi": plan.abi,
            "shm": "none",
            "processes": "session",
            "capabilities": "kept",
            "environment": "scrubbed" + (", inherited block zeroed" if plan.forked else ""),
        }
        os.setsid()
        libc = plan.libc
        if libc is not None:
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            # Inherited from the grader, which is not dumpable while the probe runs: a non-dumpable
            # process may not write its uid_map, and the grader could not read its /proc/<pid>/ns.
            libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        limits = [(resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, MAX_FILE_BYTES)]
        if plan.address_space:
            limits.append((resource.RLIMIT_AS, plan.address_space))
        if plan.nproc:
            limits.append((resource.RLIMIT_NPROC, plan.nproc))
        for which, value in limits:
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):
                pass
        namespaces = (
            sandbox.enter_namespaces(libc, plan.isolate_network) if libc is not None else {"flags": 0, "user": False}
        )
        flags = namespaces["flags"]
        if flags & sandbox.CLONE_NEWPID:
            sandbox.fork_into_pid_namespace(libc)  # only the new namespace's PID 1 returns
            state["processes"] = "PID namespace (every process of the probe ends with it)"
        if flags & sandbox.CLONE_NEWNET:
            state["network"] = "new user+network namespace" if namespaces["user"] else "new network namespace"
        host_pid = _host_pid()
        own_shm = plan.own_shm and bool(namespaces.get("mapped", False))  # an unmapped owner could make no file there
        mounts = (
            sandbox.private_mounts(libc, bool(flags & sandbox.CLONE_NEWPID), shm=own_shm)
            if flags & sandbox.CLONE_NEWNS
            else {}
        )
        plan.private_shm = bool(mounts.get("shm"))
        plan.own_proc = bool(mounts.get("proc"))
        if plan.private_shm:
            state["shm"] = "private tmpfs (mount namespace)"
        if libc is not None:
            if sandbox.drop_capabilities(libc):
                state["capabilities"] = "none"
            libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            if (
                plan.seccomp is not None
                and libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(plan.seccomp[0]), 0, 0) == 0
            ):
                state["sockets"] = "socket() refused (seccomp)"
        if libc is not None and plan.abi >= 1:
            done = _landlock(libc, plan, state)
            if done and plan.isolate_network and state["network"] == "none" and plan.abi >= 4:
                state["network"] = "TCP refused (Landlock)"
            elif done and plan.isolate_network and plan.abi >= 4:
                state["network"] += " + TCP refused (Landlock)"
        state["pid"] = host_pid
        try:  # frame 1: before any model code; the grader measures what it can while this waits for go
            channel.send(plan.result_fd, state)
        except OSError:
            os._exit(1)

    return apply


def _host_pid() -> int:
    """This process's pid as the grader sees it (``/proc`` is still the host's here)."""
    try:
        return int(os.readlink("/proc/self"))
    except (OSError, ValueError):
        return os.getpid()


def _landlock(libc, plan: _Plan, state: dict) -> bool:
    abi = plan.abi
    write = (
        FS_WRITE_V1
        | (FS_REFER if abi >= 2 else 0)
        | (FS_TRUNCATE if abi >= 3 else 0)
        | (FS_IOCTL_DEV if abi >= 5 else 0)
    )
    fs_handled = (write | FS_READ) if plan.isolate_files else 0
    attr = _RulesetAttr(
        fs_handled,
        (NET_BIND_TCP | NET_CONNECT_TCP) if plan.isolate_network and abi >= 4 else 0,
        (SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0,
    )
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    if not (attr.handled_access_fs or attr.handled_access_net or attr.scoped):
        return False
    ruleset = libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    try:

        def allow(path: str, access: int, follow: bool = True) -> None:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW))
            except OSError:
                return
            try:
                rule = _PathBeneath(access, fd)
                libc.syscall(
                    SYS_LANDLOCK_ADD_RULE,
                    ctypes.c_int(ruleset),
                    ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH),
                    ctypes.byref(rule),
                    ctypes.c_uint32(0),
                )
            finally:
                os.close(fd)

        if plan.isolate_files:
            for root in plan.read_roots:
                allow(root, FS_READ)
            for root in plan.list_roots:
                allow(root, FS_READ_DIR)
            for file in plan.read_files:
                allow(file, FS_READ_FILE, follow=False)
            try:
                me = "/proc/" + os.readlink("/proc/self")  # this process in the /proc it sees, before exec
            except OSError:
                me = f"/proc/{os.getpid()}"
            for entry in (*PROC_READ, *(f"{me}/{name}" for name in PROC_SELF_READ)):  # never environ, mem, task
                allow(entry, FS_READ if os.path.isdir(entry) else FS_READ_FILE)
            allow(plan.home, FS_READ | write)
            for device in DEV_READ:
                allow(device, FS_READ_FILE, follow=False)
            allow("/dev/null", FS_WRITE_FILE | ((FS_TRUNCATE | FS_IOCTL_DEV) & write) | FS_READ_FILE, follow=False)
            if plan.private_shm:  # the probe's own tmpfs (see grader.probe.sandbox), never the host's
                allow("/dev/shm", FS_READ | write, follow=False)
        if libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            return False
    finally:
        os.close(ruleset)
    if plan.isolate_files:
        state["filesystem"] = (
            "Landlock: writes only in the probe's temp dir"
            + (" and private /dev/shm" if plan.private_shm else "")
            + ", reads only Python, system and model folders"
        )
        state["dev"] = "null, zero, random, urandom" + (", private shm" if plan.private_shm else "")
    if attr.scoped:
        state["signals"] = "scoped (Landlock)"
    return True


def _child_env(home: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    package_parent = str(Path(grader.__file__).resolve().parent.parent)
    env.update(
        HOME=str(home),
        TMPDIR=str(home),
        PYTHONPATH=package_parent,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        PYTHONNOUSERSITE="1",
        MLFLOW_TRACKING_URI=(home / "nowhere").as_uri(),
        NO_PROXY="*",
        MPLCONFIGDIR=str(home),
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
    )
    return env


def probe_model(
    model: ModelArtifactEv | None, snapshot_root: Path, options: ProbeOptions = ProbeOptions(), files=None
) -> ProbeEv:
    """Load the model at ``model.path`` (inside the snapshot) and predict the task's test rows
    (``options.task``: the first ``options.rows``, or the whole split when ``options.whole_split``).

    ``files``: the snapshot's :class:`~grader.submission.snapshot.ModelFiles`, when some model files
    were left in the submission: the child then loads a folder of its own (see :func:`_model_view`).
    """
    graded_with = dict(_versions())
    made_with = {
        k: v
        for k, v in (("mlflow", model and model.mlflow_version), ("scikit-learn", model and model.sklearn_version))
        if v
    }
    if model is None or not model.path:
        return ProbeEv(
            ok=False,
            error="the version's model folder (MLmodel) was not found in the submission",
            error_kind="missing",
            graded_with=graded_with,
        )
    base: dict[str, Any] = dict(model_path=model.path, made_with=made_with, graded_with=graded_with)
    if not model.ok:
        return ProbeEv(ok=False, error=f"{model.path}: {model.problem}", error_kind="missing", **base)
    folder = snapshot_root / model.path

    from .scan import scan_model_dir

    started = time.perf_counter()
    refusal = scan_model_dir(
        folder, model, trust_pickles=options.trust_pickles, content=files.content if files else None
    )
    scan_ms = round((time.perf_counter() - started) * 1000, 1)
    if refusal:
        # "not loaded: ... install it with pip install 'mlflow-grader[xgboost]'": the grader lacks a
        # library (an error the instructor fixes), not a model refused for safety (the student's).
        kind = "unsupported" if refusal.startswith("not loaded:") else "refused"
        return ProbeEv(ok=False, error=refusal, error_kind=kind, details={"scan_ms": scan_ms}, **base)

    x_test, y_test = options.task.split()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlflow-grader-probe-", ignore_cleanup_errors=True) as tmp:
        home = Path(tmp)
        request, errfile = home / "request.json", home / "stderr.txt"
        originals = files.originals_under(folder) if files is not None else {}
        try:
            # Under /dev/shm (where snapshots live) the folder is hidden by the probe's own tmpfs: a view.
            model_dir = _model_view(folder, originals, home / "model") if originals or _under_shm(folder) else folder
        except OSError as exc:
            return ProbeEv(ok=False, error=f"{model.path}: {exc}", error_kind="missing", **base)
        # The whole test split: its first rows are the homework's final cell, all of it gives the
        # metrics that integrity.metrics compares with the logged ones.
        x_probe = x_test if options.whole_split else x_test.head(options.rows)
        request.write_text(
            json.dumps(
                {
                    "model_dir": str(model_dir),
                    "columns": list(x_probe.columns),
                    **_rows(x_probe, home),
                    "trust_pickles": options.trust_pickles,
                    "model_file": model.model_file,
                    "model_bytes": _files_bytes(folder / model.model_file if model.model_file else folder),
                    "pickled": (model.serialization_format or "pickle") in ("pickle", "cloudpickle"),
                }
            )
        )
        forked = _use_fork(options.launcher)
        plan = _Plan(options, model_dir, home, forked=forked, read_files=tuple(str(o) for o in originals.values()))
        outcome = _run(forked, request, home, errfile, plan, options.timeout)
        elapsed = (time.perf_counter() - started) * 1000
        details: dict[str, Any] = {
            "scan_ms": scan_ms,
            "launcher": "fork" if forked else "spawn",
            "isolation": outcome.isolation,
        }
        if outcome.error:
            return ProbeEv(ok=False, error=outcome.error, error_kind="internal", details=details, **base)
        if outcome.timed_out:
            return ProbeEv(
                ok=False,
                error=f"loading and predicting took more than {options.timeout:g} s (timeout)",
                error_kind="timeout",
                duration_ms=elapsed,
                details=details,
                **base,
            )
        payload = outcome.result
        # The parent decides: a non-zero exit is a crash, whatever was sent.
        if payload is None or outcome.returncode != 0:
            return ProbeEv(
                ok=False,
                error=_death(outcome.returncode, _tail(errfile), options.memory_mb),
                error_kind="crash",
                duration_ms=elapsed,
                details=details,
                **base,
            )
    if not payload.get("ok"):
        error = str(payload.get("error", "?"))[:1400]  # worker._line: up to four lines of 300
        if error.startswith("MemoryError"):
            return ProbeEv(
                ok=False,
                error=f"the model needs more memory than the probe allows ({options.memory_mb} MiB): {error}",
                error_kind="crash",
                duration_ms=elapsed,
                details=details,
                **base,
            )
        return ProbeEv(
            ok=False,
            error=error,
            error_kind=str(payload.get("stage", "load"))[:20],
            duration_ms=elapsed,
            details=details,
            **base,
        )
    predictions = payload.get("predictions")
    if not isinstance(predictions, list):
        predictions = []
    details["output_type"] = str(payload.get("output_type", ""))[:100]
    details["parallelism"] = str(payload.get("parallelism", ""))[:100]
    timings = payload.get("timings")
    timings = timings if isinstance(timings, dict) else {}
    for key in ("load_ms", "predict_ms"):
        if isinstance(timings.get(key), (int, float)) and not isinstance(timings.get(key), bool):
            details[key] = float(timings[key])
    if options.whole_split and len(predictions) == len(x_test):
        details["test_metrics"] = options.task.score(predictions, y_test)
        if options.task.whole_data:  # grade rubric init: every row's prediction (grader.scaffold)
            details["all_predictions"] = predictions
        predictions = predictions[: options.rows]
    return ProbeEv(ok=True, predictions=predictions[:1000], duration_ms=elapsed, details=details, **base)


def _files_bytes(path: Path, depth: int = 3) -> int:
    """The size of the model's file, or of a folder's regular files ``depth`` levels deep (a
    snapshot's placeholders have their original's size): about what loading the model reads."""
    total = 0
    try:
        if path.is_file() and not path.is_symlink():
            return path.stat().st_size
        for entry in os.scandir(path):
            if entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
            elif depth > 0 and entry.is_dir(follow_symlinks=False):
                total += _files_bytes(Path(entry.path), depth - 1)
    except OSError:
        pass
    return total


def _rows(frame, home: Path) -> dict[str, Any]:
    """The rows the child predicts, for its request: numbers in a ``.npy`` file beside it (read
    without pickle; 1 ms where JSON took 20 for the 4,128 rows of the test split), anything else
    (text columns) as JSON lists."""
    import numpy as np

    values = frame.to_numpy()
    if values.dtype.kind in "biuf":
        path = home / "rows.npy"
        np.save(path, values, allow_pickle=False)
        return {"rows_file": str(path)}
    return {"rows": values.tolist()}


def _model_view(folder: Path, originals: dict[Path, Path], view: Path) -> Path:
    """A model folder for the child, in its temp dir: the snapshot's small files copied, and a link
    to the original for each file the snapshot left in the submission (the sandbox may read those
    originals, and nothing else of the submission; it can write none of them). Saves copying the
    one large file that is loaded (226 MiB for the reference's forest). Raises ``OSError`` when an
    original is no longer the regular file of the size the snapshot saw."""
    import shutil
    import stat

    view.mkdir()
    for path in sorted(folder.rglob("*")):
        target = view / path.relative_to(folder)
        if path.is_symlink():
            continue
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path in originals:
            original = originals[path]
            info = os.lstat(original)
            if not stat.S_ISREG(info.st_mode) or info.st_size != path.stat().st_size:
                raise OSError(f"{path.name} changed in the submission while it was being graded")
            target.symlink_to(original)
        elif path.is_file():
            shutil.copyfile(path, target)
    return view


def _under_shm(path: Path) -> bool:
    real = os.path.realpath(path)
    return real == "/dev/shm" or real.startswith("/dev/shm/")


def _use_fork(launcher: str) -> bool:
    from .fork import can_fork

    if launcher not in ("auto", "fork", "spawn"):
        raise ValueError(f"unknown probe launcher {launcher!r} (auto, fork or spawn)")
    return can_fork() if launcher == "auto" else launcher == "fork"


@dataclass
class _Outcome:
    """What :func:`_run` saw: the isolation (measured), the result frame, how the child ended."""

    isolation: dict
    result: dict | None = None
    returncode: int | None = None
    timed_out: bool = False
    error: str | None = None


def _run(forked: bool, request: Path, home: Path, errfile: Path, plan: _Plan, timeout: float) -> _Outcome:
    """Start the child, measure it while it waits for *go*, let it go, read its result (see
    :mod:`grader.probe.channel`); whatever happens, kill every process of the probe."""
    read_end, write_end = os.pipe()
    go_read, go_write = os.pipe()
    plan.result_fd, plan.go_fd = write_end, go_read
    deadline = time.monotonic() + timeout
    dumpable = _undumpable(plan.libc)  # the grader's /proc/<pid>/environ and mem: not for the child
    proc, pidfd, probe_fd = None, None, None
    isolation: dict[str, Any] = {}
    try:
        try:
            with open(errfile, "wb") as err:
                proc = _start(forked, request, home, err, plan)
        except (OSError, subprocess.SubprocessError) as exc:
            return _Outcome(isolation=_unmeasured(plan), error=f"could not start the probe: {exc}")
        finally:
            os.close(write_end)
            os.close(go_read)
        pidfd = _pidfd(proc.pid)
        reader = channel.Reader(read_end, pidfd)
        claimed = reader.frame(deadline, 4096)
        isolation, probe_pid = _isolation(claimed, proc.pid, plan)
        if probe_pid is not None:
            probe_fd = _pidfd(probe_pid)  # held before go: the pid cannot be reused under the final kill
        try:
            os.write(go_write, b"g")
        except OSError:
            pass
        result = reader.frame(deadline, MAX_RESULT_BYTES) if claimed is not None else None
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        if (
            result is not None
            and not timed_out
            and (reader.frame(time.monotonic() + 1, MAX_RESULT_BYTES) is not None or reader.buffer)
        ):
            result = None  # more than the worker's one result: something else wrote to the pipe
        return _Outcome(isolation, result, proc.returncode, timed_out)
    finally:
        if probe_fd is not None:  # PID 1 of the probe's PID namespace: all of its processes die with it
            try:
                signal.pidfd_send_signal(probe_fd, signal.SIGKILL)
            except OSError:
                pass
        if proc is not None:
            _kill(proc, sweep=not isolation.get("processes", "").startswith("PID namespace"))
        _restore_dumpable(plan.libc, dumpable)
        for fd in (read_end, go_write, pidfd, probe_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _start(forked: bool, request: Path, home: Path, err, plan: _Plan):
    """The worker, forked from this process or as a new interpreter, restricted by ``plan``."""
    fds = (plan.result_fd, plan.go_fd)
    args = [str(request), *(str(fd) for fd in fds)]
    if forked:
        from .fork import ForkedWorker

        return ForkedWorker(
            request,
            cwd=home,
            env=_child_env(home),
            stderr=err.fileno(),
            prepare=_limit_child(plan),
            keep_fds=fds,
            args=args,
            keep_env=frozenset(KEEP_ENV),
        )
    return subprocess.Popen(
        [sys.executable, "-m", "grader.probe.worker", *args],
        cwd=home,
        env=_child_env(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=err,
        close_fds=True,
        pass_fds=fds,
        preexec_fn=_limit_child(plan),
    )


def _undumpable(libc) -> int | None:
    """Make the grader non-dumpable while the child lives: then a same-user process (the child, when
    Landlock is missing) cannot read its ``/proc/<pid>/environ`` nor write its ``/proc/<pid>/mem``."""
    if libc is None:
        return None
    try:
        previous = libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
        if previous > 0:
            libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        return previous
    except (AttributeError, OSError):
        return None


def _restore_dumpable(libc, previous: int | None) -> None:
    if libc is not None and previous is not None and previous > 0:
        libc.prctl(PR_SET_DUMPABLE, previous, 0, 0, 0)


#: What the sandbox should have; each one that does not hold is named in ``isolation["not_held"]``.
_EXPECTED = {
    "net_namespace": "network namespace",
    "mnt_namespace": "mount namespace",
    "pid_namespace": "PID namespace",
    "private_shm": "private /dev/shm",
    "seccomp": "seccomp socket filter",
    "no_new_privs": "no_new_privs",
    "capabilities": "no capabilities",
}


def _unmeasured(plan: _Plan) -> dict:
    return {"network": "unknown", "filesystem": "unknown", "landlock_abi": str(plan.abi), "measured": "no"}


def _isolation(claimed: dict | None, child: int, plan: _Plan) -> tuple[dict, int | None]:
    """The isolation facts, and the pid of the sandboxed process (None when it cannot be trusted).

    ``claimed`` is the child's first frame, sent by the grader's own code before any model code
    ran; what :func:`grader.probe.sandbox.measure` can see in ``/proc`` replaces the claim.
    """
    if claimed is None:
        return _unmeasured(plan), None
    report = {str(k): str(v)[:200] for k, v in claimed.items() if k != "pid"}
    pid = claimed.get("pid")
    facts = sandbox.measure(child, pid) if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 else {}
    if not facts:
        report["measured"] = (
            "no (the child named a process that is not its own)"
            if os.path.isdir("/proc/self")
            else "no (no /proc to measure from)"
        )
        report["not_held"] = "measurement"
        return report, None
    if not facts.get("net_namespace") and "namespace" in report.get("network", ""):
        report["network"] = report["network"].split(" + ", 1)[1] if " + " in report["network"] else "none"
    if not facts.get("seccomp"):
        report["sockets"] = "allowed"
    report["processes"] = (
        "PID namespace (every process of the probe ends with it)"
        if facts.get("pid_namespace")
        else "session (killed as a whole; a process that left it may survive)"
    )
    report["shm"] = "private tmpfs (mount namespace)" if facts.get("private_shm") else "none (joblib runs sequentially)"
    report["capabilities"] = "none" if facts.get("capabilities") else "kept"
    report["no_new_privs"] = "yes" if facts.get("no_new_privs") else "no"
    report["measured"] = "by the grader from /proc: namespaces, seccomp, no_new_privs, capabilities, mounts"
    missing = [
        label
        for key, label in _EXPECTED.items()
        if not facts.get(key) and not (key == "net_namespace" and not plan.isolate_network)
    ]
    if "Landlock" not in report.get("filesystem", ""):
        missing.append("Landlock")
    if "scoped" not in report.get("signals", ""):
        missing.append("signal scoping")
    report["not_held"] = ", ".join(missing) or "nothing"
    return report, pid


def _kill(proc, sweep: bool = False) -> None:
    """Kill the child's process group (and, without a PID namespace, every process of its session)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        if proc.poll() is None:
            proc.kill()
    if sweep:
        _kill_session(proc.pid)
    proc.wait()


def _kill_session(sid: int) -> None:
    """SIGKILL every process whose session is ``sid`` (those that left the process group)."""
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) == sid and pid != os.getpid():  # field 6: session
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue


def _tail(path: Path) -> bytes:
    try:
        if path.is_symlink() or not path.is_file():
            return b""
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - STDERR_TAIL))
            return fh.read(STDERR_TAIL)
    except OSError:
        return b""


def _death(returncode: int | None, stderr: bytes | None, memory_mb: int = 0) -> str:
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = str(-returncode)
        why = {
            "SIGKILL": " (killed, probably out of memory)",
            "SIGSEGV": " (segmentation fault)",
            "SIGABRT": " (aborted, often out of memory)",
            "SIGBUS": " (bus error)",
            "SIGXFSZ": " (wrote too large a file)",
        }.get(name, "")
        return f"the probe process died with {name}{why}"
    lines = [line for line in (stderr or b"").decode("utf-8", "replace").strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else ""
    if "MemoryError" in last:
        return f"the model needs more memory than the probe allows ({memory_mb} MiB): MemoryError"
    last = "".join(c if c.isprintable() else "?" for c in last)[:200]
    return f"the probe process exited with code {returncode} without a result {last}".strip()
