//! Request extractors whose failures use the service's error shape: a JSON body whose
//! deserialisation error names the field (`AppJson`), and query strings likewise (`AppQuery`).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use sha2::Digest;

use crate::error::AppError;

mod objects;

/// A JSON body. Malformed JSON, a missing field, an unknown enum value or a field the
/// endpoint does not know become a 422 validation error naming the field path
/// (`places.0.kind`): a misspelt optional field is never silently dropped.
pub struct AppJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(AppError::invalid(
                "body",
                "expected Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                AppError::PayloadTooLarge {
                    limit_bytes: body_limit(),
                }
            } else if timed_out(&e) {
                AppError::RequestTimeout
            } else {
                AppError::invalid("body", e.body_text())
            }
        })?;
        parse_json(&bytes).map(AppJson)
    }
}

/// Whether reading the body failed because the body read timeout passed.
fn timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The body limit as configured (for the message of a 413; the limit itself is the router's
/// `DefaultBodyLimit`).
fn body_limit() -> usize {
    std::env::var("PASSAGGIO_MAX_BODY_BYTES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| crate::config::Limits::default().max_body_bytes)
}

/// Longest text accepted in any field of a JSON body, in characters (a name, a note, a
/// description): longer is a mistake or an attack, never data.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// Refuses text no field may hold: the NUL character (PostgreSQL cannot store it) and strings
/// longer than [`MAX_TEXT_CHARS`], naming the field. A body without an escaped NUL and too
/// short to hold a long string is not looked at twice.
fn check_text(bytes: &[u8]) -> Result<(), AppError> {
    let escaped_nul = bytes.windows(6).any(|w| w == b"\\u0000");
    if !escaped_nul && bytes.len() <= MAX_TEXT_CHARS {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(()); // the typed parse names the syntax error
    };
    match text_fault(&value, &mut Vec::new()) {
        Some((field, message)) => Err(AppError::invalid(
            if field.is_empty() {
                "body".to_owned()
            } else {
                field
            },
            message,
        )),
        None => Ok(()),
    }
}

/// The path of the first string with a NUL or too long, and what is wrong with it.
fn text_fault(v: &serde_json::Value, path: &mut Vec<String>) -> Option<(String, &'static str)> {
    let bad = |s: &str| {
        if s.contains('\0') {
            Some("the NUL character is not accepted in text")
        } else if s.chars().count() > MAX_TEXT_CHARS {
            Some("too long: at most 2000 characters")
        } else {
            None
        }
    };
    match v {
        serde_json::Value::String(s) => bad(s).map(|m| (path.join("."), m)),
        serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, x)| {
            path.push(i.to_string());
            let found = text_fault(x, path);
            path.pop();
            found
        }),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, x)| {
            path.push(k.clone());
            let found = bad(k)
                .map(|m| (path.join("."), m))
                .or_else(|| text_fault(x, path));
            path.pop();
            found
        }),
        _ => None,
    }
}

/// Deserialises JSON, naming the path of the first offending field.
///
/// # Errors
/// A validation error with the field path (or `body` for a syntax error).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    check_text(bytes)?;
    let mut unknown: Option<String> = None;
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let mut note = |path: serde_ignored::Path<'_>| {
        if unknown.is_none() {
            unknown = Some(path.to_string());
        }
    };
    // structs from JSON objects only, at every depth (serde alone also takes arrays)
    let de = serde_ignored::Deserializer::new(objects::Objects(de), &mut note);
    let parsed = serde_path_to_error::deserialize(de);
    if let (Ok(_), Some(path)) = (&parsed, unknown) {
        return Err(AppError::invalid(
            path.clone(),
            format!("unknown field `{path}`: this endpoint does not take it (check its spelling)"),
        ));
    }
    parsed.map_err(|e| {
        // serde_path_to_error says `events[3].kind`; the API names fields `events.3.kind`.
        let path = e.path().to_string().replace('[', ".").replace(']', "");
        let inner = e.into_inner();
        let field = if path == "." || inner.is_syntax() || inner.is_eof() {
            "body".to_owned()
        } else {
            path
        };
        // serde says "missing field `x`" at the parent's path; name the field itself.
        let msg = inner.to_string();
        let field = match msg
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            Some(missing) if field == "body" => missing.to_owned(),
            Some(missing) => format!("{field}.{missing}"),
            None => field,
        };
        AppError::invalid(field, msg)
    })
}

/// A JSON body like [`AppJson`], with the SHA-256 digest of its bytes (to tell a retried
/// request from another one sent with the same idempotency key).
pub struct DigestedJson<T>(pub T, pub Vec<u8>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for DigestedJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let AppJson(value) = AppJson::<serde_json::Value>::from_request(req, state).await?;
        // Digest of the canonical form: the same request sent with other spacing or key
        // order is the same request.
        let canonical = serde_json::to_vec(&value).unwrap_or_default();
        let digest = sha2::Sha256::digest(&canonical).to_vec();
        let parsed = parse_json(&canonical)?;
        Ok(Self(parsed, digest))
    }
}

/// Path parameters (ids in the URL), with errors naming the parameter: a malformed id is a 422
/// in the one error shape, like a bad body or query, never axum's plain-text 400.
pub struct AppPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for AppPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(p) => Ok(Self(p.0)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => key.clone(),
                    _ => "path".to_owned(),
                };
                Err(AppError::invalid(
                    field,
                    format!("not a valid value: {}", e.body_text()),
                ))
            }
            Err(e) => Err(AppError::invalid("path", e.body_text())),
        }
    }
}

/// A query string, with errors naming the parameter.
pub struct AppQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for AppQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded_deserializer(query);
        de.map(AppQuery)
    }
}

fn serde_urlencoded_deserializer<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    // axum's Query uses serde_urlencoded; go through its extractor to keep one parser, and
    // name the parameter from the message it gives.
    if query.to_ascii_lowercase().contains("%00") {
        return Err(AppError::invalid(
            "query",
            "the NUL character is not accepted in a parameter",
        ));
    }
    let uri: axum::http::Uri = format!("/?{query}")
        .parse()
        .map_err(|_| AppError::invalid("query", "malformed query string"))?;
    axum::extract::Query::<T>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|e| {
            let text = e.body_text();
            let field = text
                .split('`')
                .nth(1)
                .map_or_else(|| "query".to_owned(), ToOwned::to_owned);
            AppError::invalid(field, text)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        stops: Vec<Stop>,
    }

    #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
    #[allow(dead_code)]
    struct Stop {
        seq: i32,
    }

    fn field_of(r: Result<Body, AppError>) -> String {
        match r {
            Err(AppError::Validation { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn an_unknown_field_is_refused_by_its_path() {
        assert!(parse_json::<Body>(br#"{"name": "a", "stops": [{"seq": 1}]}"#).is_ok());
        assert_eq!(
            field_of(parse_json(
                br#"{"name": "a", "stops": [], "passangers": 2}"#
            )),
            "passangers"
        );
        assert_eq!(
            field_of(parse_json(
                br#"{"name": "a", "stops": [{"seq": 1}, {"seq": 2, "when": 3}]}"#
            )),
            "stops.1.when"
        );
        assert_eq!(
            field_of(parse_json(br#"{"name": "a", "stops": [{}]}"#)),
            "stops.0.seq"
        );
    }

    #[test]
    fn a_body_sent_as_an_array_is_refused() {
        // serde alone would read `Body { name: "a", stops: [] }` from it
        assert_eq!(field_of(parse_json(br#"["a", []]"#)), "body");
        assert_eq!(field_of(parse_json(b" \n [\"a\", []]")), "body");
        assert!(parse_json::<Body>(br#" {"name": "a", "stops": []}"#).is_ok());
        // and at any depth: a stop sent as an array is refused by its path
        assert_eq!(
            field_of(parse_json(br#"{"name": "a", "stops": [{"seq": 1}, [2]]}"#)),
            "stops.1"
        );
    }

    #[test]
    fn nul_characters_and_huge_text_are_refused_by_their_field() {
        assert_eq!(
            field_of(parse_json(br#"{"name": "a\u0000b", "stops": []}"#)),
            "name"
        );
        let long = format!(
            r#"{{"name": "a", "stops": [{{"seq": 1, "x": "{}"}}]}}"#,
            "y".repeat(3000)
        );
        assert_eq!(field_of(parse_json(long.as_bytes())), "stops.0.x");
        let fine = format!(r#"{{"name": "{}", "stops": []}}"#, "à".repeat(1500));
        assert!(
            parse_json::<Body>(fine.as_bytes()).is_ok(),
            "2000 characters, not bytes"
        );
    }
}
