-- Vehicles of the demand-responsive fleet and of the work lines.
create table vehicle (
    region_code          text not null references region,
    vehicle_id           uuid not null default gen_random_uuid(),
    label                text not null check (btrim(label) <> ''),
    seats                smallint not null check (seats > 0),
    wheelchair_places    smallint not null default 0 check (wheelchair_places >= 0),
    operator             text not null check (btrim(operator) <> ''),
    depot_name           text not null check (btrim(depot_name) <> ''),
    depot                geography(point, 4326) not null,
    cost_per_km_cents    integer not null check (cost_per_km_cents >= 0),
    cost_per_hour_cents  integer not null check (cost_per_hour_cents >= 0),
    active               boolean not null default true,
    created_at           timestamptz not null default now(),
    primary key (region_code, vehicle_id),
    unique (vehicle_id),
    unique (region_code, label)
);
create index vehicle_depot_idx on vehicle using gist (depot);

-- A driver is a staff login with the driver role, working for an operator in one region.
create table driver (
    region_code   text not null references region,
    driver_id     uuid not null default gen_random_uuid(),
    staff_id      uuid not null unique references staff,
    display_name  text not null check (btrim(display_name) <> ''),
    operator      text not null check (btrim(operator) <> ''),
    created_at    timestamptz not null default now(),
    primary key (region_code, driver_id),
    unique (driver_id)
);
