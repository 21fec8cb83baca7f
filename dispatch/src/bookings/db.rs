//! SQL for ride requests.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::RideStatus;
use crate::error::{AppError, AppResult};
use crate::geo::LonLat;
use crate::ids::{RideRequestId, RunId};
use crate::service_day;

/// Moves a request to `status` and appends the change to its history, in the caller's
/// transaction. Refuses to change a request whose status is final.
///
/// # Errors
/// Not found for an unknown request; a conflict `final_status` when it is already final.
pub async fn set_status(
    conn: &mut PgConnection,
    ride_request_id: RideRequestId,
    status: RideStatus,
    reason: Option<&str>,
    changed_by: Option<Uuid>,
) -> AppResult<()> {
    let current: Option<(String, RideStatus)> = sqlx::query_as(
        "select region_code, status from ride_request where ride_request_id = $1 for update",
    )
    .bind(ride_request_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (region, current) = current.ok_or(AppError::NotFound("ride request"))?;
    if current.is_final() && current != status {
        return Err(AppError::conflict(
            "final_status",
            format!("the request is already {current:?} and cannot become {status:?}"),
        ));
    }
    if current == status {
        return Ok(());
    }
    sqlx::query("update ride_request set status = $2 where ride_request_id = $1")
        .bind(ride_request_id)
        .bind(status)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into ride_request_event (region_code, ride_request_id, status, reason, changed_by)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(region)
    .bind(ride_request_id)
    .bind(status)
    .bind(reason)
    .bind(changed_by)
    .execute(conn)
    .await?;
    Ok(())
}

/// Undoes a mistaken no-show: the rider did travel. The request, which a no-show made final,
/// becomes completed and the change is appended to its history with who and why. Only
/// `rides::db::correct_no_show` calls this (it records the correction and the ride's charge).
///
/// # Errors
/// Not found for an unknown request; a conflict `not_a_no_show` for any other status.
pub async fn reverse_no_show(
    conn: &mut PgConnection,
    ride_request_id: RideRequestId,
    reason: &str,
    changed_by: Uuid,
) -> AppResult<()> {
    let current: Option<(String, RideStatus)> = sqlx::query_as(
        "select region_code, status from ride_request where ride_request_id = $1 for update",
    )
    .bind(ride_request_id)
    .fetch_optional(&mut *conn)
    .await?;
    let (region, current) = current.ok_or(AppError::NotFound("ride request"))?;
    if current != RideStatus::NoShow {
        return Err(AppError::conflict(
            "not_a_no_show",
            format!("the request is {current:?}, not a no-show"),
        ));
    }
    sqlx::query("update ride_request set status = 'completed' where ride_request_id = $1")
        .bind(ride_request_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into ride_request_event (region_code, ride_request_id, status, reason, changed_by)
         values ($1, $2, 'completed', $3, $4)",
    )
    .bind(region)
    .bind(ride_request_id)
    .bind(reason)
    .bind(changed_by)
    .execute(conn)
    .await?;
    Ok(())
}

use super::{BookingChannel, Endpoint, NewRideRequest, Resolved, RideRequestView, StatusEvent};

/// Resolves a pickup or drop-off: a meeting point, a place, or a position snapped to the
/// nearest meeting point inside the service area of `region_code` that contains it.
///
/// # Errors
/// Validation errors on `field` for an unknown id, or a position outside every service area.
pub async fn resolve(
    conn: &mut PgConnection,
    region_code: &str,
    field: &str,
    ep: &Endpoint,
) -> AppResult<Resolved> {
    if let Some(mp) = ep.meeting_point_id {
        return sqlx::query_as(
            "select m.place_id, m.meeting_point_id, p.name || ' - ' || m.name as name,
                    st_x(m.location::geometry) as lon, st_y(m.location::geometry) as lat, null::float8 as snapped_m
             from meeting_point m join place p using (region_code, place_id)
             where m.region_code = $1 and m.meeting_point_id = $2",
        )
        .bind(region_code)
        .bind(mp)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::invalid(format!("{field}.meeting_point_id"), "no such meeting point in the region"));
    }
    if let Some(place) = ep.place_id {
        return sqlx::query_as(
            "select place_id, null::uuid as meeting_point_id, name,
                    st_x(location::geometry) as lon, st_y(location::geometry) as lat, null::float8 as snapped_m
             from place where region_code = $1 and place_id = $2",
        )
        .bind(region_code)
        .bind(place)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| AppError::invalid(format!("{field}.place_id"), "no such place in the region"));
    }
    let p = ep.position.expect("validated: one of three");
    let pt = crate::sql_point!("$2", "$3");
    let covered: bool = sqlx::query_scalar(&format!(
        "select exists (select 1 from service_area where region_code = $1 and st_covers(area, {pt}))"
    ))
    .bind(region_code)
    .bind(p.lon)
    .bind(p.lat)
    .fetch_one(&mut *conn)
    .await?;
    if !covered {
        return Err(AppError::invalid(
            format!("{field}.position"),
            format!("({}, {}) is outside every service area of {region_code}: the service does not reach there", p.lon, p.lat),
        ));
    }
    sqlx::query_as(&format!(
        "select m.place_id, m.meeting_point_id, p.name || ' - ' || m.name as name,
                st_x(m.location::geometry) as lon, st_y(m.location::geometry) as lat,
                st_distance(m.location, {pt}) as snapped_m
         from meeting_point m join place p using (region_code, place_id)
         where m.region_code = $1 and exists (
             select 1 from service_area a where a.region_code = $1 and st_covers(a.area, {pt}) and st_covers(a.area, m.location))
         order by m.location <-> {pt} limit 1"
    ))
    .bind(region_code)
    .bind(p.lon)
    .bind(p.lat)
    .fetch_optional(conn)
    .await?
    .ok_or_else(|| AppError::invalid(format!("{field}.position"), "no meeting point in the service area of this position"))
}

/// Everything needed to write the requests of one booking.
pub struct Booking<'a> {
    /// Region.
    pub region_code: &'a str,
    /// Person.
    pub person_id: Uuid,
    /// The validated request.
    pub req: &'a NewRideRequest,
    /// Resolved pickup.
    pub pickup: &'a Resolved,
    /// Resolved drop-off.
    pub dropoff: &'a Resolved,
    /// Wheelchair (request or person).
    pub wheelchair: bool,
    /// Staff booking; none when the person books for themself (channel `self`).
    pub booked_by: Option<Uuid>,
    /// Channel.
    pub channel: BookingChannel,
    /// Appointment served.
    pub appointment_id: Option<Uuid>,
    /// Idempotency key of the first day's request.
    pub idempotency_key: Option<&'a str>,
    /// Digest of the request that came with the key (to tell a retry from a reused key).
    pub request_digest: Option<&'a [u8]>,
}

/// Writes one request per day of the booking (a recurrence writes its pattern too), each with
/// its first history entry. Returns the ids, first day first.
///
/// # Errors
/// Database errors.
pub async fn insert_requests(conn: &mut PgConnection, b: &Booking<'_>) -> AppResult<Vec<Uuid>> {
    let recurrence: Option<Uuid> = match &b.req.recurrence {
        None => None,
        Some(r) => Some(
            sqlx::query_scalar(
                "insert into ride_recurrence (region_code, weekdays, date_from, date_to, created_by)
                 values ($1, $2, $3, $4, $5) returning recurrence_id",
            )
            .bind(b.region_code)
            .bind(&r.weekdays)
            .bind(b.req.service_date)
            .bind(r.until)
            .bind(b.booked_by)
            .fetch_one(&mut *conn)
            .await?,
        ),
    };
    let mut ids = Vec::new();
    for (i, day) in b.req.days().into_iter().enumerate() {
        let (key, digest) = if i == 0 {
            (b.idempotency_key, b.request_digest)
        } else {
            (None, None)
        };
        let id: Uuid = sqlx::query_scalar(&format!(
            "insert into ride_request (region_code, case_id, person_id, purpose, service_date,
                pickup_place_id, pickup_meeting_point_id, pickup_location,
                dropoff_place_id, dropoff_meeting_point_id, dropoff_location,
                earliest_pickup, latest_arrival, passengers, wheelchair, booked_by, booked_channel,
                appointment_id, recurrence_id, idempotency_key, idempotency_request_sha256)
             values ($1, $2, $3, $4, $5, $6, $7, {}, $10, $11, {},
                $14, $15,
                $16, $17, $18, $19, $20, $21, $22, $23)
             returning ride_request_id",
            crate::sql_point!("$8", "$9"),
            crate::sql_point!("$12", "$13")
        ))
        .bind(b.region_code)
        .bind(b.req.case_id)
        .bind(b.person_id)
        .bind(b.req.purpose)
        .bind(day)
        .bind(b.pickup.place_id)
        .bind(b.pickup.meeting_point_id)
        .bind(b.pickup.lon)
        .bind(b.pickup.lat)
        .bind(b.dropoff.place_id)
        .bind(b.dropoff.meeting_point_id)
        .bind(b.dropoff.lon)
        .bind(b.dropoff.lat)
        .bind(
            b.req
                .earliest_pickup
                .map(|t| service_day::local_instant(day, t)),
        )
        .bind(
            b.req
                .latest_arrival
                .map(|t| service_day::local_instant(day, t)),
        )
        .bind(b.req.passengers)
        .bind(b.wheelchair)
        .bind(b.booked_by)
        .bind(b.channel)
        .bind(b.appointment_id)
        .bind(recurrence)
        .bind(key)
        .bind(digest)
        .fetch_one(&mut *conn)
        .await?;
        sqlx::query(
            "insert into ride_request_event (region_code, ride_request_id, status, reason, changed_by)
             values ($1, $2, 'requested', 'booked', $3)",
        )
        .bind(b.region_code)
        .bind(id)
        .bind(b.booked_by)
        .execute(&mut *conn)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

const VIEW_SELECT: &str =
    "select r.region_code, r.ride_request_id, r.case_id, p.known_as, r.purpose, r.service_date,
        r.pickup_place_id, r.pickup_meeting_point_id,
        coalesce(pp.name || ' - ' || pm.name, pp.name) as pickup_name,
        r.dropoff_place_id, coalesce(dp.name || ' - ' || dm.name, dp.name) as dropoff_name,
        r.earliest_pickup, r.latest_arrival, r.passengers, r.wheelchair, r.status, r.booked_channel,
        r.appointment_id, r.recurrence_id, r.run_id, r.promised_pickup_at
    from ride_request r
    join person p on p.person_id = r.person_id
    join care_case c on c.case_id = r.case_id
    join place pp on pp.place_id = r.pickup_place_id
    left join meeting_point pm on pm.meeting_point_id = r.pickup_meeting_point_id
    join place dp on dp.place_id = r.dropoff_place_id
    left join meeting_point dm on dm.meeting_point_id = r.dropoff_meeting_point_id";

/// Whose requests a reader may see: a Polo's (its staff) or one person's (signed in with their
/// own card).
#[derive(Debug, Clone, Copy)]
pub enum Whose {
    /// Requests of the Polo's cases.
    Polo(Uuid),
    /// The person's own requests.
    Person(Uuid),
}

/// A request, if it is `whose`'s.
///
/// # Errors
/// Database errors.
pub async fn view(
    conn: &mut PgConnection,
    whose: Whose,
    id: Uuid,
) -> AppResult<Option<RideRequestView>> {
    let (polo, person) = match whose {
        Whose::Polo(p) => (Some(p), None),
        Whose::Person(p) => (None, Some(p)),
    };
    Ok(sqlx::query_as(&format!(
        "{VIEW_SELECT} where r.ride_request_id = $1
            and ($2::uuid is null or c.polo_id = $2) and ($3::uuid is null or r.person_id = $3)"
    ))
    .bind(id)
    .bind(polo)
    .bind(person)
    .fetch_optional(conn)
    .await?)
}

/// The requests of one person from `from` on, soonest first (at most `limit`).
///
/// # Errors
/// Database errors.
pub async fn list_of_person(
    conn: &mut PgConnection,
    person_id: Uuid,
    from: NaiveDate,
    limit: i64,
) -> AppResult<Vec<RideRequestView>> {
    Ok(sqlx::query_as(&format!(
        "{VIEW_SELECT} where r.person_id = $1 and r.service_date >= $2
         order by r.service_date, coalesce(r.promised_pickup_at, r.earliest_pickup, r.latest_arrival), r.ride_request_id
         limit $3"
    ))
    .bind(person_id)
    .bind(from)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// The requests of a Polo's cases for a day.
///
/// # Errors
/// Database errors.
pub async fn list_for_day(
    conn: &mut PgConnection,
    polo_id: Uuid,
    day: chrono::NaiveDate,
) -> AppResult<Vec<RideRequestView>> {
    Ok(sqlx::query_as(&format!(
        "{VIEW_SELECT} where c.polo_id = $1 and r.service_date = $2
         order by coalesce(r.earliest_pickup, r.latest_arrival), r.ride_request_id"
    ))
    .bind(polo_id)
    .bind(day)
    .fetch_all(conn)
    .await?)
}

/// The request a booking with this idempotency key already wrote, if any: the key is the
/// staff member's (`booked_by`), or, for a person booking for themself, the person's.
///
/// # Errors
/// Database errors.
pub async fn by_idempotency_key(
    conn: &mut PgConnection,
    booked_by: Option<Uuid>,
    person_id: Option<Uuid>,
    key: &str,
) -> AppResult<Option<(Uuid, Option<Vec<u8>>)>> {
    Ok(sqlx::query_as(
        "select ride_request_id, idempotency_request_sha256 from ride_request
         where idempotency_key = $2 and case when $1::uuid is null
            then booked_by is null and person_id = $3 else booked_by = $1 end",
    )
    .bind(booked_by)
    .bind(key)
    .bind(person_id)
    .fetch_optional(conn)
    .await?)
}

/// Status history, oldest first.
///
/// # Errors
/// Database errors.
pub async fn history(conn: &mut PgConnection, id: Uuid) -> AppResult<Vec<StatusEvent>> {
    Ok(sqlx::query_as(
        "select status, reason, changed_by, changed_at from ride_request_event
         where ride_request_id = $1 order by ride_request_event_id",
    )
    .bind(id)
    .fetch_all(conn)
    .await?)
}

/// Appends a history entry without changing the status (a moved pickup time, a change of the
/// request, the line a rider was put on).
///
/// # Errors
/// Database errors.
pub async fn note(
    conn: &mut PgConnection,
    ride_request_id: RideRequestId,
    reason: &str,
    changed_by: Option<Uuid>,
) -> AppResult<()> {
    sqlx::query(
        "insert into ride_request_event (region_code, ride_request_id, status, reason, changed_by)
         select region_code, ride_request_id, status, $2, $3 from ride_request where ride_request_id = $1",
    )
    .bind(ride_request_id)
    .bind(reason)
    .bind(changed_by)
    .execute(conn)
    .await?;
    Ok(())
}

/// The status of a request.
///
/// # Errors
/// Not found for an unknown request; database errors.
pub async fn status_of(
    conn: &mut PgConnection,
    ride_request_id: RideRequestId,
) -> AppResult<RideStatus> {
    sqlx::query_scalar("select status from ride_request where ride_request_id = $1")
        .bind(ride_request_id)
        .fetch_optional(conn)
        .await?
        .ok_or(AppError::NotFound("ride request"))
}

/// Puts a request in a run with its promised pickup time, and records the confirmation (or
/// the move of an already promised time by a minute or more) in the request's history.
///
/// # Errors
/// Database errors; a conflict when the request is already final.
pub async fn confirm(
    conn: &mut PgConnection,
    id: RideRequestId,
    run_id: RunId,
    pickup: DateTime<Utc>,
) -> AppResult<()> {
    let (status, before): (RideStatus, Option<DateTime<Utc>>) = sqlx::query_as(
        "select status, promised_pickup_at from ride_request where ride_request_id = $1 for update",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "update ride_request set run_id = $2, promised_pickup_at = $3 where ride_request_id = $1",
    )
    .bind(id)
    .bind(run_id)
    .bind(pickup)
    .execute(&mut *conn)
    .await?;
    if status != RideStatus::Confirmed {
        let reason = format!("pickup at {}", local_minute(pickup));
        return set_status(conn, id, RideStatus::Confirmed, Some(&reason), None).await;
    }
    if before.is_none_or(|b| (b - pickup).num_seconds().abs() >= 60) {
        note(
            conn,
            id,
            &format!("pickup moved to {}", local_minute(pickup)),
            None,
        )
        .await?;
    }
    Ok(())
}

/// A promised time as the history shows it: the service's local date and time to the minute.
fn local_minute(at: DateTime<Utc>) -> String {
    crate::service_day::local(at)
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// Takes a request out of its run (no run, no promised time). Returns the run it was in.
///
/// # Errors
/// Database errors.
pub async fn unassign(
    conn: &mut PgConnection,
    ride_request_id: RideRequestId,
) -> AppResult<Option<RunId>> {
    let run: Option<RunId> =
        sqlx::query_scalar("select run_id from ride_request where ride_request_id = $1 for update")
            .bind(ride_request_id)
            .fetch_optional(&mut *conn)
            .await?
            .flatten();
    sqlx::query(
        "update ride_request set run_id = null, promised_pickup_at = null where ride_request_id = $1",
    )
    .bind(ride_request_id)
    .execute(&mut *conn)
    .await?;
    Ok(run)
}

/// Takes every request out of `runs` (they are being removed by a re-plan); promised times
/// are kept so that the re-plan can keep them.
///
/// # Errors
/// Database errors.
pub async fn release_runs(conn: &mut PgConnection, runs: &[RunId]) -> AppResult<()> {
    sqlx::query("update ride_request set run_id = null where run_id = any($1)")
        .bind(runs)
        .execute(conn)
        .await?;
    Ok(())
}

/// One end of a trip moved to a stop of a work line.
pub struct LineStopPlace {
    /// The stop's place.
    pub place_id: Uuid,
    /// Its meeting point.
    pub meeting_point_id: Option<Uuid>,
    /// Where the stop is.
    pub location: LonLat,
}

/// A rider served by a work line boards and alights at the line's stops: the request's pickup
/// and drop-off become them (the caller confirms the request on the line's run).
///
/// # Errors
/// Database errors.
pub async fn ride_on_line(
    conn: &mut PgConnection,
    request: RideRequestId,
    board: &LineStopPlace,
    alight: &LineStopPlace,
) -> AppResult<()> {
    sqlx::query(&format!(
        "update ride_request set pickup_place_id = $2, pickup_meeting_point_id = $3, pickup_location = {},
             dropoff_place_id = $6, dropoff_meeting_point_id = $7, dropoff_location = {}
         where ride_request_id = $1",
        crate::sql_point!("$4", "$5"),
        crate::sql_point!("$8", "$9")
    ))
    .bind(request)
    .bind(board.place_id)
    .bind(board.meeting_point_id)
    .bind(board.location.lon)
    .bind(board.location.lat)
    .bind(alight.place_id)
    .bind(alight.meeting_point_id)
    .bind(alight.location.lon)
    .bind(alight.location.lat)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The line run `run_id` of `line_id` on `date` takes its subscribers' open requests that are
/// on no run or on a cancelled one (re-making a cancelled day neither loses nor doubles a
/// rider), then writes a planned request (with its history row) for every active subscriber
/// travelling that day who has none yet; subscribers whose case is closed get none. Boarding
/// and alighting times are `stop_times`, the line's stop times that day as the caller read them
/// from `lines` (`(seq, instant)`; heat-ordinance times on a marked day). A rider is confirmed only once the run
/// has a driver ([`confirm_planned_on_run`], which the caller runs after crewing the run).
///
/// # Errors
/// Database errors.
pub async fn seat_line_subscribers(
    conn: &mut PgConnection,
    line_id: Uuid,
    date: NaiveDate,
    run_id: RunId,
    created_by: Option<Uuid>,
    stop_times: &[(i16, DateTime<Utc>)],
) -> AppResult<()> {
    sqlx::query(
        "update ride_request r set run_id = $3
         from line_subscription s
         where s.subscription_id = r.line_subscription_id and s.line_id = $1
            and r.service_date = $2::date
            and r.status not in ('cancelled', 'refused', 'completed', 'no_show')
            and (r.run_id is null
                or r.run_id in (select run_id from run where status = 'cancelled'))",
    )
    .bind(line_id)
    .bind(date)
    .bind(run_id)
    .execute(&mut *conn)
    .await?;
    let sql = "with made as (
         insert into ride_request (region_code, case_id, person_id, purpose, service_date,
            pickup_place_id, pickup_meeting_point_id, pickup_location,
            dropoff_place_id, dropoff_meeting_point_id, dropoff_location,
            earliest_pickup, latest_arrival, wheelchair, status, booked_by, booked_channel,
            line_subscription_id, run_id, promised_pickup_at)
         select s.region_code, s.case_id, s.person_id, 'work_shift', $2::date,
            b.place_id, b.meeting_point_id, coalesce(bm.location, bp.location),
            a.place_id, a.meeting_point_id, coalesce(am.location, ap.location),
            bt.at, lt.at, pe.wheelchair, 'planned', s.created_by,
            (case when s.created_by is null then 'self' when st.role = 'case_worker' then 'case_worker'
                when st.role = 'mediator' then 'mediator' else 'coordinator' end)::booking_channel,
            s.subscription_id, $3, bt.at
         from line_subscription s
         join care_case c on c.case_id = s.case_id and c.status <> 'closed'
         join person pe on pe.person_id = s.person_id
         left join staff st on st.staff_id = s.created_by
         join work_line_stop b on b.line_id = s.line_id and b.seq = s.board_seq
         join place bp on bp.place_id = b.place_id
         left join meeting_point bm on bm.meeting_point_id = b.meeting_point_id
         join work_line_stop a on a.line_id = s.line_id and a.seq = s.alight_seq
         join place ap on ap.place_id = a.place_id
         left join meeting_point am on am.meeting_point_id = a.meeting_point_id
         join unnest($5::smallint[], $6::timestamptz[]) as bt(seq, at) on bt.seq = s.board_seq
         join unnest($5::smallint[], $6::timestamptz[]) as lt(seq, at) on lt.seq = s.alight_seq
         where s.line_id = $1 and s.status = 'active' and $2::date between s.valid_from and s.valid_to
            and not exists (select 1 from ride_request r
                where r.line_subscription_id = s.subscription_id and r.service_date = $2::date
                    and r.status not in ('cancelled', 'refused'))
         order by s.board_seq, s.created_at
         returning region_code, ride_request_id)
         insert into ride_request_event (region_code, ride_request_id, status, reason, changed_by)
         select region_code, ride_request_id, 'planned', 'seat on a work line run', $4 from made";
    let (seqs, times): (Vec<i16>, Vec<DateTime<Utc>>) = stop_times.iter().copied().unzip();
    sqlx::query(sql)
        .bind(line_id)
        .bind(date)
        .bind(run_id)
        .bind(created_by)
        .bind(&seqs)
        .bind(&times)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The riders of a line run: `(ride_request_id, board_seq, alight_seq)` in subscription order.
///
/// # Errors
/// Database errors.
pub async fn line_riders(
    conn: &mut PgConnection,
    run_id: Uuid,
) -> AppResult<Vec<(Uuid, i16, i16)>> {
    Ok(sqlx::query_as(
        "select r.ride_request_id, s.board_seq, s.alight_seq from ride_request r
         join line_subscription s on s.subscription_id = r.line_subscription_id
         where r.run_id = $1 order by s.created_at, r.ride_request_id",
    )
    .bind(run_id)
    .fetch_all(conn)
    .await?)
}

/// A request of the same person on one of `days` whose time overlaps the new one's, if any,
/// with its day; one query for every day of a recurrence, serialised per person for the rest
/// of the caller's transaction so two concurrent bookings of one trip cannot both pass. A
/// request written by a retry of the same booking (the same staff and idempotency key,
/// `retry_of`) does not count: the retry is answered by a replay. A ride's time is its pickup
/// window (from the earliest pickup, 20 minutes), or the half hour before its latest arrival.
///
/// # Errors
/// Database errors.
pub async fn overlapping(
    conn: &mut PgConnection,
    person_id: Uuid,
    req: &NewRideRequest,
    days: &[NaiveDate],
    retry_of: Option<(Option<Uuid>, &str)>,
) -> AppResult<Option<(Uuid, NaiveDate)>> {
    sqlx::query("select pg_advisory_xact_lock(hashtext('booking:' || $1::text))")
        .bind(person_id)
        .execute(&mut *conn)
        .await?;
    let instants = |t: Option<chrono::NaiveTime>| -> Vec<Option<DateTime<Utc>>> {
        days.iter()
            .map(|d| t.map(|t| service_day::local_instant(*d, t)))
            .collect()
    };
    Ok(sqlx::query_as(
        "select r.ride_request_id, r.service_date
         from unnest($2::date[], $3::timestamptz[], $4::timestamptz[]) as t(day, e, l)
         join ride_request r on r.person_id = $1 and r.service_date = t.day
         where r.status in ('requested', 'planned', 'confirmed')
           and not (r.booked_by is not distinct from $5 and r.idempotency_key is not distinct from $6 and $6 is not null)
           and tstzrange(coalesce(r.earliest_pickup, r.latest_arrival - interval '30 minutes'),
                         coalesce(r.earliest_pickup + interval '20 minutes', r.latest_arrival), '[]')
            && tstzrange(coalesce(t.e, t.l - interval '30 minutes'),
                         coalesce(t.e + interval '20 minutes', t.l), '[]')
         order by r.service_date, r.ride_request_id limit 1",
    )
    .bind(person_id)
    .bind(days)
    .bind(instants(req.earliest_pickup))
    .bind(instants(req.latest_arrival))
    .bind(retry_of.and_then(|r| r.0))
    .bind(retry_of.map(|r| r.1))
    .fetch_optional(conn)
    .await?)
}

/// The service day of a request.
///
/// # Errors
/// Database errors.
pub async fn service_date_of(
    conn: &mut PgConnection,
    ride_request_id: Uuid,
) -> AppResult<Option<NaiveDate>> {
    Ok(
        sqlx::query_scalar("select service_date from ride_request where ride_request_id = $1")
            .bind(ride_request_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// Puts a request in a run with a planned pickup time that is not yet a promise (the run has
/// no driver): status `planned`, the reason in its history.
///
/// # Errors
/// Database errors; a conflict when the request is already final.
pub async fn place(
    conn: &mut PgConnection,
    id: RideRequestId,
    run_id: RunId,
    pickup: DateTime<Utc>,
) -> AppResult<()> {
    sqlx::query(
        "update ride_request set run_id = $2, promised_pickup_at = $3 where ride_request_id = $1",
    )
    .bind(id)
    .bind(run_id)
    .bind(pickup)
    .execute(&mut *conn)
    .await?;
    set_status(
        conn,
        id,
        RideStatus::Planned,
        Some("in a run without a driver yet: not confirmed"),
        None,
    )
    .await
}

/// The requests planned on a run that now has a driver become confirmed, with their planned
/// pickup time as the promise.
///
/// # Errors
/// Database errors.
pub async fn confirm_planned_on_run(conn: &mut PgConnection, run_id: RunId) -> AppResult<usize> {
    let planned: Vec<(RideRequestId, DateTime<Utc>)> = sqlx::query_as(
        "select ride_request_id, promised_pickup_at from ride_request
         where run_id = $1 and status = 'planned' and promised_pickup_at is not null",
    )
    .bind(run_id)
    .fetch_all(&mut *conn)
    .await?;
    for (id, pickup) in &planned {
        confirm(conn, *id, run_id, *pickup).await?;
    }
    Ok(planned.len())
}
