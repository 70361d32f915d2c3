"""Password hashing with Argon2id (argon2-cffi), at its defaults: RFC 9106's low-memory
profile (64 MiB, 3 passes, 4 lanes), above OWASP's minimum.

Hashes are PHC strings (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``), so they carry their
own parameters: when the library's defaults rise, ``needs_rehash`` says so and the sign-in
stores a new hash. Hashes of the scrypt era (``scrypt$<n>$<r>$<p>$<salt>$<hash>``) still
verify, and are always due for a rehash. A hash costs ~0.2 s and 64 MiB: run it in a worker
thread, and bound how many run at once (``cti.auth.users``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 8
_HASHER = PasswordHasher()


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"a password needs at least {MIN_LENGTH} characters")


def hash_password(password: str) -> str:
    check_policy(password)
    return _HASHER.hash(password)


def rehash(password: str) -> str:
    """A current hash of a password that just verified (no policy check: the user could
    sign in with it, and refusing here would only keep the weaker hash)."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash that just verified should be replaced by one at today's parameters."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)
