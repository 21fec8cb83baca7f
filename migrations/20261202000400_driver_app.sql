-- What the driver app needs from the driving side of runs.
--
-- The no-show wait: how long a driver waits at a pickup after arriving before "no-show" may be
-- pressed (the phone shows the countdown). Programme configuration, 5 minutes by default.
alter table programme_config
    add column no_show_wait_seconds integer not null default 300
        check (no_show_wait_seconds between 0 and 3600);

-- Two more things a driver reports at a stop: a note from a fixed list (no typing while
-- driving) and the undo of their last action. New enum values cannot be used in the
-- transaction that adds them; nothing here uses them.
alter type driver_event_kind add value if not exists 'note';
alter type driver_event_kind add value if not exists 'undo';

-- The phone's position when the event was recorded: evidence for a disputed no-show. It is
-- coarsened and deleted with the rest of the run's positions (runs::retention).
alter table driver_event
    add column location geography(point, 4326),
    add column note text,
    -- For an undo: the client_event_id of the event it takes back.
    add column undoes uuid;

create index driver_event_undoes_idx on driver_event (run_id, undoes) where undoes is not null;
