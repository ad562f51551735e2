"""Token encryption fails loudly on a wrong key, an unknown key id, or any tampering."""

from __future__ import annotations

import pytest

from engine.settings import key_id
from schema.crypto import TokenCipher, hash_api_key, new_api_key
from schema.errors import TokenDecryptError

KEY_A = bytes(range(32))
KEY_B = bytes(range(1, 33))
CONTEXT = b"user:1"


def cipher(*keys: bytes) -> TokenCipher:
    return TokenCipher({key_id(key): key for key in keys})


def test_round_trip_and_fresh_nonce() -> None:
    """A token decrypts to itself; encrypting twice never gives the same bytes."""
    c = cipher(KEY_A)
    first, kid = c.encrypt("pat-na1-abc", context=CONTEXT)
    second, _ = c.encrypt("pat-na1-abc", context=CONTEXT)
    assert first != second
    assert b"pat-na1-abc" not in first
    assert c.decrypt(first, kid, context=CONTEXT) == "pat-na1-abc"


def test_wrong_key_fails() -> None:
    """A ciphertext opened with a different key under the same id is refused."""
    blob, kid = cipher(KEY_A).encrypt("t", context=CONTEXT)
    impostor = TokenCipher({kid: KEY_B})
    with pytest.raises(TokenDecryptError, match="wrong key or altered data"):
        impostor.decrypt(blob, kid, context=CONTEXT)


def test_unknown_key_id_fails() -> None:
    """A row sealed by a key that is no longer configured says which key is missing."""
    blob, kid = cipher(KEY_A).encrypt("t", context=CONTEXT)
    with pytest.raises(TokenDecryptError, match=kid):
        cipher(KEY_B).decrypt(blob, kid, context=CONTEXT)


@pytest.mark.parametrize("position", [0, 12, -1])
def test_tampered_ciphertext_fails(position: int) -> None:
    """Flipping one bit anywhere (nonce, body, tag) makes decryption fail."""
    c = cipher(KEY_A)
    blob, kid = c.encrypt("pat-na1-abc", context=CONTEXT)
    altered = bytearray(blob)
    altered[position] ^= 0x01
    with pytest.raises(TokenDecryptError):
        c.decrypt(bytes(altered), kid, context=CONTEXT)


def test_ciphertext_is_bound_to_its_user() -> None:
    """A ciphertext copied to another user's row does not decrypt there."""
    c = cipher(KEY_A)
    blob, kid = c.encrypt("t", context=b"user:1")
    with pytest.raises(TokenDecryptError):
        c.decrypt(blob, kid, context=b"user:2")


def test_old_key_still_decrypts_after_rotation() -> None:
    """After rotation the old key reads old rows while new rows use the new key."""
    blob, old_kid = cipher(KEY_A).encrypt("t", context=CONTEXT)
    rotated = cipher(KEY_B, KEY_A)
    assert rotated.decrypt(blob, old_kid, context=CONTEXT) == "t"
    assert rotated.encrypt("t", context=CONTEXT)[1] == key_id(KEY_B) != old_kid


def test_api_keys_are_random_and_hashed() -> None:
    """API keys are unique, long, and their hash reveals nothing of them."""
    keys = {new_api_key() for _ in range(100)}
    assert len(keys) == 100
    key = keys.pop()
    assert len(key) > 40
    digest = hash_api_key(key)
    assert len(digest) == 64
    assert key not in digest
    assert repr(cipher(KEY_A)).count(KEY_A.hex()) == 0
