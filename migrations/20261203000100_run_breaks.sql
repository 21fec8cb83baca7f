-- Drivers' breaks on demand-responsive runs (EU rule: 45 minutes after 4 h 30 of driving):
-- planned by the optimiser with the stops, taken where the vehicle is after the stop
-- `after_seq` of the run, with nobody on board. Owned by the runs module; a re-plan rewrites
-- the breaks of the part of the run it rewrites.
create table run_break (
    region_code   text not null,
    run_id        uuid not null,
    after_seq     integer not null check (after_seq >= 0),
    planned_start timestamptz not null,
    planned_end   timestamptz not null,
    primary key (region_code, run_id, planned_start),
    foreign key (region_code, run_id) references run (region_code, run_id) on delete cascade,
    check (planned_end > planned_start)
);
