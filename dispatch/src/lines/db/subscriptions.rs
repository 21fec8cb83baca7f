//! Subscriptions: the seat check under a lock on the line row, so two coordinators booking the
//! last seat are serialised (one gets it, the other a `line_full` conflict naming an
//! alternative), and the end of a subscription.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{get_line, spans, stop_count};
use crate::auth::Actor;
use crate::error::{on_constraint, AppError, AppResult};
use crate::ids::RideRequestId;
use crate::lines::{
    first_day_with_seat, peak_load, Line, NewSubscription, Schedule, Span, Subscription,
    SubscriptionStatus,
};

const SUBSCRIPTION_COLUMNS: &str = "s.subscription_id, s.line_id, s.case_id, pe.known_as,
    s.board_seq, s.alight_seq, s.valid_from, s.valid_to, s.status";

/// Subscriptions of a line held by cases of `polo_id` (case data: the caller audits the read).
///
/// # Errors
/// Database errors.
pub async fn subscriptions_of_polo(
    conn: &mut PgConnection,
    line_id: Uuid,
    polo_id: Uuid,
) -> AppResult<Vec<Subscription>> {
    let sql = format!(
        "select {SUBSCRIPTION_COLUMNS}
         from line_subscription s join care_case c on c.case_id = s.case_id
         join person pe on pe.person_id = s.person_id
         where s.line_id = $1 and c.polo_id = $2
         order by s.status, s.valid_from, s.created_at"
    );
    Ok(sqlx::query_as(&sql)
        .bind(line_id)
        .bind(polo_id)
        .fetch_all(conn)
        .await?)
}

/// Another line serving the same pair of places with a free seat for the dates asked.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Alternative {
    /// Line.
    pub line_id: Uuid,
    /// Name.
    pub name: String,
    /// Stop to board at.
    pub board_seq: i16,
    /// Stop to get off at.
    pub alight_seq: i16,
    /// Local time at the boarding stop.
    pub board_time: String,
    /// Seats free on the busiest day of the range.
    #[sqlx(skip)]
    pub free_seats: i64,
    /// The part of the dates asked that falls in this line's season.
    #[sqlx(skip)]
    pub valid_from: NaiveDate,
    /// Its last day.
    #[sqlx(skip)]
    pub valid_to: NaiveDate,
    #[serde(skip)]
    capacity: i16,
    #[serde(skip)]
    season_start: NaiveDate,
    #[serde(skip)]
    season_end: NaiveDate,
    #[serde(skip)]
    operating_days: Vec<i16>,
}

/// Other lines of the region serving the same boarding and alighting places (by place, in the
/// same order) that have a free seat on every day of `span` they run.
///
/// # Errors
/// Database errors.
pub async fn alternatives(
    conn: &mut PgConnection,
    line: &Line,
    span: &Span,
) -> AppResult<Vec<Alternative>> {
    let candidates: Vec<Alternative> = sqlx::query_as(
        "select distinct on (l.line_id) l.line_id, l.name, b.seq as board_seq, a.seq as alight_seq,
            to_char(b.stop_time, 'HH24:MI') as board_time, l.capacity, l.season_start,
            l.season_end, l.operating_days
         from work_line l
         join work_line_stop b on b.line_id = l.line_id
            and b.place_id = (select place_id from work_line_stop where line_id = $1 and seq = $2)
         join work_line_stop a on a.line_id = l.line_id and a.seq > b.seq
            and a.place_id = (select place_id from work_line_stop where line_id = $1 and seq = $3)
         where l.region_code = $4 and l.line_id <> $1
            and l.season_start <= $6 and l.season_end >= $5
         order by l.line_id, b.seq desc, a.seq",
    )
    .bind(line.line_id)
    .bind(span.board_seq)
    .bind(span.alight_seq)
    .bind(&line.region_code)
    .bind(span.valid_from)
    .bind(span.valid_to)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for mut c in candidates {
        let schedule = Schedule {
            season_start: c.season_start,
            season_end: c.season_end,
            operating_days: c.operating_days.clone(),
        };
        let wanted = Span {
            board_seq: c.board_seq,
            alight_seq: c.alight_seq,
            valid_from: span.valid_from.max(c.season_start),
            valid_to: span.valid_to.min(c.season_end),
        };
        if schedule
            .next_operating_day(wanted.valid_from, wanted.valid_to)
            .is_none()
        {
            continue;
        }
        let existing = spans(conn, c.line_id, wanted.valid_from, wanted.valid_to).await?;
        let taken = peak_load(&schedule, &existing, &wanted);
        let free = usize::try_from(c.capacity)
            .unwrap_or(0)
            .saturating_sub(taken);
        if free > 0 {
            c.free_seats = i64::try_from(free).unwrap_or(i64::MAX);
            c.valid_from = wanted.valid_from;
            c.valid_to = wanted.valid_to;
            out.push(c);
        }
    }
    out.sort_by(|a, b| {
        a.board_time
            .cmp(&b.board_time)
            .then(b.free_seats.cmp(&a.free_seats))
    });
    Ok(out)
}

/// Subscribes a case of `polo_id` to a line: locks the line, checks the season, the segment and
/// the seats on every day and leg, and audits the read of the case.
///
/// # Errors
/// Not found for an unknown line or a case not of this Polo; validation errors naming the
/// field; `already_subscribed`; `line_full` naming alternatives (other lines, the first day
/// with a free seat) in the error body.
pub async fn subscribe(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    polo_id: Uuid,
    line_id: Uuid,
    new: &NewSubscription,
) -> AppResult<Subscription> {
    let line = get_line(conn, line_id, true)
        .await?
        .ok_or(AppError::NotFound("line"))?;
    if let Actor::Staff(staff) = actor {
        staff.require_region("region_code", &line.region_code)?;
    }
    let own_person = match actor {
        Actor::Worker(w) => Some(w.person_id),
        Actor::Staff(_) => None,
    };
    let case: Option<(String, Uuid, String, bool)> = sqlx::query_as(
        "select c.region_code, c.person_id, c.status::text, p.wheelchair
         from care_case c join person p on p.person_id = c.person_id
         where c.case_id = $1 and c.polo_id = $2 and ($3::uuid is null or c.person_id = $3)",
    )
    .bind(new.case_id)
    .bind(polo_id)
    .bind(own_person)
    .fetch_optional(&mut *conn)
    .await?;
    let (case_region, person_id, case_status, wheelchair) =
        case.ok_or(AppError::NotFound("case"))?;
    if case_region != line.region_code {
        return Err(AppError::invalid(
            "case_id",
            "the case is in another region than the line",
        ));
    }
    if case_status == "closed" {
        return Err(AppError::invalid("case_id", "the case is closed"));
    }
    let schedule = line.schedule();
    let stops = usize::try_from(stop_count(conn, line_id).await?).unwrap_or(0);
    let span = new.validate(&schedule, stops)?;
    let dup: Option<Uuid> = sqlx::query_scalar(
        "select subscription_id from line_subscription where line_id = $1 and case_id = $2
            and status = 'active' and valid_from <= $4 and valid_to >= $3 limit 1",
    )
    .bind(line_id)
    .bind(new.case_id)
    .bind(span.valid_from)
    .bind(span.valid_to)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(existing) = dup {
        return Err(AppError::conflict(
            "already_subscribed",
            format!(
                "this case already has subscription {existing} on this line for some of these days"
            ),
        ));
    }
    let existing = spans(conn, line_id, span.valid_from, span.valid_to).await?;
    let capacity = usize::try_from(line.capacity).unwrap_or(0);
    if peak_load(&schedule, &existing, &span) >= capacity {
        return Err(line_full(conn, &line, &span).await?);
    }
    // A wheelchair user also needs a wheelchair place on every leg and day they ride.
    if wheelchair {
        let others = super::wheelchair_spans(conn, line_id, span.valid_from, span.valid_to).await?;
        let places = usize::try_from(line.wheelchair_places).unwrap_or(0);
        if peak_load(&schedule, &others, &span) >= places {
            return Err(AppError::conflict(
                "no_wheelchair_place",
                format!(
                    "line \"{}\" has {} wheelchair place(s), all taken between stops {} and {} on some day from {} to {}",
                    line.name, line.wheelchair_places, span.board_seq, span.alight_seq, span.valid_from, span.valid_to
                ),
            ));
        }
    }
    let sql = format!(
        "with ins as (
            insert into line_subscription (region_code, line_id, case_id, person_id, board_seq,
                alight_seq, valid_from, valid_to, created_by)
            values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning *)
         select {SUBSCRIPTION_COLUMNS} from ins s join person pe on pe.person_id = s.person_id"
    );
    let sub: Subscription = sqlx::query_as(&sql)
        .bind(&line.region_code)
        .bind(line_id)
        .bind(new.case_id)
        .bind(person_id)
        .bind(span.board_seq)
        .bind(span.alight_seq)
        .bind(span.valid_from)
        .bind(span.valid_to)
        .bind(actor.staff_id())
        .fetch_one(&mut *conn)
        .await
        .map_err(on_constraint)?;
    if let Actor::Staff(staff) = actor {
        crate::audit::record_case_access(
            conn,
            staff,
            &line.region_code,
            new.case_id,
            "line subscription",
        )
        .await?;
    }
    Ok(sub)
}

/// The `line_full` conflict, naming other lines with a seat and this line's first free day.
async fn line_full(conn: &mut PgConnection, line: &Line, span: &Span) -> AppResult<AppError> {
    let alternatives = alternatives(conn, line, span).await?;
    let later = spans(conn, line.line_id, span.valid_from, line.season_end).await?;
    let next_free_date = first_day_with_seat(
        &line.schedule(),
        &later,
        usize::try_from(line.capacity).unwrap_or(0),
        span.board_seq,
        span.alight_seq,
        span.valid_from,
    );
    let hint = match (alternatives.first(), next_free_date) {
        (Some(a), _) => format!("line \"{}\" has {} free seat(s)", a.name, a.free_seats),
        (None, Some(d)) => format!("this line has a free seat from {d}"),
        (None, None) => "no other line serves these places with a free seat".to_owned(),
    };
    Ok(AppError::conflict_with(
        "line_full",
        format!(
            "line \"{}\" is full ({} seats) between stops {} and {} on some day from {} to {}; {hint}",
            line.name, line.capacity, span.board_seq, span.alight_seq, span.valid_from, span.valid_to
        ),
        json!({ "alternatives": alternatives, "next_free_date": next_free_date }),
    ))
}

/// Ends a subscription of a case of `polo_id`: status `ended`, `valid_to` set to `last_day`
/// (kept within the subscription's range); requests already made for later days are cancelled,
/// and returned: they are still on their runs until the caller has them leave
/// ([`crate::lines::http::end_subscription_as`] does, through the dispatcher).
///
/// # Errors
/// Not found when the subscription is not on this line or not of this Polo; a conflict when it
/// has already ended.
pub async fn end_subscription(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    polo_id: Uuid,
    line_id: Uuid,
    subscription_id: Uuid,
    last_day: NaiveDate,
) -> AppResult<(Subscription, Vec<RideRequestId>)> {
    let own_person = match actor {
        Actor::Worker(w) => Some(w.person_id),
        Actor::Staff(_) => None,
    };
    let current: Option<(String, Uuid, SubscriptionStatus)> = sqlx::query_as(
        "select s.region_code, s.case_id, s.status from line_subscription s
         join care_case c on c.case_id = s.case_id
         where s.subscription_id = $1 and s.line_id = $2 and c.polo_id = $3
            and ($4::uuid is null or s.person_id = $4) for update of s",
    )
    .bind(subscription_id)
    .bind(line_id)
    .bind(polo_id)
    .bind(own_person)
    .fetch_optional(&mut *conn)
    .await?;
    let (region, case_id, status) = current.ok_or(AppError::NotFound("subscription"))?;
    if status == SubscriptionStatus::Ended {
        return Err(AppError::conflict(
            "already_ended",
            "the subscription has already ended",
        ));
    }
    let sql = format!(
        "with upd as (
            update line_subscription set status = 'ended',
                valid_to = least(valid_to, greatest(valid_from, $2))
            where subscription_id = $1 returning *)
         select {SUBSCRIPTION_COLUMNS} from upd s join person pe on pe.person_id = s.person_id"
    );
    let sub: Subscription = sqlx::query_as(&sql)
        .bind(subscription_id)
        .bind(last_day)
        .fetch_one(&mut *conn)
        .await?;
    let later: Vec<Uuid> = sqlx::query_scalar(
        "select ride_request_id from ride_request where line_subscription_id = $1
            and service_date > $2 and status not in ('cancelled', 'refused', 'completed', 'no_show')",
    )
    .bind(subscription_id)
    .bind(sub.valid_to)
    .fetch_all(&mut *conn)
    .await?;
    let mut cancelled = Vec::with_capacity(later.len());
    for r in later {
        crate::bookings::db::set_status(
            conn,
            r.into(),
            crate::bookings::RideStatus::Cancelled,
            Some("line subscription ended"),
            actor.staff_id(),
        )
        .await?;
        cancelled.push(r.into());
    }
    if let Actor::Staff(staff) = actor {
        crate::audit::record_case_access(conn, staff, &region, case_id, "line subscription end")
            .await?;
    }
    Ok((sub, cancelled))
}

/// Subscribes every open case of a Polo to a line for `[from, to]` on the segment
/// `(board_seq, alight_seq)`, with no seat check (the demo season: a line sized for them).
///
/// # Errors
/// Database errors.
pub async fn subscribe_open_cases_of_polo(
    conn: &mut PgConnection,
    line_id: Uuid,
    (board_seq, alight_seq): (i16, i16),
    (from, to): (NaiveDate, NaiveDate),
    polo_id: Uuid,
    created_by: Uuid,
) -> AppResult<()> {
    sqlx::query(
        "insert into line_subscription (region_code, line_id, case_id, person_id, board_seq, alight_seq, valid_from, valid_to, created_by)
         select c.region_code, $1, c.case_id, c.person_id, $2, $3, $4, $5, $6
         from care_case c where c.polo_id = $7 and c.status = 'open'",
    )
    .bind(line_id)
    .bind(board_seq)
    .bind(alight_seq)
    .bind(from)
    .bind(to)
    .bind(created_by)
    .bind(polo_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends a line after `last_day` (checked by the caller: not past, within the season): its
/// season ends that day, every subscription travelling later ends then too, and their
/// requests for later days are cancelled. Returns `(subscriptions ended, requests cancelled)`.
/// The line's runs of later days are the caller's (`runs::line_runs::end_line`).
///
/// # Errors
/// Database errors.
pub async fn end_line(
    conn: &mut PgConnection,
    line_id: Uuid,
    last_day: NaiveDate,
    by: Uuid,
) -> AppResult<(u64, u64)> {
    sqlx::query("update work_line set season_end = $2 where line_id = $1")
        .bind(line_id)
        .bind(last_day)
        .execute(&mut *conn)
        .await?;
    let ended = sqlx::query(
        "update line_subscription set status = 'ended',
             valid_to = least(valid_to, greatest(valid_from, $2))
         where line_id = $1 and status = 'active' and valid_to > $2",
    )
    .bind(line_id)
    .bind(last_day)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let later: Vec<Uuid> = sqlx::query_scalar(
        "select r.ride_request_id from ride_request r
         join line_subscription s on s.subscription_id = r.line_subscription_id
         where s.line_id = $1 and r.service_date > $2
           and r.status not in ('cancelled', 'refused', 'completed', 'no_show')",
    )
    .bind(line_id)
    .bind(last_day)
    .fetch_all(&mut *conn)
    .await?;
    for r in &later {
        crate::bookings::db::set_status(
            conn,
            (*r).into(),
            crate::bookings::RideStatus::Cancelled,
            Some(&format!("the work line ended on {last_day}")),
            Some(by),
        )
        .await?;
    }
    Ok((ended, later.len() as u64))
}
