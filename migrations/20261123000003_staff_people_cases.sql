create type staff_role as enum ('programme_admin', 'polo_coordinator', 'case_worker', 'driver');

-- Staff logins. A programme admin has no Polo; coordinators and case workers belong to one;
-- drivers belong to none (they see runs, never case data). Small reference table.
create table staff (
    staff_id       uuid primary key default gen_random_uuid(),
    username       text not null unique check (username ~ '^[a-z0-9._-]{3,64}$'),
    display_name   text not null check (btrim(display_name) <> ''),
    role           staff_role not null,
    region_code    text references region,
    polo_id        uuid references polo (polo_id),
    password_hash  text not null,
    created_at     timestamptz not null default now(),
    check ((role in ('polo_coordinator', 'case_worker')) = (polo_id is not null))
);

-- Bearer tokens: only a SHA-256 of the token is stored.
create table staff_session (
    token_sha256  bytea primary key,
    staff_id      uuid not null references staff,
    expires_at    timestamptz not null,
    created_at    timestamptz not null default now()
);

-- The people transported, kept to what the service needs: a name to be greeted by, languages,
-- and accessibility needs. No documents, no nationality, no address.
create table person (
    region_code       text not null references region,
    person_id         uuid not null default gen_random_uuid(),
    polo_id           uuid not null,
    known_as          text not null check (btrim(known_as) <> ''),
    languages         text[] not null default '{}',
    wheelchair        boolean not null default false,
    reduced_mobility  boolean not null default false,
    created_at        timestamptz not null default now(),
    primary key (region_code, person_id),
    unique (person_id),
    foreign key (region_code, polo_id) references polo (region_code, polo_id)
);

create type case_status as enum ('open', 'suspended', 'closed');
create type arrival_channel as enum ('outreach', 'helpdesk', 'direct_access', 'social_services', 'other_project');

-- Presa in carico: a person's case, opened at a Polo, followed by a case worker.
create table care_case (
    region_code      text not null,
    case_id          uuid not null default gen_random_uuid(),
    person_id        uuid not null,
    polo_id          uuid not null,
    case_worker_id   uuid not null references staff,
    status           case_status not null default 'open',
    arrival_channel  arrival_channel not null,
    opened_on        date not null,
    closed_on        date,
    pai_reference    text,
    created_at       timestamptz not null default now(),
    primary key (region_code, case_id),
    unique (case_id),
    foreign key (region_code, person_id) references person (region_code, person_id),
    foreign key (region_code, polo_id) references polo (region_code, polo_id),
    check (closed_on is null or closed_on >= opened_on),
    check ((status = 'closed') = (closed_on is not null))
);
create index care_case_polo_idx on care_case (region_code, polo_id);

-- Every read of case data, written in the same transaction as the read. Insert-only.
create table case_access_audit (
    region_code        text not null,
    case_access_id     bigint generated always as identity,
    case_id            uuid not null,
    staff_id           uuid not null references staff,
    purpose            text not null,
    accessed_at        timestamptz not null default now(),
    primary key (region_code, case_access_id),
    foreign key (region_code, case_id) references care_case (region_code, case_id)
);
create index case_access_audit_case_idx on case_access_audit (case_id, accessed_at);

create function forbid_change() returns trigger language plpgsql as $$
begin
    raise exception '% is append-only: % refused', tg_table_name, tg_op
        using errcode = 'P0001', constraint = tg_table_name || '_append_only';
end $$;

create trigger case_access_audit_append_only before update or delete on case_access_audit
    for each row execute function forbid_change();
