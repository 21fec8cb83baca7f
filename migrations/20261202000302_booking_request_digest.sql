-- A retried booking is recognised by its Idempotency-Key; the digest of the request it came
-- with tells a true retry (same request: the first booking is replayed) from a key reused for
-- another request (refused with 422).
alter table ride_request add column idempotency_request_sha256 bytea;
