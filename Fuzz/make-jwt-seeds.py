"""Writes the seed tokens of Fuzz/Corpus/FuzzJWT (python3 with `cryptography`):
`python3 Fuzz/make-jwt-seeds.py Fuzz/Corpus/FuzzJWT`. The keys are those of FuzzFixture."""
import base64, json, hmac, hashlib, os, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

out = sys.argv[1]
KEYS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'ConfigFiles', 'keys')
rsa = serialization.load_pem_private_key(open(os.path.join(KEYS, 'rsa.key.pem'), 'rb').read(), None)
eck = serialization.load_pem_private_key(open(os.path.join(KEYS, 'ec.key.pem'), 'rb').read(), None)
secret = b"fuzz-hmac-secret-0123456789abcdef0123456789"
ISS, OTHER, AUD = "https://issuer.fuzz", "https://other.fuzz", "fuzz-api"
IAT = 1_900_000_000

def b64(b): return base64.urlsafe_b64encode(b).rstrip(b'=').decode()
def enc(o): return b64(json.dumps(o, separators=(',', ':')).encode())

def sign(alg, header, claims):
    h = dict(header); h['alg'] = alg
    si = (enc(h) + '.' + enc(claims)).encode()
    if alg == 'HS256': sig = hmac.new(secret, si, hashlib.sha256).digest()
    elif alg == 'RS256': sig = rsa.sign(si, padding.PKCS1v15(), hashes.SHA256())
    elif alg == 'ES256':
        r, s = decode_dss_signature(eck.sign(si, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, 'big') + s.to_bytes(32, 'big')
    else: sig = b''
    return si.decode() + '.' + b64(sig)

def claims(**over):
    c = {"iss": ISS, "aud": AUD, "sub": "user-7f3c2a91", "jti": "0b6e1f2c-5d8a-4c3e", "iat": IAT, "exp": IAT + 900,
         "type": "access", "scope": "orders:read orders:write", "email": "alice@example.com",
         "realm_access": {"roles": ["admin", "user"]}, "profile": {"name": "Alice", "tier": 3}}
    for k, v in over.items():
        if v is None: c.pop(k, None)
        else: c[k] = v
    return c

T = {
 'hs256': sign('HS256', {"typ": "JWT"}, claims()),
 'rs256': sign('RS256', {"typ": "JWT", "kid": "rsa-1"}, claims()),
 'es256': sign('ES256', {"typ": "JWT", "kid": "ec-1"}, claims()),
 'es256-other-issuer': sign('ES256', {}, claims(iss=OTHER, aud=None, scope=None)),
 'hs256-refresh': sign('HS256', {"typ": "JWT"}, claims(type="refresh", jti="9c1d-refresh")),
 'hs256-aud-list-scp': sign('HS256', {}, claims(aud=["other", AUD], scope=None, scp=["orders:read"])),
 'hs256-expired': sign('HS256', {}, claims(iat=IAT - 4000, exp=IAT - 3000)),
 'hs256-not-before': sign('HS256', {}, claims(nbf=IAT + 5000)),
 'hs256-wrong-audience': sign('HS256', {}, claims(aud="elsewhere")),
 'hs256-no-jti': sign('HS256', {}, claims(jti=None)),
 'rs256-unknown-kid': sign('RS256', {"kid": "rsa-9"}, claims()),
 'es256-kid-number': sign('ES256', {"kid": 7}, claims()),
 'hs256-crit': sign('HS256', {"crit": ["exp"]}, claims()),
 'none': enc({"alg": "none"}) + '.' + enc(claims()) + '.',
 'two-segments': enc({"alg": "HS256"}) + '.' + enc(claims()),
 'bad-base64': 'eyJhbGciOiJIUzI1NiJ9.e30*.c2ln',
 'header-array': enc([1, 2]) + '.' + enc(claims()) + '.c2ln',
 'nested-json': enc({"alg": "HS256", "x": [[[[{"a": [1.5e300, -0.0, "\\u00e9\\ud83d\\ude00"]}]]]]}) + '.' + enc(claims()) + '.c2ln',
}
os.makedirs(out, exist_ok=True)
for name, tok in T.items():
    open(os.path.join(out, name), 'w').write(tok)
