-- Wheelchair places on a line: a subscriber who travels in a wheelchair needs one on every leg
-- they ride (besides the line's seats, which everyone counts against as before).
alter table work_line add column wheelchair_places smallint not null default 0
    check (wheelchair_places >= 0);
