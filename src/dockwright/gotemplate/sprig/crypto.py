"""sprig's deterministic crypto functions: sha1sum sha256sum adler32sum derivePassword.

Left out: bcrypt, htpasswd (random salt), genPrivateKey, genCA and the certificate
functions, encryptAES (random IV), randBytes, uuidv4; decryptAES (would need AES in pure
Python).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import zlib

from dockwright.gotemplate.values import STRING, Func, go_bytes

_SEED = b"com.lyndir.masterpassword"
_TEMPLATES = {
    "maximum": ["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
    "long": ["CvcvnoCvcvCvcv", "CvcvCvcvnoCvcv", "CvcvCvcvCvcvno", "CvccnoCvcvCvcv",
             "CvccCvcvnoCvcv", "CvccCvcvCvcvno", "CvcvnoCvccCvcv", "CvcvCvccnoCvcv",
             "CvcvCvccCvcvno", "CvcvnoCvcvCvcc", "CvcvCvcvnoCvcc", "CvcvCvcvCvccno",
             "CvccnoCvccCvcv", "CvccCvccnoCvcv", "CvccCvccCvcvno", "CvcvnoCvccCvcc",
             "CvcvCvccnoCvcc", "CvcvCvccCvccno", "CvccnoCvcvCvcc", "CvccCvcvnoCvcc",
             "CvccCvcvCvccno"],
    "medium": ["CvcnoCvc", "CvcCvcno"],
    "short": ["Cvcn"],
    "basic": ["aaanaaan", "aannaaan", "aaannaaa"],
    "pin": ["nnnn"],
}
_CHARACTERS = {
    "V": "AEIOU",
    "C": "BCDFGHJKLMNPQRSTVWXYZ",
    "v": "aeiou",
    "c": "bcdfghjklmnpqrstvwxyz",
    "A": "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
    "a": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
    "n": "0123456789",
    "o": "@&%?,=[]_:-+*$#!'^~;()/.",
    "x": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
}


def _derive_password(counter: int, password_type: str, password: str, user: str,
                     site: str) -> str:
    """The Master Password algorithm (scrypt N=32768 r=8 p=2, HMAC-SHA256), as sprig."""
    templates = _TEMPLATES.get(password_type)
    if templates is None:
        return f"cannot find password template {password_type}"
    user_b, site_b = go_bytes(user), go_bytes(site)
    salt = _SEED + struct.pack(">I", len(user_b)) + user_b
    key = hashlib.scrypt(go_bytes(password), salt=salt, n=32768, r=8, p=2, dklen=64,
                         maxmem=64 * 1024 * 1024)
    message = _SEED + struct.pack(">I", len(site_b)) + site_b + struct.pack(">I", counter)
    seed = hmac.new(key, message, hashlib.sha256).digest()
    template = templates[seed[0] % len(templates)]
    out = []
    for i, element in enumerate(template):
        chars = _CHARACTERS[element]
        out.append(chars[seed[i + 1] % len(chars)])
    return "".join(out)


FUNCS: dict[str, Func] = {
    "sha1sum": Func(lambda s: hashlib.sha1(go_bytes(s)).hexdigest(), (STRING,), result=STRING),
    "sha256sum": Func(lambda s: hashlib.sha256(go_bytes(s)).hexdigest(), (STRING,),
                      result=STRING),
    "adler32sum": Func(lambda s: str(zlib.adler32(go_bytes(s))), (STRING,), result=STRING),
    "derivePassword": Func(_derive_password, ("uint32", STRING, STRING, STRING, STRING),
                           result=STRING),
}
