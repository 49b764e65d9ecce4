"""Secrets never leave the process: API keys and URL passwords are scrubbed from every text dpbench
writes (prediction errors, manifests, logs) or prints.

dpbench knows each key's value (it reads it from the environment variable the user named), so it
registers it here and replaces it wherever it shows up, even inside a server's error body that echoes
the request's `Authorization` header. This set of values is the one piece of process-wide state
outside the registries: an error message can come from any layer, and every layer must scrub it.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_SECRETS: set[str] = set()
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")
_BEARER = re.compile(r"(?i)((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}")
_KEY_LIKE = re.compile(r"\bsk-[A-Za-z0-9_-]{8,}")


def register_secret(value: str | None) -> None:
    """Remember a secret's value (4+ characters; shorter ones would mask ordinary words)."""
    if value and len(value) >= 4 and value != "EMPTY":
        _SECRETS.add(value)


def register_url_credentials(url: str) -> None:
    """A URL's password (and the Basic auth header an HTTP client builds from it) become secrets."""
    import base64

    parts = urlsplit(url)
    if parts.password:
        register_secret(parts.password)
        raw = f"{parts.username or ''}:{parts.password}".encode()
        register_secret(base64.b64encode(raw).decode())


def redact_url(url: str) -> str:
    """Drop user:password@ from a URL."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return url


def redact(text: str) -> str:
    """`text` with known secrets, URL credentials, bearer tokens and sk-… keys masked."""
    if not text:
        return text
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{MASK}@", text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    return _KEY_LIKE.sub(MASK, text)
