-- Reporting, open data and oversight (issue #15). Reports are read-only aggregations of the
-- other modules' tables; the tables below are the only ones the reports module writes.

-- Programme configuration: the smallest number of people a published cell may count (cells
-- counting 1..n-1 people are suppressed), whether the coarsened GTFS feed is public, and the
-- agency URL the feed names.
alter table programme_config
    add column report_min_cell_people integer not null default 5 check (report_min_cell_people >= 1),
    add column gtfs_public_coarsened boolean not null default false,
    add column gtfs_agency_url text not null default 'https://integrazionemigranti.gov.it'
        check (gtfs_agency_url ~ '^https?://[^ ]+$');

-- How many workers a workplace declared for a period (from the employer's filings, entered by
-- the programme): a workplace that receives far more riders than that is flagged for review.
create table workplace_declaration (
    region_code        text not null,
    declaration_id     uuid not null default gen_random_uuid(),
    place_id           uuid not null,
    declared_workers   integer not null check (declared_workers > 0),
    valid_from         date not null,
    valid_to           date not null,
    source             text not null check (btrim(source) <> ''),
    declared_by        uuid not null references staff,
    created_at         timestamptz not null default now(),
    primary key (region_code, declaration_id),
    unique (declaration_id),
    foreign key (region_code, place_id) references place (region_code, place_id),
    check (valid_to >= valid_from)
);
create index workplace_declaration_place_idx on workplace_declaration (place_id, valid_from);

create type oversight_flag_kind as enum (
    'bulk_booking', 'closed_group', 'over_declared', 'group_no_show', 'odd_hours'
);

-- Every oversight flag that was shown to someone: first and last time it was computed and by
-- whom. A flag is a pattern for a person to look at, never a sanction.
create table oversight_flag (
    region_code     text not null references region,
    flag_key        text not null,
    kind            oversight_flag_kind not null,
    polo_id         uuid not null,
    summary         text not null,
    first_seen_at   timestamptz not null,
    first_seen_by   uuid not null references staff,
    last_seen_at    timestamptz not null,
    last_seen_by    uuid not null references staff,
    primary key (region_code, flag_key, polo_id),
    foreign key (region_code, polo_id) references polo (region_code, polo_id)
);

create type oversight_outcome as enum ('no_concern', 'follow_up', 'escalated');

-- Who looked at a flag, when, and what they concluded. Insert-only.
create table oversight_review (
    region_code     text not null,
    review_id       bigint generated always as identity,
    flag_key        text not null,
    polo_id         uuid not null,
    reviewed_by     uuid not null references staff,
    outcome         oversight_outcome not null,
    note            text not null check (btrim(note) <> ''),
    reviewed_at     timestamptz not null,
    primary key (region_code, review_id),
    foreign key (region_code, flag_key, polo_id) references oversight_flag (region_code, flag_key, polo_id)
);
create trigger oversight_review_append_only before update or delete on oversight_review
    for each row execute function forbid_change();
