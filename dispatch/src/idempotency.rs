//! Retries of creations are answered once: a `POST` with an `Idempotency-Key` header by a
//! staff login is recorded with a digest of the request; a retry with the same key and the same
//! request gets the first answer again (`Idempotent-Replayed: true`), the same key with another
//! request a 422 naming the header, and a retry that arrives while the first is still being
//! answered a 409 `in_progress` (retry shortly). Only successful answers are kept: a refused
//! request can be corrected and sent again with its key.
//!
//! Ride bookings (`POST /api/ride-requests`) keep their own key on the request row (a replay
//! also reports the live outcome); the drivers' uploads carry an id per item. Owns
//! `idempotency_record`.

use axum::body::{to_bytes, Body};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::Staff;
use crate::error::AppError;
use crate::state::AppState;

/// Largest body recorded (requests and answers); larger ones pass through unrecorded.
const MAX_BYTES: usize = 2 * 1024 * 1024;

/// Paths with an idempotency of their own.
fn handled_elsewhere(path: &str) -> bool {
    path == "/api/ride-requests" || path.starts_with("/driver/") || path == "/api/auth/login"
}

/// The middleware; see the module comment.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let key = req
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| k.trim().to_owned());
    let Some(key) = key else {
        return next.run(req).await;
    };
    if req.method() != Method::POST || handled_elsewhere(req.uri().path()) {
        return next.run(req).await;
    }
    if key.is_empty() || key.len() > 200 {
        return AppError::invalid("Idempotency-Key", "1..200 characters").into_response();
    }
    let (mut parts, body) = req.into_parts();
    let Ok(staff) = Staff::from_request_parts(&mut parts, &state).await else {
        // Not logged in: the handler answers 401 as usual.
        return next.run(Request::from_parts(parts, body)).await;
    };
    let Ok(bytes) = to_bytes(body, MAX_BYTES).await else {
        return AppError::invalid("body", "too large").into_response();
    };
    let path = parts.uri.path().to_owned();
    let digest = Sha256::new()
        .chain_update(path.as_bytes())
        .chain_update([0])
        .chain_update(&bytes)
        .finalize()
        .to_vec();
    match claim(&state, staff.staff_id, &key, &digest, &path).await {
        Ok(Claim::New) => {}
        Ok(Claim::Replay(resp)) => return resp,
        Err(e) => return e.into_response(),
    }
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    match record(&state, staff.staff_id, &key, resp).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

enum Claim {
    New,
    Replay(Response),
}

#[derive(sqlx::FromRow)]
struct Record {
    request_sha256: Vec<u8>,
    status: Option<i16>,
    content_type: Option<String>,
    response_body: Option<Vec<u8>>,
}

async fn claim(
    state: &AppState,
    staff_id: Uuid,
    key: &str,
    digest: &[u8],
    path: &str,
) -> Result<Claim, AppError> {
    // A first request refused in the meantime frees its key (see `record`): the key is then
    // claimed afresh. Three rounds are enough unless requests with one key keep being refused
    // concurrently; then the retry is told to come back.
    for _ in 0..3 {
        let inserted = sqlx::query(
            "insert into idempotency_record (staff_id, idempotency_key, request_sha256, path)
             values ($1, $2, $3, $4) on conflict do nothing",
        )
        .bind(staff_id)
        .bind(key)
        .bind(digest)
        .bind(path)
        .execute(&state.db)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::New);
        }
        let rec: Option<Record> = sqlx::query_as(
            "select request_sha256, status, content_type, response_body from idempotency_record
             where staff_id = $1 and idempotency_key = $2",
        )
        .bind(staff_id)
        .bind(key)
        .fetch_optional(&state.db)
        .await?;
        if let Some(rec) = rec {
            return replay(rec, digest);
        }
    }
    Err(in_progress())
}

fn in_progress() -> AppError {
    AppError::conflict(
        "in_progress",
        "the first request with this key is still being answered: retry shortly",
    )
}

/// The recorded answer to a retry of request `digest`.
fn replay(rec: Record, digest: &[u8]) -> Result<Claim, AppError> {
    if rec.request_sha256 != digest {
        return Err(AppError::invalid(
            "Idempotency-Key",
            "this key was used for another request: use a new key for a new request",
        ));
    }
    let Some(status) = rec.status else {
        return Err(in_progress());
    };
    let mut resp = Response::new(Body::from(rec.response_body.unwrap_or_default()));
    *resp.status_mut() =
        StatusCode::from_u16(u16::try_from(status).unwrap_or(200)).unwrap_or(StatusCode::OK);
    if let Some(ct) = rec
        .content_type
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        resp.headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, ct);
    }
    resp.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    Ok(Claim::Replay(resp))
}

/// Keeps a successful answer for the retries; forgets the key after a refusal or a failure.
async fn record(
    state: &AppState,
    staff_id: Uuid,
    key: &str,
    resp: Response,
) -> Result<Response, AppError> {
    if !resp.status().is_success() {
        sqlx::query("delete from idempotency_record where staff_id = $1 and idempotency_key = $2")
            .bind(staff_id)
            .bind(key)
            .execute(&state.db)
            .await?;
        return Ok(resp);
    }
    let (parts, body) = resp.into_parts();
    let bytes = to_bytes(body, MAX_BYTES)
        .await
        .map_err(|e| anyhow::anyhow!("reading an answer to record it: {e}"))?;
    let content_type = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(ToOwned::to_owned);
    sqlx::query(
        "update idempotency_record set status = $3, content_type = $4, response_body = $5
         where staff_id = $1 and idempotency_key = $2",
    )
    .bind(staff_id)
    .bind(key)
    .bind(i16::try_from(parts.status.as_u16()).unwrap_or(200))
    .bind(content_type)
    .bind(bytes.to_vec())
    .execute(&state.db)
    .await?;
    Ok(Response::from_parts(parts, Body::from(bytes)))
}
