"""Where a submission's store lives, one module per kind, behind one :class:`Source` interface.

=================  ===========================================  ===============================
kind               reads                                        opens into
=================  ===========================================  ===============================
``folder``         a folder, an archive, ``file:`` URIs          a private rebased ``Snapshot``
``sqlite``         ``sqlite:`` URIs, SQLite database files       a private rebased ``Snapshot``
``server``         ``http(s)://`` tracking servers               a ``RemoteSource`` (read in place)
``postgresql``     ``postgresql://`` backend stores              a ``RemoteSource`` (read in place)
=================  ===========================================  ===============================

:func:`open_source` picks the kind (:func:`kind_of`: the scheme, else each kind's predicate, else
the folder) and opens it. Secrets and redaction live in :mod:`.secrets`; credentials stay with the
opened store and are handed to MLflow explicitly, never through ``os.environ``.

Adding a kind: a module here that defines a class with ``kind``, ``open()``, ``describe()`` and
``close()`` (see :class:`Source`) and calls :func:`register` with its schemes (and a predicate for
paths), imported below.
"""

from __future__ import annotations

# Each kind's module registers it on import (none imports this package's own names).
from . import folder, postgres, server, sqlite  # noqa: F401 - imported to register
from .base import Source, SourceKind, SourceRequest, kind_of, kinds, open_source, register, source_for, unregister
from .opened import RemoteSource, SharedSettings
from .secrets import ServerCredentials, redact, scrub, secret_forms

__all__ = [
    "RemoteSource",
    "ServerCredentials",
    "SharedSettings",
    "Source",
    "SourceKind",
    "SourceRequest",
    "kind_of",
    "kinds",
    "open_source",
    "redact",
    "register",
    "scrub",
    "secret_forms",
    "source_for",
    "unregister",
]
