-- 009_checksum: what a succeeded job's poster was stored with (issue 21).
-- checksum_alg is 'crc64nvme' (S3's default) or 'sha256'; checksum is the
-- value as S3 keeps it (base64 of the CRC's 8 big-endian bytes, or of the
-- SHA-256's 32).  sha256 keeps the hex digest when the algorithm is
-- sha256, and is NULL otherwise.  art_key is where the engine's art was
-- stored: BATCH/JOB.raw.EXT beside a poster with text, or the poster's own
-- store_key when the poster is the art plus metadata (stored once).  Rows
-- written before this migration have all three NULL (their art is at
-- BATCH/JOB.raw.EXT and their checksum is sha256).
ALTER TABLE ledger_jobs ADD COLUMN checksum_alg TEXT;
ALTER TABLE ledger_jobs ADD COLUMN checksum TEXT;
ALTER TABLE ledger_jobs ADD COLUMN art_key TEXT;
