-- 008_quota: the shared Bedrock quota (issue 21).  One row per bucket (a
-- model id): state is the bucket as jobs/quota_bucket.c encodes it (rate,
-- tokens, outstanding grants with their leases), version counts its
-- writes.  Every change is a compare-and-swap on version, so workers in
-- several processes never both spend the same tokens.
CREATE TABLE ledger_quota (
    key        TEXT    PRIMARY KEY,
    version    INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    updated_ms INTEGER NOT NULL
);
