"""The keys that seal stored HubSpot tokens: ``TOKEN_ENC_SECRET`` (32 bytes as hex or base64)
and ``TOKEN_ENC_OLD_SECRETS``, earlier keys still accepted for reading while tokens are sealed
again under the new one. Values never appear in a repr or an error."""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, SecretStr
from pydantic_settings import NoDecode

from engine.settings import parsers
from engine.settings.crypto import decode_secret, key_id
from engine.settings.section import Section, variable


class SecuritySettings(Section):
    token_enc_secret: Annotated[SecretStr | None, BeforeValidator(parsers.secret_key)] = variable(
        "TOKEN_ENC_SECRET"
    )
    token_enc_old_secrets: Annotated[
        tuple[SecretStr, ...], NoDecode, BeforeValidator(parsers.secret_key_list)
    ] = variable("TOKEN_ENC_OLD_SECRETS", default=())

    def token_keys(self) -> dict[str, bytes]:
        """Encryption keys by key id: the current TOKEN_ENC_SECRET first, then older ones."""
        keys: dict[str, bytes] = {}
        for secret in (self.token_enc_secret, *self.token_enc_old_secrets):
            if secret is not None:
                raw = decode_secret(secret.get_secret_value())
                keys.setdefault(key_id(raw), raw)
        return keys
