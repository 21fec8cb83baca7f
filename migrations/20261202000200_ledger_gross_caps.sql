-- Issue #11, item 1: the ledger paid out beyond its caps through corrections (a correction of
-- -900 against a 100-cent charge, the same entry corrected again and again). From here on:
--
-- * a correction only reverses (part of) the charge it points at: it is negative, it points at
--   a charge (not at another correction) of the same source, it keeps the charge's area,
--   person and day, and all corrections of a charge together never exceed the charge;
-- * every cap (the source's total, each area, each person's month) holds for the gross
--   payouts, the sum of every positive entry, as well as for the net total: money given back
--   by a correction does not make room for new charges under a cap.
--
-- The service checks the same rules first (with a message naming the field); this trigger is
-- the backstop. Sums are numeric so that no amount can overflow them into a raw error.

create index ledger_entry_corrects_idx on ledger_entry (corrects_entry_id)
    where corrects_entry_id is not null;

create or replace function ledger_entry_within_caps() returns trigger language plpgsql as $$
declare
    src funding_source%rowtype;
    orig ledger_entry%rowtype;
    reversed numeric;
    gross numeric;
    net numeric;
    area_cap bigint;
    positive numeric := greatest(new.amount_cents, 0);
begin
    -- Concurrent inserts on one source are checked one after the other.
    select * into src from funding_source
        where region_code = new.region_code and funding_source_id = new.funding_source_id
        for update;
    if src.kind = 'integration_budget' and new.area is null then
        raise exception 'a charge to an integration budget needs an area'
            using errcode = '23514', constraint = 'ledger_entry_area_required';
    end if;
    if new.kind = 'charge' and (new.occurred_on < src.period_start or new.occurred_on > src.period_end) then
        raise exception 'charge on % is outside the funding period % to %', new.occurred_on, src.period_start, src.period_end
            using errcode = '23514', constraint = 'ledger_entry_in_period';
    end if;

    if new.kind = 'correction' then
        select * into orig from ledger_entry
            where region_code = new.region_code and ledger_entry_id = new.corrects_entry_id;
        if orig.ledger_entry_id is null or orig.funding_source_id <> new.funding_source_id then
            raise exception 'entry % is not an entry of this source', new.corrects_entry_id
                using errcode = '23514', constraint = 'ledger_correction_same_source';
        end if;
        if orig.kind <> 'charge' then
            raise exception 'entry % is a correction: correct the charge itself', new.corrects_entry_id
                using errcode = '23514', constraint = 'ledger_correction_of_charge';
        end if;
        if new.amount_cents >= 0 then
            raise exception 'a correction only gives back (negative cents); charge more as a new charge'
                using errcode = '23514', constraint = 'ledger_correction_reverses';
        end if;
        if new.area is distinct from orig.area or new.person_id is distinct from orig.person_id
           or new.occurred_on <> orig.occurred_on then
            raise exception 'a correction keeps the area, person and day of the charge it corrects'
                using errcode = '23514', constraint = 'ledger_correction_matches_charge';
        end if;
        select coalesce(sum(amount_cents), 0) into reversed from ledger_entry
            where region_code = new.region_code and corrects_entry_id = orig.ledger_entry_id;
        if orig.amount_cents + reversed + new.amount_cents < 0 then
            raise exception 'entry % has % cents left to reverse, not %',
                orig.ledger_entry_id, orig.amount_cents + reversed, -new.amount_cents
                using errcode = '23514', constraint = 'ledger_correction_within_entry';
        end if;
    end if;

    -- The source's total: gross (every positive entry) and net.
    select coalesce(sum(greatest(amount_cents, 0)), 0) + positive,
           coalesce(sum(amount_cents), 0) + new.amount_cents
        into gross, net
        from ledger_entry where funding_source_id = new.funding_source_id;
    if gross > src.cap_cents or net > src.cap_cents or net < 0 then
        raise exception 'funding source % would reach % cents paid out (cap %)', src.funding_source_id, gross, src.cap_cents
            using errcode = '23514', constraint = 'ledger_entry_within_cap';
    end if;

    if new.area is not null then
        select cap_cents into area_cap from funding_area_cap
            where funding_source_id = new.funding_source_id and area = new.area;
        select coalesce(sum(greatest(amount_cents, 0)), 0) + positive,
               coalesce(sum(amount_cents), 0) + new.amount_cents
            into gross, net
            from ledger_entry where funding_source_id = new.funding_source_id and area = new.area;
        if area_cap is not null and (gross > area_cap or net > area_cap or net < 0) then
            raise exception 'area % would reach % cents paid out (cap %)', new.area, gross, area_cap
                using errcode = '23514', constraint = 'ledger_entry_within_area_cap';
        end if;
    end if;

    if src.person_monthly_cap_cents is not null then
        if new.person_id is null then
            raise exception 'a charge to a fund with a per-person cap needs a person'
                using errcode = '23514', constraint = 'ledger_entry_person_required';
        end if;
        select coalesce(sum(greatest(amount_cents, 0)), 0) + positive,
               coalesce(sum(amount_cents), 0) + new.amount_cents
            into gross, net
            from ledger_entry
            where funding_source_id = new.funding_source_id and person_id = new.person_id
              and date_trunc('month', occurred_on) = date_trunc('month', new.occurred_on);
        if gross > src.person_monthly_cap_cents or net > src.person_monthly_cap_cents then
            raise exception 'person % would reach % cents paid out this month (cap %)', new.person_id, gross, src.person_monthly_cap_cents
                using errcode = '23514', constraint = 'ledger_entry_within_person_monthly_cap';
        end if;
    end if;
    return new;
end $$;
