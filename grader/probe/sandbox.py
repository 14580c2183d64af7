"""The probe child's namespaces, mounts, capabilities and environment; and what the grader measures of them.

Child side (called by :func:`grader.probe.runner._limit_child`, in the child, before any model code,
imports nothing):

- :func:`enter_namespaces`: one ``unshare`` of a new mount, network and PID namespace (inside a new
  user namespace, mapped to the same uid/gid, when the process may not do it as it is), with
  fallbacks to less when the kernel refuses;
- :func:`fork_into_pid_namespace`: the process that unshared the PID namespace cannot enter it, its
  first child does: that child goes on as the probe (PID 1 of the namespace, so that when it ends
  every process the model started ends with it: none outlives the probe), the parent only waits
  for it and exits as it did;
- :func:`private_mounts`: every mount made private first (``MS_REC|MS_PRIVATE``: nothing the probe
  mounts propagates to the host), then a small tmpfs of its own on ``/dev/shm`` (POSIX semaphores
  for joblib's thread pools, shared memory for process pools; it also hides the host's
  ``/dev/shm``, where other students' snapshots live), and a ``/proc`` of the new PID namespace
  (only the probe's own processes are visible);
- :func:`drop_capabilities`: an empty bounding set and no capabilities (root's child cannot load a
  kernel module, trace a process or override file permissions; an ``exec`` gains none back);
- :func:`scrub_inherited_environment`: a forked child starts with the grader's memory, where the
  environment is (the block ``/proc/self/environ`` shows, libc's ``environ`` strings, Python's
  ``os.environ`` and ``posix.environ``): every value not kept is overwritten with zeros.

Grader side: :func:`measure` reads ``/proc/<pid>/status``, ``/proc/<pid>/ns/*`` and
``/proc/<pid>/mountinfo`` of the waiting child and says what holds, whatever the child reported.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REC, MS_PRIVATE = 2, 4, 8, 0x4000, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 1, 4, 24, 47, 4
SHM_OPTIONS = b"size=256m,nr_inodes=4096,mode=1777"
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
NAMESPACES = ("net", "mnt", "pid", "user")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _write(path: str, text: str) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY)
    except OSError:
        return False
    try:
        os.write(fd, text.encode())
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def enter_namespaces(libc, network: bool) -> dict:
    """Unshare what can be had, most first; returns ``{"flags": int, "user": bool, "mapped": bool}``
    (``mapped``: the ids could be mapped in the new user namespace, so the probe may own files)."""
    wanted = CLONE_NEWNS | CLONE_NEWPID | (CLONE_NEWNET if network else 0)
    uid, gid = os.getuid(), os.getgid()
    attempts = [wanted, wanted & ~CLONE_NEWPID, CLONE_NEWNET if network else 0]
    for flags in attempts:
        if not flags:
            continue
        if libc.unshare(flags) == 0:
            return {"flags": flags, "user": False, "mapped": True}
        if libc.unshare(CLONE_NEWUSER | flags) == 0:
            # Map the same ids, so that files the probe makes (its tmpfs) have an owner.
            _write("/proc/self/setgroups", "deny")
            mapped = _write("/proc/self/uid_map", f"{uid} {uid} 1") and _write("/proc/self/gid_map", f"{gid} {gid} 1")
            return {"flags": flags, "user": True, "mapped": mapped}
    return {"flags": 0, "user": False}


def fork_into_pid_namespace(libc) -> None:
    """Fork; the child returns (it is PID 1 of the new namespace), this process waits and exits as it did."""
    child = os.fork()
    if child == 0:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        return
    os.closerange(0, _max_fd())  # holds nothing the probe or the grader reads (pipes end with the child)
    status = 0
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            os._exit(1)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):
            pass
        os.kill(os.getpid(), sig)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 1 << 20)
    except (ValueError, OSError):
        return 4096


def private_mounts(libc, pid_namespace: bool, shm: bool = True) -> dict:
    """In the new mount namespace: all private, a tmpfs on ``/dev/shm``, a ``/proc`` of the PID namespace."""
    out = {"private": False, "shm": False, "proc": False}
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return out  # never mount anything that could propagate to the host
    out["private"] = True
    if shm and os.path.isdir("/dev/shm"):
        out["shm"] = libc.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, SHM_OPTIONS) == 0
    if pid_namespace:
        out["proc"] = libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, None) == 0
    return out


def drop_capabilities(libc) -> bool:
    """Empty the bounding set and the ambient, effective, permitted and inheritable sets."""
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == 22:  # EINVAL: no such cap
            break
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    return libc.capset(ctypes.byref(header), data) == 0


def scrub_inherited_environment(libc, keep: set[str]) -> None:
    """Overwrite the inherited environment's values (all but ``keep``) in this process's memory."""
    import posix  # a built-in module: imported already, nothing is read from disk

    try:  # libc's environ strings: the original block and whatever setenv() allocated
        environ = ctypes.POINTER(ctypes.c_void_p).in_dll(libc, "environ")
        i = 0
        while environ[i]:
            entry = ctypes.string_at(environ[i])
            key, _, value = entry.partition(b"=")
            if key.decode("utf-8", "replace") not in keep and value:
                ctypes.memset(environ[i] + len(key) + 1, 0, len(value))
            i += 1
    except (ValueError, OSError, AttributeError):
        pass
    try:  # the block /proc/self/environ shows (env_start..env_end), zeroed whole
        with open("/proc/self/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # fields 50 and 51 of proc(5)
        if 0 < start < end and end - start < 1 << 24:
            ctypes.memset(start, 0, end - start)
    except (OSError, ValueError, IndexError):
        pass
    offset = sys.getsizeof(b"") - 1  # where a bytes object's characters start
    for mapping in (posix.environ, getattr(os.environ, "_data", {})):
        for key, value in list(mapping.items()):
            name = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
            if name not in keep and isinstance(value, bytes) and len(value) > 1:  # 1-byte bytes are shared
                ctypes.memset(id(value) + offset, 0, len(value))
    posix.environ.clear()


# --------------------------------------------------------------------------- grader side


def _status(pid: int) -> dict[str, str]:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            return {k: v.strip() for k, v in (line.split(":", 1) for line in fh if ":" in line)}
    except OSError:
        return {}


def measure(child: int, probe: int) -> dict:
    """What holds for ``probe`` (the sandboxed process), measured from this process's ``/proc``.

    ``child`` is the process the grader started: ``probe`` must be it or its child (the PID 1 of
    the new PID namespace). Returns plain strings and booleans; an empty dict when ``probe`` is
    not the child's.
    """
    status = _status(probe)
    if not status or (probe != child and status.get("PPid") != str(child)):
        return {}
    out: dict = {}
    for name in NAMESPACES:
        try:
            out[f"{name}_namespace"] = os.readlink(f"/proc/{probe}/ns/{name}") != os.readlink(f"/proc/self/ns/{name}")
        except OSError:
            out[f"{name}_namespace"] = None
    out["pid_namespace"] = len(status.get("NSpid", "").split()) > len(_status(os.getpid()).get("NSpid", "x").split())
    out["no_new_privs"] = status.get("NoNewPrivs") == "1"
    out["seccomp"] = status.get("Seccomp") == "2"
    try:
        out["capabilities"] = int(status.get("CapEff", "1"), 16) == 0 and int(status.get("CapBnd", "1"), 16) == 0
    except ValueError:
        out["capabilities"] = None
    try:
        with open(f"/proc/{probe}/mountinfo", encoding="utf-8", errors="replace") as fh:
            mounts = [line.split() for line in fh]
        points = {m[4]: m[m.index("-") + 1] for m in mounts if "-" in m and len(m) > 5}
        out["mounts_private"] = not any(
            field.startswith("shared:") for m in mounts for field in m[6 : m.index("-")] if "-" in m
        )
        out["private_shm"] = (
            out["mnt_namespace"] is True
            and out["mounts_private"]
            and points.get("/dev/shm") == "tmpfs"
            and _own_shm_device() != _shm_device(mounts)
        )
    except (OSError, ValueError):
        out["mounts_private"] = out["private_shm"] = None
    return out


def _shm_device(mounts: list[list[str]]) -> str | None:
    for m in reversed(mounts):  # the last mount on a point is the visible one
        if len(m) > 4 and m[4] == "/dev/shm":
            return m[2]
    return None


def _own_shm_device() -> str | None:
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
            return _shm_device([line.split() for line in fh])
    except OSError:
        return None
