-- Retried creations: a POST with an Idempotency-Key header is answered once; a retry with the
-- same key and the same request gets the same answer, with another request a 422. Keyed by the
-- staff login (not by region: a login's retries are its own), so this is not region-scoped.
create table idempotency_record (
    staff_id         uuid not null references staff,
    idempotency_key  text not null,
    request_sha256   bytea not null,
    path             text not null,
    status           smallint,        -- null while the first request is being answered
    content_type     text,
    response_body    bytea,
    created_at       timestamptz not null default now(),
    primary key (staff_id, idempotency_key)
);
