create type funding_kind as enum ('integration_budget', 'transport_fund', 'employer_contribution');
create type budget_area as enum ('housing', 'social_health', 'integration_orientation', 'active_labour');

-- Who pays for rides. A person's Budget di Integrazione (split across the four areas), the
-- programme's transport fund (optional per-person monthly cap), or an employer's contribution.
create table funding_source (
    region_code               text not null references region,
    funding_source_id         uuid not null default gen_random_uuid(),
    kind                      funding_kind not null,
    name                      text not null check (btrim(name) <> ''),
    person_id                 uuid,
    employer_name             text,
    cap_cents                 bigint not null check (cap_cents > 0),
    person_monthly_cap_cents  bigint check (person_monthly_cap_cents > 0),
    period_start              date not null,
    period_end                date not null,
    created_at                timestamptz not null default now(),
    primary key (region_code, funding_source_id),
    unique (funding_source_id),
    foreign key (region_code, person_id) references person (region_code, person_id),
    check (period_end >= period_start),
    check ((kind = 'integration_budget') = (person_id is not null)),
    check ((kind = 'employer_contribution') = (employer_name is not null)),
    check (kind = 'transport_fund' or person_monthly_cap_cents is null)
);

-- The split of an integration budget across areas. Written with the source, never changed.
create table funding_area_cap (
    region_code        text not null,
    funding_source_id  uuid not null,
    area               budget_area not null,
    cap_cents          bigint not null check (cap_cents >= 0),
    created_at         timestamptz not null default now(),
    primary key (region_code, funding_source_id, area),
    foreign key (region_code, funding_source_id) references funding_source (region_code, funding_source_id)
);

create type ledger_kind as enum ('charge', 'correction');

-- Append-only. A charge spends (amount > 0); a correction points at the entry it corrects and
-- may be of either sign. The balance of a source is the sum of its entries.
create table ledger_entry (
    region_code        text not null,
    ledger_entry_id    bigint generated always as identity,
    funding_source_id  uuid not null,
    kind               ledger_kind not null,
    amount_cents       bigint not null check (amount_cents <> 0),
    area               budget_area,
    person_id          uuid,
    corrects_entry_id  bigint,
    occurred_on        date not null,
    description        text not null check (btrim(description) <> ''),
    -- A caller's reference (e.g. the ride) so a retried charge is not written twice.
    external_ref       text,
    created_by         uuid references staff,
    created_at         timestamptz not null default now(),
    primary key (region_code, ledger_entry_id),
    foreign key (region_code, funding_source_id) references funding_source (region_code, funding_source_id),
    foreign key (region_code, corrects_entry_id) references ledger_entry (region_code, ledger_entry_id),
    unique (region_code, funding_source_id, external_ref),
    check ((kind = 'correction') = (corrects_entry_id is not null)),
    check (kind = 'correction' or amount_cents > 0)
);
create index ledger_entry_source_idx on ledger_entry (funding_source_id);

create trigger ledger_entry_append_only before update or delete on ledger_entry
    for each row execute function forbid_change();

-- Backstop for the caps: whatever the application did, an insert that would take a source over
-- any of its caps (or below zero) is refused. The source row is locked first, so concurrent
-- inserts on one source are checked one after the other.
create function ledger_entry_within_caps() returns trigger language plpgsql as $$
declare
    src funding_source%rowtype;
    total bigint;
    area_total bigint;
    area_cap bigint;
    month_total bigint;
begin
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
    select coalesce(sum(amount_cents), 0) + new.amount_cents into total
        from ledger_entry where funding_source_id = new.funding_source_id;
    if total > src.cap_cents or total < 0 then
        raise exception 'funding source % would reach % cents (cap %)', src.funding_source_id, total, src.cap_cents
            using errcode = '23514', constraint = 'ledger_entry_within_cap';
    end if;
    if new.area is not null then
        select cap_cents into area_cap from funding_area_cap
            where funding_source_id = new.funding_source_id and area = new.area;
        select coalesce(sum(amount_cents), 0) + new.amount_cents into area_total
            from ledger_entry where funding_source_id = new.funding_source_id and area = new.area;
        if area_cap is not null and (area_total > area_cap or area_total < 0) then
            raise exception 'area % would reach % cents (cap %)', new.area, area_total, area_cap
                using errcode = '23514', constraint = 'ledger_entry_within_area_cap';
        end if;
    end if;
    if src.person_monthly_cap_cents is not null then
        if new.person_id is null then
            raise exception 'a charge to a fund with a per-person cap needs a person'
                using errcode = '23514', constraint = 'ledger_entry_person_required';
        end if;
        select coalesce(sum(amount_cents), 0) + new.amount_cents into month_total
            from ledger_entry
            where funding_source_id = new.funding_source_id and person_id = new.person_id
              and date_trunc('month', occurred_on) = date_trunc('month', new.occurred_on);
        if month_total > src.person_monthly_cap_cents then
            raise exception 'person % would reach % cents this month (cap %)', new.person_id, month_total, src.person_monthly_cap_cents
                using errcode = '23514', constraint = 'ledger_entry_within_person_monthly_cap';
        end if;
    end if;
    return new;
end $$;

create trigger ledger_entry_within_caps before insert on ledger_entry
    for each row execute function ledger_entry_within_caps();
