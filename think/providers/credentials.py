"""The one masking rule for credentials: what counts as one, and how it is shown.

``think config show`` masks with it, and so does everything that prints or stores text a
server may have echoed (error messages, headers, a base URL's userinfo), before it is printed
or recorded.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

SECRET_HEADER = re.compile(r"auth|key|token|secret|cookie|session|password|credential", re.I)
"""Header names whose values are credentials (``Authorization``, ``x-api-key``,
``cf-aig-authorization``, ``Helicone-Auth`` …)."""

SHORTEST_SECRET = 8
"""Shorter values are masked whole and never searched for in text (too many false hits)."""


def mask(secret: str) -> str:
    """Enough of a key to recognise it, never enough to use it."""
    if len(secret) <= SHORTEST_SECRET:
        return "****"
    return f"{secret[:3]}…{secret[-4:]}"


def secrets_in(headers: Mapping[str, str], url: str | None = None) -> list[str]:
    """The credentials a request carries: values of credential headers (a bearer token's
    token too), and the userinfo of ``url`` (``https://user:password@host``)."""
    found: list[str] = []
    for name, value in headers.items():
        if SECRET_HEADER.search(name) and value:
            found.append(value)
            scheme, _, token = value.partition(" ")
            if token and scheme.lower() in ("bearer", "basic", "token"):
                found.append(token)
    if url:
        parts = urlsplit(url)
        if parts.password:
            found += [parts.password, unquote(parts.password)]
        if parts.username and parts.password is not None:
            found.append(f"{parts.username}:{parts.password}")
    # longest first: a header value is masked whole before the token inside it
    return sorted({s for s in found if len(s) >= SHORTEST_SECRET}, key=len, reverse=True)


def userinfo_free(url: str) -> str:
    """``url`` without its ``user:password@`` part, for messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"****@{host}").geturl()


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every credential masked (servers sometimes echo the key they got)."""
    for secret in secrets:
        text = text.replace(secret, mask(secret))
    return text
