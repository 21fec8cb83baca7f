-- Workers book their own rides (issue #13): access cards instead of accounts, short cookie
-- sessions, and confidential reports to the Polo's coordinator.

-- A ride, recurrence or line subscription booked by the person themself has no staff author:
-- `booked_by` / `created_by` stay empty and the channel says `self`.
alter table ride_request alter column booked_by drop not null;
alter table ride_request add constraint ride_request_self_has_no_staff_author
    check ((booked_by is null) = (booked_channel = 'self'));
-- A person's own retries are told apart by their idempotency key (staff's by theirs).
create unique index ride_request_self_idempotency_key
    on ride_request (region_code, person_id, idempotency_key)
    where booked_by is null and idempotency_key is not null;
alter table ride_recurrence alter column created_by drop not null;
alter table line_subscription alter column created_by drop not null;

-- The Polo's phone, printed on access cards.
alter table polo add column phone text check (phone is null or phone ~ '^\+?[0-9 ]{6,20}$');

-- An access card: a random code (kept only as its SHA-256 digest) that signs a person in to
-- their own rides; an optional PIN the person chose (argon2 hash). One live card per case:
-- re-issuing revokes the old one in the same transaction.
create table access_card (
    region_code   text not null,
    card_id       uuid not null default gen_random_uuid(),
    case_id       uuid not null,
    person_id     uuid not null,
    polo_id       uuid not null,
    code_sha256   bytea not null unique check (length(code_sha256) = 32),
    pin_hash      text,
    -- The language the card is printed in (a message file's code).
    language      text not null check (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$'),
    issued_by     uuid not null references staff,
    issued_at     timestamptz not null default now(),
    revoked_at    timestamptz,
    revoked_by    uuid references staff,
    primary key (region_code, card_id),
    unique (card_id),
    foreign key (region_code, case_id) references care_case (region_code, case_id),
    foreign key (region_code, person_id) references person (region_code, person_id),
    foreign key (region_code, polo_id) references polo (region_code, polo_id),
    check ((revoked_at is null) = (revoked_by is null))
);
create unique index access_card_one_live_per_case on access_card (case_id) where revoked_at is null;

-- Who issued and revoked which card, when and why: insert-only.
create table access_card_event (
    region_code     text not null,
    card_event_id   bigint generated always as identity,
    card_id         uuid not null,
    case_id         uuid not null,
    action          text not null check (action in ('issued', 'revoked')),
    staff_id        uuid not null references staff,
    reason          text check (reason is null or length(reason) <= 2000),
    at              timestamptz not null default clock_timestamp(),
    primary key (region_code, card_event_id),
    foreign key (region_code, card_id) references access_card (region_code, card_id),
    foreign key (region_code, case_id) references care_case (region_code, case_id)
);
create index access_card_event_case_idx on access_card_event (case_id, at);
create trigger access_card_event_append_only before update or delete on access_card_event
    for each row execute function forbid_change();

-- A signed-in phone (a cookie) or app (a bearer token): the token's digest, short-lived.
create table worker_session (
    token_sha256  bytea primary key check (length(token_sha256) = 32),
    card_id       uuid not null references access_card (card_id),
    created_at    timestamptz not null default now(),
    expires_at    timestamptz not null
);
create index worker_session_card_idx on worker_session (card_id);
create index worker_session_expiry_idx on worker_session (expires_at);

-- "Someone asked me for money / for my documents / I was threatened": reaches the Polo's
-- coordinator. Anonymous reports keep no case and no person.
create type worker_report_kind as enum ('money', 'documents', 'threat', 'other');
create type worker_report_status as enum ('new', 'in_progress', 'closed');
create table worker_report (
    region_code  text not null,
    report_id    uuid not null default gen_random_uuid(),
    polo_id      uuid not null,
    case_id      uuid,
    kind         worker_report_kind not null,
    details      text check (details is null or length(details) <= 2000),
    status       worker_report_status not null default 'new',
    created_at   timestamptz not null default now(),
    updated_at   timestamptz,
    updated_by   uuid references staff,
    -- A form sent twice, or an app's retry, writes one report.
    idempotency_key text check (idempotency_key is null or length(idempotency_key) <= 200),
    primary key (region_code, report_id),
    unique (report_id),
    foreign key (region_code, polo_id) references polo (region_code, polo_id),
    foreign key (region_code, case_id) references care_case (region_code, case_id)
);
create index worker_report_polo_idx on worker_report (polo_id, created_at desc);
create unique index worker_report_idempotency_key on worker_report (polo_id, idempotency_key)
    where idempotency_key is not null;
