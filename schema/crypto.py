"""Secrets at rest: HubSpot tokens encrypted with AES-256-GCM, API keys kept only as hashes.

A stored token is ``nonce (12 bytes) || ciphertext || tag`` plus the id of the key that sealed it,
so TOKEN_ENC_SECRET can rotate: the old key stays readable (TOKEN_ENC_OLD_SECRETS) while new writes
use the current one. The user's id is bound in as associated data, so a ciphertext copied onto
another user's row fails to decrypt instead of leaking a token to the wrong account.

API keys are 256-bit random strings; only their SHA-256 is stored. A slow password hash would add
nothing against keys that cannot be guessed, and a plain digest lets the API find the user by index.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from schema.errors import TokenDecryptError

API_KEY_PREFIX = "sk_simcrm_"
_NONCE_BYTES = 12


class TokenCipher:
    """Encrypts with the first key of ``keys``; decrypts with whichever key id a row names."""

    __slots__ = ("_current", "_keys")

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise ValueError("TOKEN_ENC_SECRET must be set to store HubSpot tokens")
        for key in keys.values():
            if len(key) != 32:
                raise ValueError("encryption keys must be 32 bytes")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = next(iter(keys))

    def __repr__(self) -> str:
        return f"TokenCipher(key_ids={list(self._keys)!r})"

    @property
    def current_key_id(self) -> str:
        return self._current

    def encrypt(self, plaintext: str, *, context: bytes) -> tuple[bytes, str]:
        """Seal ``plaintext`` bound to ``context``; returns the blob and the key id used."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, plaintext.encode(), context)
        return nonce + sealed, self._current

    def decrypt(self, blob: bytes, key_id: str, *, context: bytes) -> str:
        """Open a blob sealed by :meth:`encrypt`.

        Raises:
            TokenDecryptError: the key id is not configured, the key is wrong, or the blob or its
                context was altered.
        """
        aead = self._keys.get(key_id)
        if aead is None:
            raise TokenDecryptError(
                f"token was encrypted with key {key_id!r}, which is neither TOKEN_ENC_SECRET "
                "nor in TOKEN_ENC_OLD_SECRETS"
            )
        try:
            return aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context).decode()
        except (InvalidTag, ValueError):
            raise TokenDecryptError(
                f"token failed authentication with key {key_id!r}: wrong key or altered data"
            ) from None


def new_api_key() -> str:
    """A fresh API key: a recognisable prefix and 256 random bits."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    """The hex SHA-256 of an API key: what the users table stores."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two hashes."""
    return hmac.compare_digest(a.encode(), b.encode())
