-- A driver reports a break: started and ended, at the stop where the van is (the events
-- `break_started` / `break_ended`). The break the planner placed there (or the next one not
-- yet taken, when the driver takes it early or late) records when it really began and ended;
-- a taken break is kept by re-plans, and the next one counts from its end.
alter type driver_event_kind add value if not exists 'break_started';
alter type driver_event_kind add value if not exists 'break_ended';

alter table run_break
    add column started_at timestamptz,
    add column ended_at   timestamptz,
    add constraint run_break_taken_in_order
        check (ended_at is null or (started_at is not null and ended_at >= started_at));
