"""JwtVerifier: tokens signed in the test with keys generated in the test (HS256, RS256 and ES256 via a JWKS file)."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from api.auth.principal import Principal, Role
from api.auth.tokens import JwtSettings, JwtVerifier, TokenRejected, TokenWithoutRole
from tests.api.auth.tokens_factory import AUDIENCE, ISSUER, SECRET, b64, claims, hs256, unsigned


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key():
    return ec.generate_private_key(ec.SECP256R1())


def jwks(rsa_key, ec_key) -> str:
    """A JWKS holding the RSA key (kid rsa-1) and the EC key (kid ec-1)."""
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    rsa_jwk.update(kid="rsa-1", use="sig", alg="RS256")
    ec_jwk.update(kid="ec-1", use="sig", alg="ES256")
    return json.dumps({"keys": [rsa_jwk, ec_jwk]})


@pytest.fixture
def jwks_verifier(tmp_path, rsa_key, ec_key):
    """A verifier reading the JWKS from a file."""
    def make(**overrides) -> JwtVerifier:
        path = tmp_path / "jwks.json"
        path.write_text(jwks(rsa_key, ec_key))
        return JwtVerifier(JwtSettings(issuer=ISSUER, audience=AUDIENCE, jwks_file=path, **overrides))
    return make


@pytest.fixture
def jwks_url_verifier(rsa_key, ec_key):
    """A verifier fetching the JWKS from a real HTTP server."""
    body = jwks(rsa_key, ec_key).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield JwtVerifier(JwtSettings(issuer=ISSUER, audience=AUDIENCE,
                                  jwks_url=f"http://127.0.0.1:{server.server_address[1]}/jwks.json"))
    server.shutdown()
    server.server_close()


def hs_verifier(**overrides) -> JwtVerifier:
    return JwtVerifier(JwtSettings(issuer=ISSUER, audience=AUDIENCE, secret=SECRET, **overrides))


def rs256(payload, key, kid="rsa-1") -> str:
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


async def test_an_hs256_token_with_two_scopes_gets_the_highest_role_and_its_subject():
    principal = await hs_verifier().verify(hs256(claims("folio:read folio:write", sub="svc-1")))

    assert principal == Principal(subject="svc-1", role=Role.WRITE, portfolios=None, method="jwt")


async def test_a_scope_claim_given_as_a_list_works_like_the_space_separated_string():
    principal = await hs_verifier().verify(hs256(claims(["openid", "folio:admin"])))

    assert principal.role is Role.ADMIN


@pytest.mark.parametrize("portfolios", [["P1", "P2"], "P1 P2", "P1,P2"])
async def test_the_portfolios_claim_becomes_the_scope(portfolios):
    principal = await hs_verifier().verify(hs256(claims("folio:read", portfolios=portfolios)))

    assert principal.portfolios == frozenset({"P1", "P2"})


async def test_an_rs256_token_verifies_against_the_key_its_kid_names_in_the_jwks_file(jwks_verifier, rsa_key):
    principal = await jwks_verifier().verify(rs256(claims("folio:write", sub="bob"), rsa_key))

    assert (principal.subject, principal.role) == ("bob", Role.WRITE)


async def test_an_es256_token_verifies_against_the_jwks_file(jwks_verifier, ec_key):
    token = jwt.encode(claims("folio:read"), ec_key, algorithm="ES256", headers={"kid": "ec-1"})

    assert (await jwks_verifier().verify(token)).role is Role.READ


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    body = json.loads(jwt.utils.base64url_decode(payload))
    body["scope"] = "folio:admin"
    return f"{header}.{b64(json.dumps(body).encode())}.{signature}"


def _flip_a_payload_char(token: str) -> str:
    header, payload, signature = token.split(".")
    middle = len(payload) // 2
    flipped = "A" if payload[middle] != "A" else "B"
    return f"{header}.{payload[:middle]}{flipped}{payload[middle + 1:]}.{signature}"


@pytest.mark.parametrize("make_token", [
    pytest.param(lambda: hs256(claims(ttl=-3600)), id="expired beyond the leeway"),
    pytest.param(lambda: hs256(claims(nbf=int(time.time()) + 3600)), id="not before an hour from now"),
    pytest.param(lambda: hs256(claims(aud="another-service")), id="wrong audience"),
    pytest.param(lambda: hs256(claims(iss="https://evil.example")), id="wrong issuer"),
    pytest.param(lambda: hs256(claims(exp=None) | {"exp": None}), id="exp null"),
    pytest.param(lambda: hs256({k: v for k, v in claims().items() if k != "exp"}), id="missing exp"),
    pytest.param(lambda: hs256({k: v for k, v in claims().items() if k != "sub"}), id="missing sub"),
    pytest.param(lambda: _tamper(hs256(claims("folio:read"))), id="payload rewritten to admin"),
    pytest.param(lambda: _flip_a_payload_char(hs256(claims())), id="one payload character flipped"),
    pytest.param(lambda: unsigned(claims("folio:admin")), id="alg none"),
    pytest.param(lambda: hs256(claims(), secret="another-secret-of-the-same-kind-0123456"), id="another HS secret"),
    pytest.param(lambda: "eyJ.not-base64!.x", id="garbage with two dots"),
])
async def test_an_hs256_configuration_rejects(make_token):
    with pytest.raises(TokenRejected):
        await hs_verifier().verify(make_token())


async def test_an_rs256_configuration_rejects_a_token_signed_by_another_key_with_the_same_kid(jwks_verifier):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(TokenRejected):
        await jwks_verifier().verify(rs256(claims("folio:admin"), other, kid="rsa-1"))


async def test_an_hs256_token_signed_with_the_rsa_public_key_pem_is_rejected_by_an_rs256_configuration(
        jwks_verifier, rsa_key):
    """Algorithm confusion: the public key is public, so HMAC with it proves nothing."""
    pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    payload = b64(json.dumps(claims("folio:admin")).encode())
    # Forged by hand: PyJWT itself refuses a PEM as an HMAC secret.
    signature = b64(hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())

    with pytest.raises(TokenRejected):
        await jwks_verifier().verify(f"{header}.{payload}.{signature}")


async def test_an_rs256_configuration_rejects_alg_none_and_an_unknown_kid(jwks_verifier, rsa_key):
    verifier = jwks_verifier()

    with pytest.raises(TokenRejected):
        await verifier.verify(unsigned(claims("folio:admin")))
    with pytest.raises(TokenRejected):
        await verifier.verify(rs256(claims(), rsa_key, kid="nobody"))


async def test_an_es256_header_on_a_token_naming_the_rsa_key_is_rejected_not_a_crash(jwks_verifier, ec_key):
    token = jwt.encode(claims("folio:admin"), ec_key, algorithm="ES256", headers={"kid": "rsa-1"})

    with pytest.raises(TokenRejected):
        await jwks_verifier().verify(token)


async def test_a_valid_token_without_any_folio_scope_grants_no_role():
    with pytest.raises(TokenWithoutRole):
        await hs_verifier().verify(hs256(claims("openid profile")))


@pytest.mark.parametrize("extra", [{"scope": 42}, {"scope": {"folio:admin": True}}, {"portfolios": 7},
                                   {"portfolios": True}, {"portfolios": {"P1": 1}}, {"sub": ["a"]}])
async def test_a_signed_token_with_a_malformed_claim_is_rejected_not_a_crash(extra):
    with pytest.raises(TokenRejected):
        await hs_verifier().verify(hs256(claims("folio:read") | extra))


def test_a_configuration_allowing_alg_none_is_refused():
    with pytest.raises(ValueError, match="none"):
        hs_verifier(algorithms=("HS256", "none"))


async def test_a_jwks_url_verifies_its_keys_and_rejects_an_es256_header_naming_the_rsa_key(
        jwks_url_verifier, rsa_key, ec_key):
    good = await jwks_url_verifier.verify(rs256(claims("folio:read", sub="carol"), rsa_key))
    mismatched = jwt.encode(claims("folio:admin"), ec_key, algorithm="ES256", headers={"kid": "rsa-1"})

    assert (good.subject, good.role) == ("carol", Role.READ)
    with pytest.raises(TokenRejected):
        await jwks_url_verifier.verify(mismatched)
