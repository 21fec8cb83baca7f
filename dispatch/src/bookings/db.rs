//! SQL for ride requests.

use sqlx::PgConnection;
use uuid::Uuid;

use super::RideStatus;
use crate::error::{AppError, AppResult};

/// Moves a request to `status` and appends the change to its history, in the caller's
/// transaction. Refuses to change a request whose status is final.
///
/// # Errors
/// Not found for an unknown request; a conflict `final_status` when it is already final.
pub async fn set_status(
    conn: &mut PgConnection,
    ride_request_id: Uuid,
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
    /// Staff booking.
    pub booked_by: Uuid,
    /// Channel.
    pub channel: BookingChannel,
    /// Appointment served.
    pub appointment_id: Option<Uuid>,
    /// Idempotency key of the first day's request.
    pub idempotency_key: Option<&'a str>,
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
        let key = if i == 0 { b.idempotency_key } else { None };
        let id: Uuid = sqlx::query_scalar(&format!(
            "insert into ride_request (region_code, case_id, person_id, purpose, service_date,
                pickup_place_id, pickup_meeting_point_id, pickup_location,
                dropoff_place_id, dropoff_meeting_point_id, dropoff_location,
                earliest_pickup, latest_arrival, passengers, wheelchair, booked_by, booked_channel,
                appointment_id, recurrence_id, idempotency_key)
             values ($1, $2, $3, $4, $5, $6, $7, {}, $10, $11, {},
                ($5 + $14::time) at time zone 'Europe/Rome', ($5 + $15::time) at time zone 'Europe/Rome',
                $16, $17, $18, $19, $20, $21, $22)
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
        .bind(b.req.earliest_pickup)
        .bind(b.req.latest_arrival)
        .bind(b.req.passengers)
        .bind(b.wheelchair)
        .bind(b.booked_by)
        .bind(b.channel)
        .bind(b.appointment_id)
        .bind(recurrence)
        .bind(key)
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

/// A request of a case of `polo_id`.
///
/// # Errors
/// Database errors.
pub async fn view(
    conn: &mut PgConnection,
    polo_id: Uuid,
    id: Uuid,
) -> AppResult<Option<RideRequestView>> {
    Ok(sqlx::query_as(&format!(
        "{VIEW_SELECT} where r.ride_request_id = $1 and c.polo_id = $2"
    ))
    .bind(id)
    .bind(polo_id)
    .fetch_optional(conn)
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

/// The request a booking with this idempotency key already wrote, if any.
///
/// # Errors
/// Database errors.
pub async fn by_idempotency_key(
    conn: &mut PgConnection,
    booked_by: Uuid,
    key: &str,
) -> AppResult<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "select ride_request_id from ride_request where booked_by = $1 and idempotency_key = $2",
    )
    .bind(booked_by)
    .bind(key)
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
