-- Region-scoped tables (those with a non-null region_code) reference each other with
-- region_code first, so that when the data is distributed by region (Citus, see
-- docs/scale.md) every foreign key stays within one region's shard. The first migrations
-- declared some references on the id alone (run.vehicle_id -> vehicle.vehicle_id, ...); each
-- such constraint is replaced here, under the same name, by the composite one
-- (region_code, col) -> (region_code, ref_col). Rows already satisfy it: a row never
-- references another region's row. A test (tests/schema.rs) keeps it so.
do $$
declare
    fk record;
    cols text;
    refcols text;
begin
    for fk in
        select c.conname, c.conrelid, c.confrelid, c.conkey, c.confkey
        from pg_constraint c
        where c.contype = 'f'
          and c.connamespace = 'public'::regnamespace
          and exists (select 1 from pg_attribute a
                      where a.attrelid = c.conrelid and a.attname = 'region_code' and a.attnotnull)
          and exists (select 1 from pg_attribute a
                      where a.attrelid = c.confrelid and a.attname = 'region_code' and a.attnotnull)
          and (select a.attname from pg_attribute a
               where a.attrelid = c.conrelid and a.attnum = c.conkey[1]) <> 'region_code'
    loop
        select string_agg(quote_ident(a.attname), ', ' order by k.i) into cols
        from unnest(fk.conkey) with ordinality as k(n, i)
        join pg_attribute a on a.attrelid = fk.conrelid and a.attnum = k.n;
        select string_agg(quote_ident(a.attname), ', ' order by k.i) into refcols
        from unnest(fk.confkey) with ordinality as k(n, i)
        join pg_attribute a on a.attrelid = fk.confrelid and a.attnum = k.n;
        execute format('alter table %s drop constraint %I', fk.conrelid::regclass, fk.conname);
        execute format('alter table %s add constraint %I foreign key (region_code, %s) references %s (region_code, %s)',
                       fk.conrelid::regclass, fk.conname, cols, fk.confrelid::regclass, refcols);
    end loop;
end $$;
