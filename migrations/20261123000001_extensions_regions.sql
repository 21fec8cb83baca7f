-- PostGIS for every spatial column and query. On a managed PostgreSQL the extension may have to
-- be created by an administrator first; `if not exists` then makes this a no-op.
create extension if not exists postgis;

-- Region-scoped tables carry region_code in their primary key, so that the data can later be
-- distributed by region (Citus) without changing keys.
create table region (
    region_code text primary key check (region_code ~ '^[a-z]+$'),
    name        text not null,
    created_at  timestamptz not null default now()
);

insert into region (region_code, name) values
    ('basilicata', 'Basilicata'),
    ('calabria', 'Calabria'),
    ('campania', 'Campania'),
    ('puglia', 'Puglia'),
    ('sicilia', 'Sicilia');

-- Programme-wide settings that the programme may change without a release. One row.
create table programme_config (
    programme_config_id        boolean primary key default true check (programme_config_id),
    integration_budget_cap_cents bigint not null default 1200000 check (integration_budget_cap_cents > 0),
    integration_budget_min_months int  not null default 2 check (integration_budget_min_months >= 1),
    integration_budget_max_months int  not null default 9,
    created_at                 timestamptz not null default now(),
    check (integration_budget_max_months >= integration_budget_min_months)
);
insert into programme_config default values;
