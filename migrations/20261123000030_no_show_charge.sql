-- What the programme charges for a missed ride (the rider did not show up). Zero, the
-- default, means a no-show is recorded and counted as missed but costs nothing; a programme
-- that decides otherwise sets a fixed amount, charged by the same funding rules and caps.
alter table programme_config
    add column no_show_charge_cents integer not null default 0 check (no_show_charge_cents >= 0);
