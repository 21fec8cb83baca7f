//! Workers book their own rides: access cards instead of accounts, short sessions, their own
//! rides and line subscriptions, and confidential reports to their Polo's coordinator.
//!
//! Owns `access_card`, `access_card_event`, `worker_session` and `worker_report`. Rides and
//! subscriptions are written by `bookings` and `lines` (channel `self`, no staff author): this
//! module only decides who the person is and what they may ask.
//!
//! Rules:
//! - a card is issued by the case's Polo (coordinator, case worker or mediator) for an open
//!   case; its code is random ([`CODE_LEN`] characters of [`ALPHABET`], about 88 bits), kept
//!   only as a SHA-256 digest, shown once (printed on the card, in its QR link);
//! - one live card per case: re-issuing revokes the old one in the same transaction; issuing
//!   and revoking are recorded in `access_card_event`;
//! - sign-in by the code (and the PIN when the person chose one) is rate-limited per client and
//!   per code ([`crate::throttle::SignInGuard::admit_code`]); a wrong code, a revoked card, a
//!   wrong PIN and a closed case all get the same answer;
//! - a session is a random token kept as a digest, [`SESSION_MINUTES`] long; signing out
//!   deletes it;
//! - a signed-in person sees their own rides only: another person's ride is not found.

pub mod db;
pub mod http;
pub mod pages;

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

/// The characters of a code: digits and capital letters without the ones read or written
/// alike (0/O, 1/I/L, U/V), so a code can be read aloud and typed from a card.
pub const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTWXYZ";

/// Characters in a code: 18 of 29 are log2(29^18) ≈ 87 bits, hopeless to guess at the
/// rate the sign-in allows.
pub const CODE_LEN: usize = 18;

/// Characters per group when a code is printed or read aloud.
pub const GROUP: usize = 3;

/// How long a worker's session lasts, minutes: a shared phone is not signed in for long.
pub const SESSION_MINUTES: i64 = 120;

/// The session cookie's name.
pub const COOKIE: &str = "passaggio_worker";

/// A new random code (compact, no separators).
#[must_use]
pub fn new_code() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..CODE_LEN)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// A code as printed: groups of [`GROUP`] separated by a dash, e.g. `K7P-4QX-...`.
#[must_use]
pub fn grouped(code: &str) -> String {
    code.as_bytes()
        .chunks(GROUP)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// A code as typed or scanned: spaces and dashes dropped, letters capitalised. `None` when
/// what is left cannot be a code (wrong length or a character not in [`ALPHABET`]).
#[must_use]
pub fn normalise(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// The digest a code is kept as.
#[must_use]
pub fn code_digest(code: &str) -> Vec<u8> {
    Sha256::digest(code.as_bytes()).to_vec()
}

/// A PIN the person chose: 4 to 6 digits.
///
/// # Errors
/// A validation error on `field`.
pub fn check_pin(field: &str, pin: &str) -> AppResult<()> {
    if (4..=6).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(AppError::invalid(field, "4 to 6 digits"))
    }
}

/// What a report is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "worker_report_kind", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// Someone asked for money for a ride.
    Money,
    /// Someone asked for the person's documents.
    Documents,
    /// The person was threatened.
    Threat,
    /// Something else.
    Other,
}

impl ReportKind {
    /// Every kind, in the order the report page shows them.
    pub const ALL: [Self; 4] = [Self::Money, Self::Documents, Self::Threat, Self::Other];

    /// The kind's name in forms and message ids.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Money => "money",
            Self::Documents => "documents",
            Self::Threat => "threat",
            Self::Other => "other",
        }
    }
}

/// Where a report stands for the coordinator.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "worker_report_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// Not yet looked at.
    New,
    /// Being followed up.
    InProgress,
    /// Done.
    Closed,
}

/// Where a person asks to go: the kinds of destination the booking page offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// A workplace (farm, packing house).
    Work,
    /// The person's Polo.
    Polo,
    /// A public office (Questura, ASL, job centre, municipality).
    Office,
    /// An appointment the Polo recorded.
    Appointment,
}

impl Destination {
    /// Every kind, in the order the booking page shows them.
    pub const ALL: [Self; 4] = [Self::Work, Self::Polo, Self::Office, Self::Appointment];

    /// The name in forms, message ids and pictogram files.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Work => "work",
            Self::Polo => "polo",
            Self::Office => "office",
            Self::Appointment => "appointment",
        }
    }

    /// The purpose recorded on the ride.
    #[must_use]
    pub fn purpose(self) -> crate::bookings::RidePurpose {
        use crate::bookings::RidePurpose;
        match self {
            Self::Work => RidePurpose::WorkShift,
            Self::Appointment => RidePurpose::Appointment,
            Self::Polo | Self::Office => RidePurpose::Other,
        }
    }
}

/// The place kinds of each destination.
#[must_use]
pub fn place_kinds(d: Destination) -> &'static [&'static str] {
    match d {
        Destination::Work => &["farm", "packing_house"],
        Destination::Office => &["questura", "asl", "job_centre", "municipality"],
        Destination::Polo => &["other_office"],
        Destination::Appointment => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_unambiguous_and_read_back() {
        let bits = (CODE_LEN as f64) * (ALPHABET.len() as f64).log2();
        assert!(bits >= 80.0, "{bits} bits");
        for ambiguous in b"0O1ILUV" {
            assert!(!ALPHABET.contains(ambiguous));
        }
        let code = new_code();
        assert_eq!(code.len(), CODE_LEN);
        let printed = grouped(&code);
        assert_eq!(printed.len(), CODE_LEN + CODE_LEN / GROUP - 1);
        assert_eq!(normalise(&printed).as_deref(), Some(code.as_str()));
        assert_eq!(
            normalise(&format!(" {} ", printed.to_lowercase().replace('-', " "))).as_deref(),
            Some(code.as_str())
        );
        assert_eq!(normalise("ABC"), None);
        assert_eq!(normalise(&"0".repeat(CODE_LEN)), None);
        assert_ne!(new_code(), code);
    }

    #[test]
    fn pins_are_four_to_six_digits() {
        assert!(check_pin("pin", "1234").is_ok());
        assert!(check_pin("pin", "123456").is_ok());
        assert!(check_pin("pin", "123").is_err());
        assert!(check_pin("pin", "12a4").is_err());
    }
}
