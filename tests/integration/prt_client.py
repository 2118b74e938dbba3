#!/usr/bin/env python3
"""prt_client.py — an independent PRT client for entra-sim's tests (python3-cryptography).

Builds and opens the messages of the PRT protocol the way ROADtools roadlib
deviceauth.py does (get_prt_with_refresh_token, decrypt_jwe_with_transport_key,
aad_brokerplugin_prt_auth / renew_prt, decrypt_auth_response) and
[MS-OAPXBC] 3.1.5.1.2, 3.1.5.2.1.3, 3.2.5.1.2 describe them.  No agent code.
Secrets (refresh token, PRT, session key) come in through the environment
(LJ_RT, LJ_PRT, LJ_SKEY) or stdin, never argv.

  rs256 KEY.pem CERT_B64 NONCE [OPTIONS]   (LJ_RT)
        OPTIONS: x5c_string, bad_sig, no_nonce, password (LJ_UPN, LJ_PW instead of LJ_RT)
  unwrap TKEY.pem < JWE          -> session key (hex), after checking alg/enc and 256 bytes
  hs256 NONCE MODE [kdf1] [bad_sig]        (LJ_SKEY, LJ_PRT)
        MODE: intune | graph | graph_aza | renew
  decrypt < JWE                  -> the plaintext (JSON)   (LJ_SKEY)
"""
import base64
import hashlib
import hmac
import json
import os
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.kbkdf import KBKDFHMAC, CounterLocation, Mode

BROKER = "29d9ed98-a469-4536-ade2-f981bc1d605e"
PRT_CLIENT = "38aa3b87-a06d-4817-b275-7a316988d93b"
INTUNE = "https://enrollment.manage.microsoft.com/"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def kdf(key, context):
    # SP 800-108 counter mode, HMAC-SHA256 (ROADtools calculate_derived_key uses KBKDFHMAC too).
    return KBKDFHMAC(algorithm=hashes.SHA256(), mode=Mode.CounterMode, length=32, rlen=4,
                     llen=4, location=CounterLocation.BeforeFixed,
                     label=b"AzureAD-SecureConversation", context=context,
                     fixed=None).derive(key)


def rs256(argv):
    keyf, cert_b64, nonce = argv[:3]
    rt = os.environ.get("LJ_RT", "")
    opts = argv[3:]
    key = serialization.load_pem_private_key(open(keyf, "rb").read(), None)
    hdr = {"alg": "RS256", "typ": "JWT", "kdf_ver": 2,
           "x5c": cert_b64 if "x5c_string" in opts else [cert_b64]}
    body = {"client_id": BROKER, "request_nonce": nonce, "scope": "openid aza ugs",
            "grant_type": "refresh_token", "refresh_token": rt, "win_ver": "10.0.26100.1"}
    for o in opts:
        if o == "password":
            upn, pw = os.environ["LJ_UPN"], os.environ["LJ_PW"]
            body = {"client_id": PRT_CLIENT, "request_nonce": nonce, "scope": "openid aza ugs",
                    "grant_type": "password", "username": upn, "password": pw,
                    "win_ver": "10.0.26100.1"}
    if "no_nonce" in opts:
        del body["request_nonce"]
    signing = (b64u(json.dumps(hdr, separators=(",", ":")).encode()) + "." +
               b64u(json.dumps(body, separators=(",", ":")).encode()))
    sig = bytearray(key.sign(signing.encode(), padding.PKCS1v15(), hashes.SHA256()))
    if "bad_sig" in opts:
        sig[10] ^= 1
    print(signing + "." + b64u(bytes(sig)))


def unwrap(argv):
    keyf = argv[0]
    jwe = sys.stdin.read().strip()
    key = serialization.load_pem_private_key(open(keyf, "rb").read(), None)
    parts = jwe.split(".")
    assert len(parts) == 5, "session_key_jwe is not 5 segments"
    hdr = json.loads(unb64u(parts[0]))
    assert hdr.get("alg") == "RSA-OAEP" and hdr.get("enc") == "A256GCM", hdr
    ek = unb64u(parts[1])
    assert len(ek) == 256, len(ek)
    sk = key.decrypt(ek, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(),
                                      label=None))
    assert len(sk) == 32
    # The content part must open with the session key too (AAD = segment 1).
    AESGCM(sk).decrypt(unb64u(parts[2]), unb64u(parts[3]) + unb64u(parts[4]),
                       parts[0].encode())
    print(sk.hex())


def hs256(argv):
    sk = bytes.fromhex(os.environ["LJ_SKEY"])
    prt = os.environ["LJ_PRT"]
    nonce, mode = argv[:2]
    opts = argv[2:]
    ctx = os.urandom(24)
    hdr = {"alg": "HS256", "typ": "JWT", "ctx": base64.b64encode(ctx).decode()}
    if "kdf1" not in opts:
        hdr["kdf_ver"] = 2
    if mode == "renew":
        body = {"client_id": PRT_CLIENT, "request_nonce": nonce, "scope": "openid aza ugs",
                "iss": "aad:brokerplugin", "grant_type": "refresh_token", "refresh_token": prt,
                "previous_refresh_token": prt, "win_ver": "10.0.26100.1"}
    else:
        body = {"client_id": BROKER, "refresh_token": prt, "request_nonce": nonce,
                "grant_type": "refresh_token", "iss": "aad:brokerplugin",
                "win_ver": "10.0.26100.1"}
        if mode == "intune":
            body["resource"] = INTUNE
            body["redirect_uri"] = "ms-aadj-redir://auth/mdm"
        elif mode == "graph_aza":
            # ROADtools aad_brokerplugin_prt_auth(renew_prt=True): a token plus a new PRT.
            body["resource"] = "https://graph.microsoft.com"
            body["scope"] = "openid aza"
            body["redirect_uri"] = "ms-appx-web://Microsoft.AAD.BrokerPlugin/" + BROKER
        else:
            body["scope"] = "https://graph.microsoft.com/.default openid"
            body["redirect_uri"] = "ms-appx-web://Microsoft.AAD.BrokerPlugin/" + BROKER
    payload = json.dumps(body, separators=(",", ":")).encode()
    if "kdf1" in opts:
        key = kdf(sk, ctx)
    else:
        key = kdf(sk, hashlib.sha256(ctx + payload).digest())
    signing = b64u(json.dumps(hdr, separators=(",", ":")).encode()) + "." + b64u(payload)
    sig = bytearray(hmac.new(key, signing.encode(), hashlib.sha256).digest())
    if "bad_sig" in opts:
        sig[0] ^= 1
    print(signing + "." + b64u(bytes(sig)))


def decrypt(argv):
    sk = bytes.fromhex(os.environ["LJ_SKEY"])
    parts = sys.stdin.read().strip().split(".")
    assert len(parts) == 5 and parts[1] == "", "not a dir JWE"
    hdr = json.loads(unb64u(parts[0]))
    assert hdr.get("alg") == "dir" and hdr.get("enc") == "A256GCM", hdr
    ctx = base64.b64decode(hdr["ctx"], validate=True)
    assert len(ctx) == 24
    key = kdf(sk, ctx)  # the answer uses kdf v1 over the response ctx
    pt = AESGCM(key).decrypt(unb64u(parts[2]), unb64u(parts[3]) + unb64u(parts[4]),
                             parts[0].encode())
    print(pt.decode())


if __name__ == "__main__":
    {"rs256": rs256, "unwrap": unwrap, "hs256": hs256, "decrypt": decrypt}[sys.argv[1]](sys.argv[2:])
