#!/usr/bin/env python3
"""Writes tests/fixtures/vectors/query_order.json: SigV4 signatures from
botocore (the SDK, not our code) for requests whose query parameter names
sort differently by bytes than without case: upper case, '_', '-' and lower
case side by side (S3's response-content-disposition and versionId beside
X-Amz-*, SQS-style names).  The canonical query sorts by the encoded names'
bytes; a signer that sorted them without case would agree with itself (and
with a verifier built on the same code) but not with AWS.

usage: python3 tests/tools/gen_query_order_vectors.py > tests/fixtures/vectors/query_order.json
Needs botocore (python3-botocore, or pip's); the clock is held.
"""
import datetime
import json
import sys
from unittest import mock
from urllib.parse import urlsplit, parse_qsl

import botocore
import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AKID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN/with+slash=="
WHEN = datetime.datetime(2026, 11, 24, 12, 0, 0, tzinfo=datetime.timezone.utc)

# Header-signed requests: each query has names whose byte order and
# case-free order differ.
HEADER_CASES = [
    ("s3-get-object-mixed-case-query", "s3", "us-east-1", "GET",
     "https://posters.s3.amazonaws.com/campaigns/job-0001.png"
     "?versionId=3HL4kqtJlcpXroDTDmJ%2BrmSpXd3dIbrHY&response-content-type=image%2Fpng"
     "&X-Id=GetObject&partNumber=1&response-content-disposition=attachment%3B%20filename%3Dp.png",
     None),
    ("sqs-query-upper-lower-underscore", "sqs", "eu-west-1", "GET",
     "https://sqs.eu-west-1.amazonaws.com/123456789012/jobs"
     "?alpha=1&Beta=2&Zeta=3&_under=4&a_b=5&A_B=6&aB=7&Ab=8&a-b=9",
     None),
    ("dynamodb-query-with-token", "dynamodb", "us-west-2", "GET",
     "https://dynamodb.us-west-2.amazonaws.com/?x=1&X=2&y_z=3&Y-Z=4&yz=5",
     TOKEN),
]

# Presigned S3 GETs with lower-case parameters beside X-Amz-*.
PRESIGN_CASES = [
    ("presign-response-content-disposition", {
        "Bucket": "posters", "Key": "campaigns/job-0001.png",
        "ResponseContentDisposition": 'attachment; filename="poster.png"'}, None),
    ("presign-version-and-content-type", {
        "Bucket": "posters", "Key": "campaigns/job-0002.png",
        "VersionId": "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY",
        "ResponseContentType": "image/png",
        "ResponseContentDisposition": "inline"}, TOKEN),
]


def header_case(name, service, region, method, url, token):
    creds = Credentials(AKID, SECRET, token)
    auth = (botocore.auth.S3SigV4Auth if service == "s3" else botocore.auth.SigV4Auth)(
        creds, service, region)
    req = AWSRequest(method=method, url=url, data=b"")
    if service == "s3":
        req.headers["x-amz-content-sha256"] = botocore.auth.EMPTY_SHA256_HASH
    seen = {}
    cr_fn, sts_fn = auth.canonical_request, auth.string_to_sign

    def canonical_request(r):
        seen["cr"] = cr_fn(r)
        return seen["cr"]

    def string_to_sign(r, cr):
        seen["sts"] = sts_fn(r, cr)
        return seen["sts"]

    auth.canonical_request, auth.string_to_sign = canonical_request, string_to_sign
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN.replace(tzinfo=None)):
        auth.add_auth(req)
    canonical, sts = seen["cr"], seen["sts"]
    return {
        "name": name, "service": service, "region": region, "method": method, "url": url,
        "session_token": token, "timestamp": WHEN.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "canonical_request": canonical, "string_to_sign": sts,
        "authorization": req.headers["Authorization"],
    }


def presign_case(name, params, token):
    sess = botocore.session.get_session()
    client = sess.create_client(
        "s3", region_name="us-east-1", aws_access_key_id=AKID, aws_secret_access_key=SECRET,
        aws_session_token=token,
        config=botocore.config.Config(signature_version="s3v4",
                                      s3={"addressing_style": "virtual"}))
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN.replace(tzinfo=None)):
        url = client.generate_presigned_url("get_object", Params=params, ExpiresIn=900)
    q = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    return {
        "name": name, "bucket": params["Bucket"], "key": params["Key"], "region": "us-east-1",
        "session_token": token, "timestamp": WHEN.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "expires": 900, "url": url, "signature": q["X-Amz-Signature"],
        "params": {k: v for k, v in q.items() if not k.startswith("X-Amz-")},
    }


def main():
    import botocore.config  # noqa: F401 (used through botocore.config above)
    out = {
        "source": "botocore %s SigV4Auth / S3SigV4Auth and generate_presigned_url with a held "
                  "clock (tests/tools/gen_query_order_vectors.py)" % botocore.__version__,
        "credentials": {"access_key_id": AKID, "secret_access_key": SECRET},
        "header_cases": [header_case(*c) for c in HEADER_CASES],
        "presign_cases": [presign_case(*c) for c in PRESIGN_CASES],
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
