"""RS256 tokens as Pub/Sub signs its push deliveries, with the standard library only.

An RSA key is made from the emulator's seed (the same seed, the same key), so a
token signed by one run of the emulator verifies against the certificates of the
next. Signing is PKCS#1 v1.5 with SHA-256 on Python integers; the certificate
served at /oauth2/v1/certs is a self-signed X.509 one, as Google's are.
"""

import base64
import functools
import hashlib
import json
import random
import threading
from typing import NamedTuple

KEY_BITS = 2048
PUBLIC_EXPONENT = 65537
ISSUER = "https://accounts.google.com"
# DigestInfo prefix of a SHA-256 hash (RFC 8017, section 9.2, note 1).
SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")
_RSA_ENCRYPTION = "1.2.840.113549.1.1.1"
_SHA256_WITH_RSA = "1.2.840.113549.1.1.11"
_COMMON_NAME = "2.5.4.3"
_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, int(p**0.5) + 1))]


class RsaKey(NamedTuple):
    n: int
    e: int
    d: int
    kid: str

    @property
    def size(self) -> int:
        return (self.n.bit_length() + 7) // 8

    def sign(self, data: bytes) -> bytes:
        """The PKCS#1 v1.5 signature of `data`'s SHA-256 hash."""
        digest = SHA256_PREFIX + hashlib.sha256(data).digest()
        padded = b"\x00\x01" + b"\xff" * (self.size - len(digest) - 3) + b"\x00" + digest
        return pow(int.from_bytes(padded, "big"), self.d, self.n).to_bytes(self.size, "big")


_making = threading.Lock()


def rsa_key(seed: int) -> RsaKey:
    """The key for a seed; a second or so the first time in a process, then cached."""
    # One thread makes it while the others wait: made by many at once, it takes as long
    # as all of them together.
    with _making:
        return _rsa_key(seed)


@functools.lru_cache(maxsize=8)
def _rsa_key(seed: int) -> RsaKey:
    rng = random.Random(f"push-key:{seed}")
    while True:
        p, q = _prime(rng, KEY_BITS // 2), _prime(rng, KEY_BITS // 2)
        phi = (p - 1) * (q - 1)
        if p != q and phi % PUBLIC_EXPONENT:
            n = p * q
            kid = hashlib.sha1(n.to_bytes(KEY_BITS // 8, "big")).hexdigest()
            return RsaKey(n, PUBLIC_EXPONENT, pow(PUBLIC_EXPONENT, -1, phi), kid)


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        # The top two bits set, so that the product has exactly 2 * bits bits.
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if all(candidate % p for p in _SMALL_PRIMES) and _probably_prime(candidate, rng):
            return candidate


def _probably_prime(n: int, rng: random.Random, rounds: int = 40) -> bool:
    """Miller-Rabin."""
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 1), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def jwt_encode(key: RsaKey, claims: dict) -> str:
    header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(key.sign(signing_input.encode()))}"


def push_claims(*, audience: str, email: str, now: float, lifetime: int = 3600) -> dict:
    """The claims of the OIDC token Pub/Sub sends with a push delivery."""
    issued = int(now)
    return {
        "aud": audience,
        "azp": "1" * 21,
        "email": email,
        "email_verified": True,
        "exp": issued + lifetime,
        "iat": issued,
        "iss": ISSUER,
        "sub": "1" * 21,
    }


@functools.lru_cache(maxsize=8)
def certificates(key: RsaKey) -> dict[str, str]:
    """What /oauth2/v1/certs answers: key id -> PEM certificate."""
    der = _certificate(key)
    lines = [base64.b64encode(der[i : i + 48]).decode() for i in range(0, len(der), 48)]
    body = "\n".join(lines)
    return {key.kid: f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"}


def _certificate(key: RsaKey) -> bytes:
    """A self-signed X.509 v3 certificate of the key (DER)."""
    algorithm = _seq(_oid(_SHA256_WITH_RSA), b"\x05\x00")
    name = _seq(_tlv(0x31, _seq(_oid(_COMMON_NAME), _tlv(0x0C, b"gmail-emulator push"))))
    validity = _seq(_tlv(0x17, b"250101000000Z"), _tlv(0x17, b"491231235959Z"))
    public_key = _seq(_integer(key.n), _integer(key.e))
    spki = _seq(_seq(_oid(_RSA_ENCRYPTION), b"\x05\x00"), _tlv(0x03, b"\x00" + public_key))
    version = _tlv(0xA0, _integer(2))
    tbs = _seq(version, _integer(key.n % (1 << 64) | 1), algorithm, name, validity, name, spki)
    return _seq(tbs, algorithm, _tlv(0x03, b"\x00" + key.sign(tbs)))


def _tlv(tag: int, value: bytes) -> bytes:
    length = len(value)
    if length < 0x80:
        encoded = bytes([length])
    else:
        raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
        encoded = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + encoded + value


def _seq(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _integer(value: int) -> bytes:
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _oid(dotted: str) -> bytes:
    first, second, *rest = (int(part) for part in dotted.split("."))
    out = bytearray([first * 40 + second])
    for part in rest:
        chunk = [part & 0x7F]
        while part > 0x7F:
            part >>= 7
            chunk.append(0x80 | (part & 0x7F))
        out += bytes(reversed(chunk))
    return _tlv(0x06, bytes(out))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
