//! The workers' pages under `/w/` (server-rendered, usable without JavaScript) and the
//! printable access card. PROVISIONAL until the shared page ground lands.

use crate::error::AppResult;
use crate::state::AppState;

use super::db::PoloContact;

/// What a printed card shows.
pub struct CardView<'a> {
    /// The person's name.
    pub known_as: &'a str,
    /// The code, grouped.
    pub code: &'a str,
    /// The one-tap link.
    pub sign_in_url: &'a str,
    /// Its QR code.
    pub qr_svg: &'a str,
    /// The Polo.
    pub polo: &'a PoloContact,
    /// Whether a PIN is asked.
    pub pin: bool,
}

/// Whether a message file exists for `lang`.
#[must_use]
pub fn has_language(_state: &AppState, lang: &str) -> bool {
    ["it", "en", "fr", "ar"].contains(&lang)
}

/// The languages there are message files for.
#[must_use]
pub fn language_codes(_state: &AppState) -> Vec<String> {
    ["it", "en", "fr", "ar"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
}

/// The printable card.
///
/// # Errors
/// Rendering errors.
pub fn card_html(_state: &AppState, _lang: &str, card: &CardView<'_>) -> AppResult<String> {
    Ok(format!(
        "<!doctype html><title>card</title>{}<p>{}</p>",
        card.qr_svg, card.code
    ))
}
