#!/usr/bin/env python3
"""tests/data/prt/gen.py — the PRT fixtures of tests/unit/test_prt.c, made with
python3-cryptography (independent of the agent's wolfSSL code).

From a fixed session key and ctx (the first vector of kdf-vectors.json):
  response.jwe / response.json   the encrypted answer to a session-key signed
      request ([MS-OAPXBC] 3.2.5.1.2.x; ROADtools auth.py decrypt_auth_response):
      header {"alg":"dir","enc":"A256GCM","ctx":"<std b64>"}, empty segment 2,
      12-byte IV, ciphertext, 16-byte tag; key = the kdf v1 key (SP 800-108
      counter mode, HMAC-SHA256, label "AzureAD-SecureConversation", context =
      ctx), AAD = the ASCII of segment 1.  response.json is the plaintext.
  renew.jwe / renew.json         the same for a PRT renewal answer.
  session-key.jwe                the PRT answer's session_key_jwe: header
      {"enc":"A256GCM","alg":"RSA-OAEP"}, segment 2 = RSA-OAEP (SHA-1, MGF1-SHA-1,
      no label) of the session key under transport-key.pem, segments 3-5 an
      AES-256-GCM encryption of "{}" with the session key (AAD = segment 1).
  transport-key.pem              a throw-away RSA-2048 test key (made once, kept;
      it only ever protects these fixtures).

Deterministic except segment 2 of session-key.jwe (OAEP is randomised).
Run from anywhere: python3 tests/data/prt/gen.py
"""
import base64
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.kbkdf import CounterLocation, KBKDFHMAC, Mode

HERE = os.path.dirname(os.path.abspath(__file__))


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def kdf(session_key, context):
    return KBKDFHMAC(algorithm=hashes.SHA256(), mode=Mode.CounterMode, length=32, rlen=4,
                     llen=4, location=CounterLocation.BeforeFixed,
                     label=b"AzureAD-SecureConversation", context=context,
                     fixed=None).derive(session_key)


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def jwe_dir(session_key, ctx, iv, plaintext):
    header = json.dumps({"alg": "dir", "enc": "A256GCM",
                         "ctx": base64.b64encode(ctx).decode()}, separators=(",", ":"))
    seg1 = b64url(header.encode())
    ct = AESGCM(kdf(session_key, ctx)).encrypt(iv, plaintext, seg1.encode())
    return ".".join([seg1, "", b64url(iv), b64url(ct[:-16]), b64url(ct[-16:])]).encode()


def main():
    vec = json.load(open(os.path.join(HERE, "kdf-vectors.json")))["vectors"][0]
    session_key = bytes.fromhex(vec["session_key_hex"])
    ctx = bytes.fromhex(vec["ctx_hex"])
    assert kdf(session_key, ctx).hex() == vec["derived_v1_hex"]

    token = json.dumps({
        "token_type": "Bearer",
        "access_token": "eyJ0eXAiOiJKV1QifQ.eyJkZXZpY2VpZCI6ImRldi0xIn0.c2ln",
        "refresh_token": "1.AXEA-fixture-refresh-token",
        "expires_in": "3599",
        "id_token": "eyJ0eXAiOiJKV1QifQ.eyJ1cG4iOiJ1QGNvbnRvc28uZXhhbXBsZSJ9.",
    }, separators=(",", ":")).encode()
    write("response.json", token)
    write("response.jwe", jwe_dir(session_key, ctx, bytes(range(12)), token))

    renew = json.dumps({
        "token_type": "Bearer",
        "refresh_token": "0.AXEA-fixture-renewed-prt",
        "refresh_token_expires_in": 1209599,
        "expires_in": "3599",
        "id_token": "eyJ0eXAiOiJKV1QifQ.eyJ1cG4iOiJ1QGNvbnRvc28uZXhhbXBsZSJ9.",
        "client_info": "eyJ1aWQiOiIxIn0",
    }, separators=(",", ":")).encode()
    write("renew.json", renew)
    write("renew.jwe", jwe_dir(session_key, ctx, bytes(range(12, 24)), renew))

    kpath = os.path.join(HERE, "transport-key.pem")
    if not os.path.exists(kpath):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        write("transport-key.pem", key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption()))
    key = serialization.load_pem_private_key(open(kpath, "rb").read(), password=None)
    write("transport-key.der", key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    seg1 = b64url(json.dumps({"enc": "A256GCM", "alg": "RSA-OAEP"},
                             separators=(",", ":")).encode())
    ek = key.public_key().encrypt(session_key, padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None))
    iv = bytes(range(24, 36))
    ct = AESGCM(session_key).encrypt(iv, b"{}", seg1.encode())
    write("session-key.jwe", ".".join(
        [seg1, b64url(ek), b64url(iv), b64url(ct[:-16]), b64url(ct[-16:])]).encode())


if __name__ == "__main__":
    main()
