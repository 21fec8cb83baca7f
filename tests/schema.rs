//! The schema stays ready to be distributed by region (docs/scale.md): read from the
//! database itself after every migration.

use sqlx::PgPool;

/// Tables with a non-null `region_code`: the region-scoped ones.
async fn region_scoped(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select c.relname::text from pg_class c
         join pg_attribute a on a.attrelid = c.oid and a.attname = 'region_code' and a.attnotnull
         where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace and c.relname <> 'region'
         order by 1",
    )
    .fetch_all(pool)
    .await
    .expect("tables")
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn region_scoped_keys_start_with_the_region(pool: PgPool) {
    let tables = region_scoped(&pool).await;
    for t in [
        "ride_request",
        "run",
        "run_stop",
        "ledger_entry",
        "care_case",
        "vehicle",
    ] {
        assert!(tables.iter().any(|x| x == t), "{t} is region-scoped");
    }
    // Primary keys: (region_code, ...).
    let bad_pk: Vec<(String, String)> = sqlx::query_as(
        "select c.conrelid::regclass::text, pg_get_constraintdef(c.oid)
         from pg_constraint c
         join pg_attribute a on a.attrelid = c.conrelid and a.attnum = c.conkey[1]
         where c.contype = 'p' and c.conrelid::regclass::text = any($1) and a.attname <> 'region_code'",
    )
    .bind(&tables)
    .fetch_all(&pool)
    .await
    .expect("primary keys");
    assert!(
        bad_pk.is_empty(),
        "primary keys not led by region_code: {bad_pk:?}"
    );
    let no_pk: Vec<String> = sqlx::query_scalar(
        "select t from unnest($1::text[]) t
         where not exists (select 1 from pg_constraint c where c.contype = 'p' and c.conrelid::regclass::text = t)",
    )
    .bind(&tables)
    .fetch_all(&pool)
    .await
    .expect("tables without a key");
    assert!(
        no_pk.is_empty(),
        "region-scoped tables without a primary key: {no_pk:?}"
    );
    // Foreign keys between region-scoped tables: (region_code, ...) -> (region_code, ...).
    let fks: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "select c.conname::text, c.conrelid::regclass::text, c.confrelid::regclass::text,
                (select a.attname::text from pg_attribute a where a.attrelid = c.conrelid and a.attnum = c.conkey[1]),
                (select a.attname::text from pg_attribute a where a.attrelid = c.confrelid and a.attnum = c.confkey[1])
         from pg_constraint c
         where c.contype = 'f' and c.conrelid::regclass::text = any($1) and c.confrelid::regclass::text = any($1)",
    )
    .bind(&tables)
    .fetch_all(&pool)
    .await
    .expect("foreign keys");
    assert!(fks.len() > 30, "the foreign keys are read ({})", fks.len());
    let bad: Vec<_> = fks
        .iter()
        .filter(|(_, _, _, from, to)| from != "region_code" || to != "region_code")
        .collect();
    assert!(
        bad.is_empty(),
        "foreign keys not led by region_code: {bad:?}"
    );
}
