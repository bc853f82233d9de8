"""Mosquitto 2.0 password files: PBKDF2-SHA512 hashes in the `$7$iterations$salt$hash` form
`mosquitto_passwd` writes (12-byte salt, 101 iterations), so no Mosquitto tool is needed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping

HASH_ITERATIONS = 101
SALT_BYTES = 12
_HASH_PATTERN = re.compile(r"^\$7\$(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$")


def new_password() -> str:
    """A random password for a device or the gateway (about 190 bits, URL-safe)."""
    return secrets.token_urlsafe(24)


def hash_password(
    password: str, salt: bytes | None = None, iterations: int = HASH_ITERATIONS
) -> str:
    """The `$7$` PBKDF2-SHA512 hash Mosquitto 2.0 reads from its password file."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    b64 = base64.b64encode
    return f"$7${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(hashed: str, password: str) -> bool:
    """Whether `password` matches a `$7$` hash (False for any other or malformed hash)."""
    m = _HASH_PATTERN.match(hashed)
    if m is None:
        return False
    try:
        salt = base64.b64decode(m.group(2), validate=True)
        expected = base64.b64decode(m.group(3), validate=True)
    except ValueError:
        return False
    iterations = int(m.group(1))
    if not 1 <= iterations <= 10_000_000:
        return False
    got = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(got, expected)


def parse_password_file(text: str) -> dict[str, str]:
    """`user:hash` lines of a Mosquitto password file; comments and junk are skipped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        user, _, hashed = line.partition(":")
        out[user] = hashed
    return out


def password_file_text(passwords: Mapping[str, str], previous: Mapping[str, str] = {}) -> str:
    """The password file for `passwords` (user -> clear text), sorted by user.

    A previous hash is kept when it still matches, so re-running without changes leaves the
    file byte-for-byte the same (a running broker then has nothing to reload).
    """
    lines = []
    for user in sorted(passwords):
        old = previous.get(user)
        pw = passwords[user]
        hashed = old if old is not None and verify_password(old, pw) else hash_password(pw)
        lines.append(f"{user}:{hashed}\n")
    return "".join(lines)


def dynsec_hash(
    password: str, salt: bytes | None = None, iterations: int = HASH_ITERATIONS
) -> dict[str, str | int]:
    """The `password`, `salt` and `iterations` fields of a client in the dynamic-security
    plugin's JSON file: PBKDF2-SHA512 of the password with the decoded salt, each base64
    (what `mosquitto_ctrl dynsec init` writes)."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return {
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": iterations,
    }


def verify_dynsec(entry: Mapping[str, object], password: str) -> bool:
    """Whether a dynamic-security client entry's hash is of `password` (False if malformed)."""
    hashed, salt, iterations = entry.get("password"), entry.get("salt"), entry.get("iterations")
    if not (isinstance(hashed, str) and isinstance(salt, str) and isinstance(iterations, int)):
        return False
    if not 1 <= iterations <= 10_000_000:
        return False
    try:
        expected = base64.b64decode(hashed, validate=True)
        raw_salt = base64.b64decode(salt, validate=True)
    except ValueError:
        return False
    got = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), raw_salt, iterations)
    return hmac.compare_digest(got, expected)
