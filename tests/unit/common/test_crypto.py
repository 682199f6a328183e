"""Fernet with rotation: the first key encrypts, every key decrypts, unknown keys are refused."""

from __future__ import annotations

import pytest

from soleflip.common.crypto import Crypto
from soleflip.common.errors import InvalidInput


def test_round_trip() -> None:
    crypto = Crypto([Crypto.generate_key()])
    assert crypto.decrypt(crypto.encrypt(b"refresh-token")) == b"refresh-token"


def test_old_key_still_decrypts_after_rotation() -> None:
    old, new = Crypto.generate_key(), Crypto.generate_key()
    token = Crypto([old]).encrypt(b"stored before rotation")
    assert Crypto([new, old]).decrypt(token) == b"stored before rotation"


def test_first_key_encrypts() -> None:
    old, new = Crypto.generate_key(), Crypto.generate_key()
    token = Crypto([new, old]).encrypt(b"fresh")
    assert Crypto([new]).decrypt(token) == b"fresh"
    with pytest.raises(InvalidInput):
        Crypto([old]).decrypt(token)


def test_rotate_re_encrypts_under_the_first_key() -> None:
    old, new = Crypto.generate_key(), Crypto.generate_key()
    token = Crypto([old]).encrypt(b"payload")
    rotated = Crypto([new, old]).rotate(token)
    assert Crypto([new]).decrypt(rotated) == b"payload"


def test_unknown_key_is_invalid_input() -> None:
    token = Crypto([Crypto.generate_key()]).encrypt(b"x")
    with pytest.raises(InvalidInput, match="no"):
        Crypto([Crypto.generate_key()]).decrypt(token)
    with pytest.raises(InvalidInput):
        Crypto([Crypto.generate_key()]).rotate(token)


def test_garbage_ciphertext_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        Crypto([Crypto.generate_key()]).decrypt(b"not a fernet token")


def test_no_keys_or_bad_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="SOLEFLIP_FERNET_KEYS"):
        Crypto([])
    with pytest.raises(ValueError, match="SOLEFLIP_FERNET_KEYS"):
        Crypto(["short"])
