-- Vehicles work whole shifts: after a run is completed, the same vehicle may start another
-- that day. Only one open (planned or in progress) demand-responsive run per vehicle and day.
drop index run_vehicle_day_idx;
create unique index run_vehicle_day_open_idx on run (vehicle_id, service_date)
    where status in ('planned', 'in_progress') and line_id is null;
