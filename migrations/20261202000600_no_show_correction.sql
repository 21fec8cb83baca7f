-- A coordinator corrects a mistaken no-show: the rider did travel. The correction is recorded
-- once per request, with who and why; the ride becomes completed and is charged by a new
-- ledger entry (and a no-show charge, if the programme made one, is given back by a
-- correction entry): the ledger is never updated in place.
create table no_show_correction (
    region_code        text not null,
    ride_request_id    uuid not null,
    ride_id            uuid not null,
    corrected_by       uuid not null references staff (staff_id),
    reason             text not null check (length(btrim(reason)) between 1 and 2000),
    no_show_cost_cents bigint not null,
    refund_entry_id    bigint,
    charge_entry_id    bigint,
    corrected_at       timestamptz not null default now(),
    primary key (region_code, ride_request_id),
    unique (ride_request_id),
    foreign key (region_code, ride_request_id) references ride_request (region_code, ride_request_id),
    foreign key (region_code, ride_id) references ride (region_code, ride_id)
);
create index no_show_correction_region_idx on no_show_correction (region_code, corrected_at);
