"""Secrets and redaction, in one place: what a credential looks like, and how none reaches a report.

A source's credentials (a tracking server's user and password or token, a PostgreSQL password) are
held by the opened store that needs them and handed to MLflow explicitly (see
:mod:`grader.sources.server` and :mod:`grader.sources.postgres`); they are never put into the
process environment. Everything shown to a person goes through :func:`redact` (a URI) or
:func:`scrub` (any text read back from MLflow, a driver or a server), with the source's
:func:`secret_forms`.
"""

from __future__ import annotations

from base64 import b64encode
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

#: Query parameters whose values are secrets (redacted wherever a URI is shown).
SECRET_KEYS = ("password", "passwd", "pwd", "token", "secret", "access_token", "api_key", "apikey", "sslpassword")
#: The environment variables through which a person may hand the grader a tracking server's
#: credentials. The grader reads them; it never writes them.
CREDENTIAL_VARIABLES = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")


def redact(text: str) -> str:
    """``text`` with a URI's password and secret query values replaced by ``***`` (user names stay)."""
    if "://" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return "<unparsable URI>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = (userinfo.split(":", 1)[0] + ":***" if ":" in userinfo else userinfo) + "@" + host
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode([(k, "***" if k.lower() in SECRET_KEYS else v) for k, v in pairs], safe="/:,*")
    if netloc == parts.netloc and query == parts.query:
        return text  # nothing secret: echoed as given (urlunsplit would turn sqlite://// into sqlite://)
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def secret_forms(value: str | None) -> list[str]:
    """The ways ``value`` may appear in a message: as is, URL-quoted and URL-unquoted.

    Nothing for a value shorter than 3 characters: replacing it would garble every message."""
    if not value or len(value) < 3:
        return []
    return list(dict.fromkeys([value, quote(value, safe=""), unquote(value)]))


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ``***``, and any URI's password redacted."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    if "://" in text and "@" in text:
        text = " ".join(redact(word) if "://" in word and "@" in word else word for word in text.split(" "))
    return text


@dataclass
class ServerCredentials:
    """A tracking server's credentials: HTTP Basic (``username`` + ``password``) or a bearer ``token``.

    Its ``repr`` never shows a secret; :meth:`header` is what the preflight sends, and
    :func:`grader.sources.server.host_creds` hands the same values to MLflow's REST client."""

    username: str | None = None
    password: str | None = None
    token: str | None = None

    def __repr__(self) -> str:  # never print a secret by accident
        password, token = "***" if self.password else None, "***" if self.token else None
        return f"ServerCredentials(username={self.username!r}, password={password}, token={token})"

    def header(self) -> str | None:
        """The ``Authorization`` header value, or None when there is nothing to send."""
        if self.username is not None and self.password is not None:
            return "Basic " + b64encode(f"{self.username}:{self.password}".encode()).decode()
        if self.token:
            return f"Bearer {self.token}"
        return None

    @property
    def given(self) -> bool:
        return self.header() is not None

    def secrets(self) -> tuple[str, ...]:
        """Every form of the password and the token (for :func:`scrub`)."""
        return tuple(s for v in (self.password, self.token) for s in secret_forms(v))


__all__ = ["CREDENTIAL_VARIABLES", "SECRET_KEYS", "ServerCredentials", "redact", "scrub", "secret_forms"]
