-- Drivers work shifts: a run gets a driver whose shift (local times) covers it and who is not
-- on another run at the same time. The defaults are the service's hours.
alter table driver
    add column shift_start time not null default '05:00',
    add column shift_end time not null default '22:00',
    add constraint driver_shift_order check (shift_end > shift_start);
