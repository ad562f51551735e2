"""Encryption keys as the settings give them: 32 bytes written as hex or base64, and the short
public fingerprint stored beside every ciphertext so the right key is found to open it."""

from __future__ import annotations

import base64
import binascii
import hashlib


def decode_secret(text: str) -> bytes:
    """Decode a 32-byte key given as 64 hex digits or as base64; ValueError otherwise (the
    message never holds the text)."""
    text = text.strip()
    if len(text) == 64:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ValueError("must be 32 bytes written as 64 hex digits or as base64")
    return raw


def key_id(raw_key: bytes) -> str:
    """A short public fingerprint of an encryption key, stored beside each ciphertext."""
    return hashlib.sha256(b"simcrm-key-id:" + raw_key).hexdigest()[:12]
