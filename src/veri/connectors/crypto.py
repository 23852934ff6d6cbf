"""Tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a MultiFernet, so keys rotate. The
first key encrypts; every key decrypts; `rotate` re-encrypts a ciphertext under the first key."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["TokenCipher", "new_key"]


def new_key() -> str:
    """A fresh Fernet key (32 random bytes, url-safe base64), to put in front of the others."""
    return Fernet.generate_key().decode()


class TokenCipher:
    def __init__(self, keys: list[str]):
        if not keys:
            raise ValueError("at least one key is needed")
        try:
            self._fernets = [Fernet(key.strip().encode()) for key in keys]
        except ValueError:
            raise ValueError("each connector token key must be a Fernet key (`veri connectors new-key`)") from None
        self._multi = MultiFernet(self._fernets)

    @classmethod
    def from_setting(cls, value: str) -> TokenCipher:
        """From `VERI_CONNECTOR_TOKEN_KEYS`: comma-separated, newest first."""
        return cls([part for part in value.split(",") if part.strip()])

    def encrypt(self, plaintext: str) -> str:
        return self._multi.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._multi.decrypt(ciphertext.encode()).decode()
        except InvalidToken:
            raise ValueError("this ciphertext was made with none of the configured keys") from None

    def rotate(self, ciphertext: str) -> str:
        """The same plaintext under the newest key (an unchanged ciphertext if it already is)."""
        if self.is_current(ciphertext):
            return ciphertext
        try:
            return self._multi.rotate(ciphertext.encode()).decode()
        except InvalidToken:
            raise ValueError("this ciphertext was made with none of the configured keys") from None

    def is_current(self, ciphertext: str) -> bool:
        try:
            self._fernets[0].decrypt(ciphertext.encode())
        except InvalidToken:
            return False
        return True
