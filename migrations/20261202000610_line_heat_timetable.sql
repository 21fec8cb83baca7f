-- Heat ordinances: in summer the regions stop field work in the hottest hours. A line may have
-- an alternative timetable (one time per stop, like the normal one); on the days its
-- coordinators mark, the line's run and its subscribers' rides use the alternative times.
alter table work_line_stop add column heat_stop_time time;

create table line_heat_day (
    region_code   text not null,
    line_id       uuid not null,
    service_date  date not null,
    marked_by     uuid not null references staff (staff_id),
    marked_at     timestamptz not null default now(),
    primary key (region_code, line_id, service_date),
    foreign key (region_code, line_id) references work_line (region_code, line_id)
);
