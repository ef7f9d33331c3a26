"""Credentials in storage URLs: hidden from output, logs and files."""

from __future__ import annotations

import re

#: query keys that carry a secret in a SQLAlchemy or libpq URL (password, sslpassword, passfile's ...)
SECRET_KEY = re.compile(r"(?i)((?:^|[?&;])[^=&;]*(?:password|passwd|pwd|secret|token)[^=&;]*=)[^&;]*")


def mask(url: str) -> str:
    """`url` with every credential replaced by ***, for output, logs and files: the password of
    `user:password@host` (up to the last '@', so a raw '@' in it hides the rest too) and any
    password-like query value (`?password=...`, `&sslpassword=...`)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return SECRET_KEY.sub(r"\1***", url)
    location, question, query = rest.partition("?")
    if "@" in location:
        userinfo, _, host = location.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        location = f"{user}{':***' if colon else ''}@{host}"
    return f"{scheme}://{location}{question}" + SECRET_KEY.sub(r"\1***", query)


def secrets_in(url: str) -> list[str]:
    """The credential strings in `url` (what `mask` hides), longest first, for scrubbing any text."""
    found = []
    _, sep, rest = url.partition("://")
    location, _, query = rest.partition("?")
    if sep and "@" in location:
        found.append(location.rpartition("@")[0].partition(":")[2])
    found += [match.group(0).split("=", 1)[1] for match in SECRET_KEY.finditer(query or url)]
    return sorted({secret for secret in found if len(secret) >= 2}, key=len, reverse=True)


def scrub(text: str, urls) -> str:
    """`text` with every credential of `urls` replaced by ***."""
    for url in urls:
        for secret in secrets_in(url or ""):
            text = text.replace(secret, "***")
    return text
