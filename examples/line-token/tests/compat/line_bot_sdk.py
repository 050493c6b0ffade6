"""LINE's official Python SDK (line-bot-sdk, linebot.v3.oauth) against line-emulator.

Usage: line_bot_sdk.py BASE_URL CHANNEL_ID SECRET KID PRIVATE_JWK_FILE [OPERATION_ID=FIELDS ...]
Runs every channel access token endpoint through the SDK, asserts on the answers, and
prints "ok: " and the sorted operationIds it completed (the Rust test compares them with
Operation::ALL). Any failure raises and exits non-zero.

The flows below call each endpoint this crate had when they were written, and check what it
answers. Every OPERATION_ID=FIELDS argument (the Rust test passes one per operation: the form
or query its sample request sends, with real credentials) that no flow called is then called
by the SDK's method of that operationId, with those fields, and must succeed: so a new
endpoint is called through LINE's SDK without an edit here, as long as its sample needs no
state (a token issued first) the flows do not make.
"""
import json
import re
import sys
import time
import urllib.parse

import jwt
from jwt.algorithms import RSAAlgorithm
from linebot.v3.oauth import ApiClient, ApiException, ChannelAccessToken, Configuration

base, channel, secret, kid, key_file = sys.argv[1:6]
key = RSAAlgorithm.from_jwk(open(key_file).read())
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def assertion(token_exp=None):
    claims = {"iss": channel, "sub": channel, "aud": "https://api.line.me/", "exp": int(time.time()) + 1800}
    if token_exp is not None:
        claims["token_exp"] = token_exp
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid, "typ": "JWT"})


api = ChannelAccessToken(ApiClient(Configuration(host=base)))
seen = set()

# short-lived issue, verify, revoke
short = api.issue_channel_token("client_credentials", channel, secret)
assert short.expires_in == 2592000 and short.token_type == "Bearer", short
seen.add("issueChannelToken")
v = api.verify_channel_token(short.access_token)
assert v.client_id == channel and v.expires_in > 0, v
seen.add("verifyChannelToken")
api.revoke_channel_token(short.access_token)
seen.add("revokeChannelToken")
try:
    api.verify_channel_token(short.access_token)
    raise AssertionError("a revoked token verified")
except ApiException as e:
    assert e.status == 400 and json.loads(e.body)["error"] == "invalid_request", e.body

# v2.1 issue, verify, key ids, revoke
v21 = api.issue_channel_token_by_jwt("client_credentials", JWT_BEARER, assertion(86400))
assert v21.expires_in == 86400 and v21.key_id, v21
seen.add("issueChannelTokenByJWT")
v = api.verify_channel_token_by_jwt(v21.access_token)
assert v.client_id == channel, v
seen.add("verifyChannelTokenByJWT")
kids = api.gets_all_valid_channel_access_token_key_ids(JWT_BEARER, assertion())
assert v21.key_id in kids.kids, kids
seen.add("getsAllValidChannelAccessTokenKeyIds")
api.revoke_channel_token_by_jwt(channel, secret, v21.access_token)
seen.add("revokeChannelTokenByJWT")
kids = api.gets_all_valid_channel_access_token_key_ids(JWT_BEARER, assertion())
assert v21.key_id not in kids.kids, kids

# stateless, both forms
s = api.issue_stateless_channel_token(grant_type="client_credentials", client_id=channel, client_secret=secret)
assert s.expires_in == 900, s
s = api.issue_stateless_channel_token(
    grant_type="client_credentials", client_assertion_type=JWT_BEARER, client_assertion=assertion()
)
assert s.expires_in == 900, s
seen.add("issueStatelessChannelToken")

# An error in LINE's shape
try:
    api.issue_channel_token("client_credentials", channel, "wrong")
    raise AssertionError("a wrong secret was accepted")
except ApiException as e:
    body = json.loads(e.body)
    assert e.status == 400 and body == {"error": "invalid_client", "error_description": "invalid client_secret"}, e.body
    assert e.headers.get("x-line-request-id"), e.headers

# Every other operation, by its SDK method (operationId in snake_case) and its sample's fields.
for arg in sys.argv[6:]:
    operation_id, _, fields = arg.partition("=")
    if operation_id in seen:
        continue
    method = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", operation_id).lower()
    getattr(api, method)(**dict(urllib.parse.parse_qsl(fields)))
    seen.add(operation_id)

print("ok: " + " ".join(sorted(seen)))
