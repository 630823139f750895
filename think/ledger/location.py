"""Where a ledger lives: a file path (SQLite) or a ``postgresql://`` URL, and how each is
shown: a URL's password never (the credentials' masking rule), its server as host:port."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

URL_SCHEMES = ("postgresql://", "postgres://")
POSTGRES_EXTRA = "pip install 'think-cascade[postgres]'"
DEFAULT_PORT = 5432


def is_url(location: object) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than a file."""
    return isinstance(location, str) and location.lower().startswith(URL_SCHEMES)


def as_location(text: str) -> Path | str:
    """A setting's value as a location: a URL as it is, a path with ``~`` expanded."""
    return text if is_url(text) else Path(text).expanduser()


def shown(location: Path | str) -> str:
    """``location`` as ``config show`` and ``ledger path`` print it: a URL's password
    masked, by the rule that masks every credential."""
    if not is_url(location):
        return str(location)
    from think.providers.credentials import mask

    text = str(location)
    parts = urlsplit(text)
    if parts.password is None:
        return text
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    host = parts.netloc.rpartition("@")[2]
    shown_url = parts._replace(netloc=f"{user}:{mask(unquote(parts.password))}@{host}").geturl()
    return redact_query(shown_url)


def redact_query(url: str) -> str:
    """``url`` with a ``password=`` query parameter masked too."""
    from think.providers.credentials import mask

    parts = urlsplit(url)
    for value in parse_qs(parts.query).get("password", []):
        url = url.replace(value, mask(value))
    return url


def server(url: str) -> str:
    """The server and database a URL names, for messages: ``db.example.com:5432/think``."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "localhost"])[0]
    try:
        port = query.get("port", [str(parts.port or DEFAULT_PORT)])[0]
    except ValueError:  # a port that is not a number: libpq says so
        port = "?"
    database = unquote(parts.path.lstrip("/")) or query.get("dbname", [""])[0]
    return f"{host}:{port}" + (f"/{database}" if database else "")


def secrets(url: str) -> list[str]:
    """The password a URL carries (in its userinfo or its query), to mask in any text."""
    from think.providers.credentials import secrets_in

    found = secrets_in({}, url)
    found += [v for v in parse_qs(urlsplit(url).query).get("password", []) if v]
    return sorted(set(found), key=len, reverse=True)
