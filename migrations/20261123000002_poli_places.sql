create type polo_kind as enum ('hub', 'spoke');
create type area_kind as enum ('urban', 'periurban', 'rural');

-- Poli Sociali Integrati: a hub, or a spoke that belongs to a hub of the same region.
create table polo (
    region_code    text not null references region,
    polo_id        uuid not null default gen_random_uuid(),
    name           text not null check (btrim(name) <> ''),
    kind           polo_kind not null,
    hub_polo_id    uuid,
    area           area_kind not null,
    managing_org   text not null check (btrim(managing_org) <> ''),
    location       geography(point, 4326) not null,
    -- [{"days": ["mon", ...], "opens": "09:00", "closes": "13:00"}, ...]
    opening_hours  jsonb not null default '[]',
    created_at     timestamptz not null default now(),
    primary key (region_code, polo_id),
    unique (polo_id),
    foreign key (region_code, hub_polo_id) references polo (region_code, polo_id),
    check ((kind = 'hub') = (hub_polo_id is null))
);
create index polo_location_idx on polo using gist (location);

create type place_kind as enum (
    'settlement', 'farm', 'packing_house', 'questura', 'asl', 'job_centre', 'municipality', 'other_office'
);

-- Places people are taken from or to. Settlements may be informal camps with no address: they
-- are found through their meeting points.
create table place (
    region_code  text not null references region,
    place_id     uuid not null default gen_random_uuid(),
    kind         place_kind not null,
    name         text not null check (btrim(name) <> ''),
    informal     boolean not null default false,
    address      text,
    location     geography(point, 4326) not null,
    created_at   timestamptz not null default now(),
    primary key (region_code, place_id),
    unique (place_id),
    check (not informal or kind = 'settlement')
);
create index place_location_idx on place using gist (location);

-- Named pick-up points of a place, described by a landmark a person can find without a map.
create table meeting_point (
    region_code       text not null,
    meeting_point_id  uuid not null default gen_random_uuid(),
    place_id          uuid not null,
    name              text not null check (btrim(name) <> ''),
    landmark          text not null check (btrim(landmark) <> ''),
    location          geography(point, 4326) not null,
    created_at        timestamptz not null default now(),
    primary key (region_code, meeting_point_id),
    unique (meeting_point_id),
    foreign key (region_code, place_id) references place (region_code, place_id)
);
create index meeting_point_location_idx on meeting_point using gist (location);
