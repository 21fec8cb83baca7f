-- Mediators belong to a Polo, like coordinators and case workers.
alter table staff drop constraint staff_check;
alter table staff add constraint staff_polo_matches_role
    check ((role in ('polo_coordinator', 'case_worker', 'mediator')) = (polo_id is not null));

-- How a ride's cost is computed, and the tariff. Programme configuration.
create type ride_cost_mode as enum ('tariff', 'run_share');
alter table programme_config
    add column ride_cost_mode ride_cost_mode not null default 'tariff',
    add column tariff_base_cents integer not null default 150 check (tariff_base_cents >= 0),
    add column tariff_per_km_cents integer not null default 30 check (tariff_per_km_cents >= 0);

-- Where the service runs: a position outside every area of its region is refused.
create table service_area (
    region_code      text not null references region,
    service_area_id  uuid not null default gen_random_uuid(),
    polo_id          uuid references polo (polo_id),
    name             text not null check (btrim(name) <> ''),
    area             geography(multipolygon, 4326) not null,
    created_at       timestamptz not null default now(),
    primary key (region_code, service_area_id),
    unique (service_area_id)
);
create index service_area_area_idx on service_area using gist (area);

-- An appointment of a person (through their case) at a Polo or an office.
create table appointment (
    region_code     text not null,
    appointment_id  uuid not null default gen_random_uuid(),
    case_id         uuid not null,
    place_id        uuid not null,
    starts_at       timestamptz not null,
    ends_at         timestamptz not null,
    description     text not null check (btrim(description) <> ''),
    created_by      uuid not null references staff,
    created_at      timestamptz not null default now(),
    primary key (region_code, appointment_id),
    unique (appointment_id),
    foreign key (region_code, case_id) references care_case (region_code, case_id),
    foreign key (region_code, place_id) references place (region_code, place_id),
    check (ends_at > starts_at)
);

-- A weekly pattern that generated ride requests (one per matching day).
create table ride_recurrence (
    region_code     text not null,
    recurrence_id   uuid not null default gen_random_uuid(),
    weekdays        smallint[] not null check (weekdays <@ array[1, 2, 3, 4, 5, 6, 7]::smallint[] and cardinality(weekdays) > 0),
    date_from       date not null,
    date_to         date not null,
    created_by      uuid not null references staff,
    created_at      timestamptz not null default now(),
    primary key (region_code, recurrence_id),
    unique (recurrence_id),
    check (date_to >= date_from)
);

create type ride_purpose as enum ('work_shift', 'appointment', 'return', 'training', 'other');
create type ride_status as enum ('requested', 'planned', 'confirmed', 'cancelled', 'refused', 'completed', 'no_show');
create type booking_channel as enum ('self', 'coordinator', 'case_worker', 'mediator');

-- One trip of one person (and companions) from a pickup to a drop-off on one day.
create table ride_request (
    region_code               text not null,
    ride_request_id           uuid not null default gen_random_uuid(),
    case_id                   uuid not null,
    person_id                 uuid not null,
    purpose                   ride_purpose not null,
    service_date              date not null,
    pickup_place_id           uuid not null,
    pickup_meeting_point_id   uuid references meeting_point (meeting_point_id),
    pickup_location           geography(point, 4326) not null,
    dropoff_place_id          uuid not null,
    dropoff_meeting_point_id  uuid references meeting_point (meeting_point_id),
    dropoff_location          geography(point, 4326) not null,
    earliest_pickup           timestamptz,
    latest_arrival            timestamptz,
    passengers                smallint not null default 1 check (passengers between 1 and 20),
    wheelchair                boolean not null default false,
    status                    ride_status not null default 'requested',
    booked_by                 uuid not null references staff,
    booked_channel            booking_channel not null,
    appointment_id            uuid references appointment (appointment_id),
    recurrence_id             uuid references ride_recurrence (recurrence_id),
    line_subscription_id      uuid,
    idempotency_key           text,
    -- What the rider was told, and by which run.
    run_id                    uuid,
    promised_pickup_at        timestamptz,
    created_at                timestamptz not null default now(),
    primary key (region_code, ride_request_id),
    unique (ride_request_id),
    unique (region_code, booked_by, idempotency_key),
    foreign key (region_code, case_id) references care_case (region_code, case_id),
    foreign key (region_code, person_id) references person (region_code, person_id),
    foreign key (region_code, pickup_place_id) references place (region_code, place_id),
    foreign key (region_code, dropoff_place_id) references place (region_code, place_id),
    check (earliest_pickup is not null or latest_arrival is not null),
    check (earliest_pickup is null or latest_arrival is null or latest_arrival > earliest_pickup)
);
create index ride_request_day_idx on ride_request (region_code, service_date, status);
create index ride_request_case_idx on ride_request (case_id);

-- Status history of a request: insert-only.
create table ride_request_event (
    region_code            text not null,
    ride_request_event_id  bigint generated always as identity,
    ride_request_id        uuid not null,
    status                 ride_status not null,
    reason                 text,
    changed_by             uuid references staff,
    changed_at             timestamptz not null default clock_timestamp(),
    primary key (region_code, ride_request_event_id),
    foreign key (region_code, ride_request_id) references ride_request (region_code, ride_request_id)
);
create index ride_request_event_req_idx on ride_request_event (ride_request_id);
create trigger ride_request_event_append_only before update or delete on ride_request_event
    for each row execute function forbid_change();

-- Linee lavoro: scheduled work lines from settlements to farms, run on operating days in season.
create table work_line (
    region_code        text not null references region,
    line_id            uuid not null default gen_random_uuid(),
    name               text not null check (btrim(name) <> ''),
    season_start       date not null,
    season_end         date not null,
    operating_days     smallint[] not null check (operating_days <@ array[1, 2, 3, 4, 5, 6, 7]::smallint[] and cardinality(operating_days) > 0),
    capacity           smallint not null check (capacity > 0),
    vehicle_id         uuid references vehicle (vehicle_id),
    funding_source_id  uuid references funding_source (funding_source_id),
    created_at         timestamptz not null default now(),
    primary key (region_code, line_id),
    unique (line_id),
    check (season_end >= season_start)
);

create table work_line_stop (
    region_code       text not null,
    line_id           uuid not null,
    seq               smallint not null check (seq >= 0),
    place_id          uuid not null,
    meeting_point_id  uuid references meeting_point (meeting_point_id),
    -- Local time of day the line is at this stop.
    stop_time         time not null,
    created_at        timestamptz not null default now(),
    primary key (region_code, line_id, seq),
    foreign key (region_code, line_id) references work_line (region_code, line_id),
    foreign key (region_code, place_id) references place (region_code, place_id)
);

create type subscription_status as enum ('active', 'ended');

create table line_subscription (
    region_code      text not null,
    subscription_id  uuid not null default gen_random_uuid(),
    line_id          uuid not null,
    case_id          uuid not null,
    person_id        uuid not null,
    board_seq        smallint not null,
    alight_seq       smallint not null,
    valid_from       date not null,
    valid_to         date not null,
    status           subscription_status not null default 'active',
    created_by       uuid not null references staff,
    created_at       timestamptz not null default now(),
    primary key (region_code, subscription_id),
    unique (subscription_id),
    foreign key (region_code, line_id) references work_line (region_code, line_id),
    foreign key (region_code, case_id) references care_case (region_code, case_id),
    check (alight_seq > board_seq),
    check (valid_to >= valid_from)
);

create type plan_status as enum ('queued', 'running', 'done', 'failed');

-- A planning job for one region and day; progress is visible while it runs.
create table plan_job (
    region_code     text not null references region,
    plan_job_id     uuid not null default gen_random_uuid(),
    service_date    date not null,
    status          plan_status not null default 'queued',
    progress        text not null default 'queued',
    keep_confirmed  boolean not null default true,
    requested_by    uuid references staff,
    estimated_times boolean not null default false,
    summary         jsonb,
    error           text,
    created_at      timestamptz not null default now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    primary key (region_code, plan_job_id),
    unique (plan_job_id)
);

create table plan_unserved (
    region_code      text not null,
    plan_job_id      uuid not null,
    ride_request_id  uuid not null,
    reason           text not null,
    primary key (region_code, plan_job_id, ride_request_id),
    foreign key (region_code, plan_job_id) references plan_job (region_code, plan_job_id)
);

create type run_status as enum ('planned', 'in_progress', 'completed', 'cancelled');

-- A vehicle's work for one day: the ordered stops it serves.
create table run (
    region_code      text not null,
    run_id           uuid not null default gen_random_uuid(),
    service_date     date not null,
    vehicle_id       uuid not null references vehicle (vehicle_id),
    driver_id        uuid references driver (driver_id),
    line_id          uuid references work_line (line_id),
    plan_job_id      uuid references plan_job (plan_job_id),
    status           run_status not null default 'planned',
    estimated_times  boolean not null default false,
    planned_distance_m integer not null default 0,
    created_at       timestamptz not null default now(),
    primary key (region_code, run_id),
    unique (run_id)
);
create index run_day_idx on run (region_code, service_date);
create unique index run_vehicle_day_idx on run (vehicle_id, service_date) where status <> 'cancelled' and line_id is null;

alter table ride_request add foreign key (run_id) references run (run_id);
alter table ride_request add foreign key (line_subscription_id) references line_subscription (subscription_id);

create type stop_kind as enum ('start', 'pickup', 'dropoff', 'end');
create type stop_status as enum ('pending', 'arrived', 'done', 'skipped');

create table run_stop (
    region_code        text not null,
    run_id             uuid not null,
    seq                integer not null check (seq >= 0),
    kind               stop_kind not null,
    ride_request_id    uuid references ride_request (ride_request_id),
    place_id           uuid references place (place_id),
    meeting_point_id   uuid references meeting_point (meeting_point_id),
    location           geography(point, 4326) not null,
    planned_arrival    timestamptz not null,
    planned_departure  timestamptz not null,
    actual_arrival     timestamptz,
    status             stop_status not null default 'pending',
    created_at         timestamptz not null default now(),
    primary key (region_code, run_id, seq),
    foreign key (region_code, run_id) references run (region_code, run_id),
    check ((kind in ('pickup', 'dropoff')) = (ride_request_id is not null))
);
create index run_stop_request_idx on run_stop (ride_request_id);

create type driver_event_kind as enum ('arrived', 'boarded', 'no_show', 'dropped_off');

-- What drivers' phones report. client_event_id makes a retried upload a no-op.
create table driver_event (
    region_code      text not null,
    client_event_id  uuid not null,
    run_id           uuid not null,
    driver_id        uuid not null references driver (driver_id),
    kind             driver_event_kind not null,
    stop_seq         integer,
    ride_request_id  uuid references ride_request (ride_request_id),
    occurred_at      timestamptz not null,
    received_at      timestamptz not null default now(),
    primary key (region_code, client_event_id),
    foreign key (region_code, run_id) references run (region_code, run_id)
);
create index driver_event_run_idx on driver_event (run_id, occurred_at);

create table vehicle_position (
    region_code      text not null,
    client_event_id  uuid not null,
    run_id           uuid not null,
    driver_id        uuid not null references driver (driver_id),
    location         geography(point, 4326) not null,
    recorded_at      timestamptz not null,
    received_at      timestamptz not null default now(),
    primary key (region_code, client_event_id),
    foreign key (region_code, run_id) references run (region_code, run_id)
);
create index vehicle_position_run_idx on vehicle_position (run_id, recorded_at desc);

create type ride_outcome as enum ('completed', 'no_show');

-- A ride that happened (or was missed), with its cost and where it was charged.
create table ride (
    region_code        text not null,
    ride_id            uuid not null default gen_random_uuid(),
    ride_request_id    uuid not null unique references ride_request (ride_request_id),
    run_id             uuid not null references run (run_id),
    case_id            uuid not null,
    person_id          uuid not null,
    outcome            ride_outcome not null,
    picked_up_at       timestamptz,
    dropped_off_at     timestamptz,
    distance_m         integer not null default 0 check (distance_m >= 0),
    cost_cents         bigint not null default 0 check (cost_cents >= 0),
    funding_source_id  uuid references funding_source (funding_source_id),
    ledger_entry_id    bigint,
    created_at         timestamptz not null default now(),
    primary key (region_code, ride_id),
    unique (ride_id),
    foreign key (region_code, case_id) references care_case (region_code, case_id)
);
create index ride_case_idx on ride (case_id);
