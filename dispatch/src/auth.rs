//! Who is asking: staff logins (argon2 password hashes), bearer-token sessions, roles, and the
//! extractor that every protected handler takes.
//!
//! Scoping rules, enforced where data is read:
//! - a programme admin manages the programme (Poli, places, fleet, funds) in every region, or in
//!   their own region when they have one, but reads no case data;
//! - a Polo coordinator and a case worker see people and cases of their own Polo only;
//! - a driver sees no case data at all.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{self, PasswordHash, PasswordHasher, SaltString};
use argon2::Argon2;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::Json;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::extract::AppJson;
use crate::state::AppState;
use crate::throttle::ClientAddr;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The programme's regions: the rows the first migration puts in table `region` (a test keeps
/// the two equal).
pub const REGIONS: [&str; 5] = ["basilicata", "calabria", "campania", "puglia", "sicilia"];

/// A staff member's role.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "staff_role", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the programme: Poli, places, fleet, funds. No case data.
    ProgrammeAdmin,
    /// Coordinates a Polo: its people, cases and transport.
    PoloCoordinator,
    /// Follows cases at a Polo.
    CaseWorker,
    /// Drives runs; sees only what today's run needs.
    Driver,
    /// A cultural mediator of a Polo: books rides for the people they follow.
    Mediator,
}

/// The authenticated caller.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Staff {
    /// Staff id.
    pub staff_id: Uuid,
    /// Login name.
    pub username: String,
    /// Name shown in the interface.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Region the login is limited to; none for a programme-wide admin.
    pub region_code: Option<String>,
    /// Polo of a coordinator or case worker.
    pub polo_id: Option<Uuid>,
}

impl Staff {
    /// Refuses callers whose role is not in `roles`.
    ///
    /// # Errors
    /// [`AppError::Forbidden`].
    pub fn require(&self, roles: &[Role]) -> AppResult<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "the {:?} role may not do this",
                self.role
            )))
        }
    }

    /// The Polo whose case data this caller may read: coordinators and case workers only.
    ///
    /// # Errors
    /// [`AppError::Forbidden`] for admins and drivers.
    pub fn case_polo(&self) -> AppResult<Uuid> {
        match (self.role, self.polo_id) {
            (Role::PoloCoordinator | Role::CaseWorker | Role::Mediator, Some(polo)) => Ok(polo),
            _ => Err(AppError::Forbidden(
                "case data is visible only to the case's Polo".into(),
            )),
        }
    }

    /// The Polo of a case manager (coordinator or case worker): taking a person into care,
    /// closing a case and opening their Budget di Integrazione are theirs; a mediator books
    /// and reads for the people they follow, but does not manage cases or money.
    ///
    /// # Errors
    /// [`AppError::Forbidden`] for every other role.
    pub fn case_manager_polo(&self) -> AppResult<Uuid> {
        match (self.role, self.polo_id) {
            (Role::PoloCoordinator | Role::CaseWorker, Some(polo)) => Ok(polo),
            _ => Err(AppError::Forbidden(
                "cases and budgets are managed by the Polo's coordinator and case workers".into(),
            )),
        }
    }

    /// Refuses an unknown region (a validation error on `field`), then a login limited to
    /// another region.
    ///
    /// # Errors
    /// [`AppError::Validation`] or [`AppError::Forbidden`].
    pub fn require_region(&self, field: &str, region_code: &str) -> AppResult<()> {
        if !REGIONS.contains(&region_code) {
            return Err(AppError::invalid(
                field,
                format!("unknown region {region_code:?}; one of {REGIONS:?}"),
            ));
        }
        match &self.region_code {
            Some(own) if own != region_code => Err(AppError::Forbidden(format!(
                "this login is limited to region {own}"
            ))),
            _ => Ok(()),
        }
    }
}

/// A person signed in with their own access card (see [`crate::workers`]): they act on their
/// own rides only, and see nothing of anyone else.
#[derive(Debug, Clone)]
pub struct Worker {
    /// The card used.
    pub card_id: Uuid,
    /// The person.
    pub person_id: Uuid,
    /// Their open case (the card was issued for it).
    pub case_id: Uuid,
    /// Region of the case.
    pub region_code: String,
    /// The Polo that follows them.
    pub polo_id: Uuid,
    /// The name they are called by (never a surname).
    pub known_as: String,
}

/// Who acts on a person's rides: staff of the person's Polo, or the person themself.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A staff login.
    Staff(&'a Staff),
    /// The person, signed in with their access card.
    Worker(&'a Worker),
}

impl Actor<'_> {
    /// The staff member acting, if it is one (recorded as the author of what they write).
    #[must_use]
    pub fn staff_id(&self) -> Option<Uuid> {
        match self {
            Self::Staff(s) => Some(s.staff_id),
            Self::Worker(_) => None,
        }
    }
}

/// Hashes a password with argon2id and a random salt (CPU-heavy: call off the async threads).
///
/// # Errors
/// When hashing fails.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

thread_local! {
    /// Argon2's working memory (19 MiB with the default parameters), kept by each thread that
    /// checks passwords and reused: checks run on the few threads of the sign-in guard, so the
    /// service holds a fixed amount of it instead of allocating and scattering 19 MiB across
    /// malloc arenas for every attempt.
    static ARGON2_MEMORY: std::cell::RefCell<Vec<argon2::Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Checks a secret against its argon2 hash (CPU-heavy: run it through
/// [`crate::throttle::SignInGuard::verify`]).
#[must_use]
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(params), Ok(algorithm), Some(salt), Some(expected)) = (
        argon2::Params::try_from(&parsed),
        argon2::Algorithm::try_from(parsed.algorithm),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = parsed
        .version
        .and_then(|v| argon2::Version::try_from(v).ok())
        .unwrap_or_default();
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    let mut out = vec![0u8; expected.len()];
    let ctx = Argon2::new(algorithm, version, params);
    let hashed = ARGON2_MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::default());
        }
        ctx.hash_password_into_with_memory(
            password.as_bytes(),
            salt,
            &mut out,
            &mut memory[..blocks],
        )
        .is_ok()
    });
    // `Output`'s comparison takes the same time wherever the bytes differ.
    hashed && password_hash::Output::new(&out).is_ok_and(|o| o == expected)
}

/// The SHA-256 digest a secret token is kept as.
#[must_use]
pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Creates a staff login.
///
/// # Errors
/// Validation errors naming the field; a conflict for a taken username.
pub async fn create_staff(
    conn: &mut PgConnection,
    new: &NewStaff,
    password_hash: &str,
) -> AppResult<Uuid> {
    let id: Uuid = sqlx::query_scalar(
        "insert into staff (username, display_name, role, region_code, polo_id, password_hash)
         values ($1, $2, $3, $4, $5, $6) returning staff_id",
    )
    .bind(&new.username)
    .bind(&new.display_name)
    .bind(new.role)
    .bind(&new.region_code)
    .bind(new.polo_id)
    .bind(password_hash)
    .fetch_one(conn)
    .await
    .map_err(crate::error::on_constraint)?;
    Ok(id)
}

/// A staff login to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewStaff {
    /// Login name: 3-64 of a-z, 0-9, `.`, `_`, `-`.
    pub username: String,
    /// Name shown in the interface.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Region the login is limited to.
    pub region_code: Option<String>,
    /// Polo (coordinators and case workers).
    pub polo_id: Option<Uuid>,
}

impl NewStaff {
    /// Checks the fields that the database would otherwise refuse with a less clear message.
    ///
    /// # Errors
    /// A validation error naming the field.
    pub fn validate(&self) -> AppResult<()> {
        let ok_name = (3..=64).contains(&self.username.len())
            && self
                .username
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
        if !ok_name {
            return Err(AppError::invalid(
                "username",
                "3-64 characters of a-z, 0-9, '.', '_', '-'",
            ));
        }
        crate::geo::non_blank("display_name", &self.display_name)?;
        let needs_polo = matches!(
            self.role,
            Role::PoloCoordinator | Role::CaseWorker | Role::Mediator
        );
        if needs_polo != self.polo_id.is_some() {
            return Err(AppError::invalid(
                "polo_id",
                "coordinators, case workers and mediators need a Polo; other roles have none",
            ));
        }
        Ok(())
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(AppError::Unauthorized)?;
        staff_of_token(&state.db, token)
            .await?
            .ok_or(AppError::Unauthorized)
    }
}

/// The console's session cookie (HttpOnly, SameSite=Lax): a `staff_session` token like the
/// API's bearer tokens, read only by console pages ([`StaffPage`]); the API takes bearer
/// tokens only, so no cross-site request can use the cookie there.
pub const STAFF_COOKIE: &str = "passaggio_staff";

/// The signed-in staff member of a console page, from the [`STAFF_COOKIE`] session; without
/// a live session the page redirects to `/console/login`.
pub struct StaffPage(pub Staff);

impl FromRequestParts<AppState> for StaffPage {
    type Rejection = axum::response::Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, axum::response::Response> {
        use axum::response::IntoResponse;
        let Some(token) = crate::pages::cookie(&parts.headers, STAFF_COOKIE) else {
            return Err(crate::pages::redirect_see_other("/console/login"));
        };
        match staff_of_token(&state.db, &token).await {
            Ok(Some(staff)) => Ok(Self(staff)),
            Ok(None) => Err(crate::pages::redirect_see_other("/console/login")),
            Err(e) => Err(e.into_response()),
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct LoginResponse {
    token: String,
    expires_at: DateTime<Utc>,
    staff: Staff,
}

/// Longest username and password looked at: a longer one cannot be right, and is not worth
/// hashing.
const MAX_USERNAME: usize = 64;
const MAX_PASSWORD: usize = 1024;

/// Signs a staff member in: a bearer token valid for the configured hours. Rate-limited per
/// client address and per account (429 with `Retry-After`).
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse)))]
async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    AppJson(req): AppJson<LoginRequest>,
) -> AppResult<Json<LoginResponse>> {
    let session = sign_in(&state, client, &req.username, req.password).await?;
    Ok(Json(LoginResponse {
        token: session.token,
        expires_at: session.expires_at,
        staff: session.staff,
    }))
}

/// A new session: its secret token (the bearer token of the API, or the console's cookie),
/// when it ends, and who it is.
pub struct NewSession {
    /// The secret (only its SHA-256 is stored).
    pub token: String,
    /// End of validity.
    pub expires_at: DateTime<Utc>,
    /// The staff member.
    pub staff: Staff,
}

/// Checks a username and password and opens a `staff_session`: the one sign-in path of the
/// API's bearer tokens and the console's cookie. Rate-limited per client address and per
/// account before any work (429), at most a bounded number of argon2 checks at once, the same
/// time spent on unknown usernames.
///
/// # Errors
/// Validation errors on over-long fields; [`AppError::Unauthorized`] for a wrong pair; the
/// sign-in guard's refusals; database errors.
pub async fn sign_in(
    state: &AppState,
    client: Option<std::net::IpAddr>,
    username: &str,
    password: String,
) -> AppResult<NewSession> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        staff: Staff,
        password_hash: String,
    }
    if username.len() > MAX_USERNAME {
        return Err(AppError::invalid(
            "username",
            format!("at most {MAX_USERNAME} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD {
        return Err(AppError::invalid(
            "password",
            format!("at most {MAX_PASSWORD} bytes"),
        ));
    }
    // Rate limits per client address and per account, before any work: a refused attempt
    // costs neither a query nor a hash.
    if let Err(e) = state.sign_in.admit("login", username, client) {
        crate::telemetry::sign_in("login", "limited");
        return Err(e);
    }
    let row = sqlx::query_as::<_, Row>(
        "select staff_id, username, display_name, role, region_code, polo_id, password_hash
         from staff where username = $1",
    )
    .bind(username.trim())
    .fetch_optional(&state.db)
    .await?;
    // Verify against a dummy hash when the user is unknown, so timing does not tell.
    let (hash, staff) = match row {
        Some(r) => (r.password_hash, Some(r.staff)),
        None => (DUMMY_HASH.to_owned(), None),
    };
    // At most `login_concurrency` argon2 checks (19 MiB each) at once, and a bounded queue:
    // a flood of attempts cannot take the memory with it.
    let ok = match state
        .sign_in
        .verify(move || verify_password(&password, &hash))
        .await
    {
        Ok(ok) => ok,
        Err(e) => {
            crate::telemetry::sign_in("login", "busy");
            return Err(e);
        }
    };
    let staff = match (ok, staff) {
        (true, Some(s)) => s,
        _ => {
            crate::telemetry::sign_in("login", "failed");
            return Err(AppError::Unauthorized);
        }
    };
    crate::telemetry::sign_in("login", "ok");
    let mut raw = [0u8; 32];
    OsRng.fill_bytes(&mut raw);
    let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let expires_at = Utc::now() + Duration::hours(state.config.session_hours);
    let mut tx = state.db.begin().await?;
    // The caller's own expired sessions go now; everyone's go with the maintenance job.
    sqlx::query("delete from staff_session where staff_id = $1 and expires_at <= now()")
        .bind(staff.staff_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into staff_session (token_sha256, staff_id, expires_at) values ($1, $2, $3)",
    )
    .bind(token_digest(&token))
    .bind(staff.staff_id)
    .bind(expires_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(staff = %staff.username, "login");
    Ok(NewSession {
        token,
        expires_at,
        staff,
    })
}

/// The staff member of a live session token, if any.
///
/// # Errors
/// Database errors.
pub async fn staff_of_token(db: &sqlx::PgPool, token: &str) -> AppResult<Option<Staff>> {
    Ok(sqlx::query_as::<_, Staff>(
        "select s.staff_id, s.username, s.display_name, s.role, s.region_code, s.polo_id
         from staff_session t join staff s using (staff_id)
         where t.token_sha256 = $1 and t.expires_at > now()",
    )
    .bind(token_digest(token.trim()))
    .fetch_optional(db)
    .await?)
}

/// Ends the session of a token (a logout); nothing when there is none.
///
/// # Errors
/// Database errors.
pub async fn end_session(db: &sqlx::PgPool, token: &str) -> AppResult<()> {
    sqlx::query("delete from staff_session where token_sha256 = $1")
        .bind(token_digest(token.trim()))
        .execute(db)
        .await?;
    Ok(())
}

/// Deletes every expired session (the maintenance job calls it); returns how many.
///
/// # Errors
/// Database errors.
pub async fn purge_expired_sessions(conn: &mut PgConnection) -> AppResult<u64> {
    Ok(
        sqlx::query("delete from staff_session where expires_at <= now()")
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// An argon2 hash of a random string, used to spend the same time on unknown usernames.
pub const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$yV4dbnGqWXtVJ0GZJ6Rk1m6Q7yqG2GqJ8n7xP1mY0qI";

/// Ends the session of the bearer token sent (if any).
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth",
    responses((status = 200, body = LoggedOut)))]
async fn logout(
    State(state): State<AppState>,
    parts: axum::http::HeaderMap,
) -> AppResult<Json<LoggedOut>> {
    if let Some(token) = parts
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        end_session(&state.db, token).await?;
    }
    Ok(Json(LoggedOut { logged_out: true }))
}

/// The answer to a logout.
#[derive(Serialize, utoipa::ToSchema)]
struct LoggedOut {
    /// Always true: the token, if any, is no longer valid.
    logged_out: bool,
}

/// The caller.
#[utoipa::path(get, path = "/api/me", tag = "auth", responses((status = 200, body = Staff)))]
async fn me(staff: Staff) -> Json<Staff> {
    Json(staff)
}

/// Routes: `POST /api/auth/login`, `POST /api/auth/logout`, `GET /api/me`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_checks_against_its_hash_with_reused_memory() {
        let hash = hash_password("passaggio-demo").unwrap();
        for _ in 0..2 {
            assert!(verify_password("passaggio-demo", &hash));
            assert!(!verify_password("passaggio-dem0", &hash));
        }
        assert!(!verify_password("passaggio-demo", DUMMY_HASH));
        assert!(!verify_password("x", "not a hash"));
    }
}
