"""Symmetric encryption with key rotation: the first key encrypts, every key decrypts."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from soleflip.common.errors import InvalidInput


class Crypto:
    """Fernet over `SOLEFLIP_FERNET_KEYS`; `rotate` re-encrypts a token under the first key."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("SOLEFLIP_FERNET_KEYS is empty: at least one key is needed")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise ValueError(f"SOLEFLIP_FERNET_KEYS holds an invalid key: {exc}") from None

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise InvalidInput("ciphertext was not made by any configured key") from None

    def rotate(self, token: bytes) -> bytes:
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise InvalidInput("ciphertext was not made by any configured key") from None
