-- Issue #11, items 5 and 8.

-- One planning job per region and day at a time. A job still queued or running when this
-- migration runs was interrupted (the service is stopped while it migrates): it failed.
update plan_job
   set status = 'failed', error = 'interrupted: the service stopped while it ran',
       progress = 'failed: interrupted', finished_at = now()
 where status in ('queued', 'running');
create unique index plan_job_one_active_per_day on plan_job (region_code, service_date)
    where status in ('queued', 'running');

-- Retention. Positions are coarsened once their day is over (to a grid of about a kilometre)
-- and deleted after a configured period.
alter table vehicle_position add column coarsened boolean not null default false;
create index vehicle_position_recorded_idx on vehicle_position (recorded_at);

-- Stop events and ride records of a case closed long enough ago are pseudonymised: the ride
-- loses its case and carries a random pseudonym instead of the person (the same for all rides
-- of one case), its times are cut to the hour; a stop event loses its ride request and its time
-- is cut to the hour.
alter table ride alter column case_id drop not null;
alter table ride add column pseudonymised_at timestamptz;
alter table driver_event add column pseudonymised_at timestamptz;
create index care_case_closed_idx on care_case (closed_on) where closed_on is not null;
