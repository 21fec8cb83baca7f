//! Every JSON answer the end-to-end tests receive through [`crate::TestApp::call`] is checked
//! against the OpenAPI document generated from the service's code: the operation must exist,
//! the status must be documented for it, and the body must match the documented schema
//! (JSON Schema 2020-12, formats checked). A test that gets an undocumented answer fails here,
//! so the document cannot drift from what the service really says.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use reqwest::StatusCode;
use serde_json::{json, Value};

/// The generated document, parsed once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| serde_json::from_str(dispatch::openapi::json()).expect("OpenAPI JSON"))
}

/// Every operation of the document: (method, path template).
#[must_use]
pub fn operations() -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in document()["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                ops.push((method.to_owned(), path.clone()));
            }
        }
    }
    ops
}

/// The path template of the document that `path` (query string allowed) is an instance of.
#[must_use]
pub fn template_of(path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or(path);
    let segs: Vec<&str> = path.split('/').collect();
    let paths = document()["paths"].as_object()?;
    // Literal segments win over parameters (`/api/lines/passing` before `/api/lines/{line_id}`).
    let mut best: Option<(usize, &String)> = None;
    for template in paths.keys() {
        let t: Vec<&str> = template.split('/').collect();
        if t.len() != segs.len() {
            continue;
        }
        let mut literals = 0;
        let ok = t.iter().zip(&segs).all(|(a, b)| {
            if a.starts_with('{') && a.ends_with('}') {
                !b.is_empty()
            } else if a.contains('{') {
                // `{region}.zip`-like segments are not used; compare literally.
                a == b
            } else {
                literals += 1;
                a == b
            }
        });
        if ok && best.is_none_or(|(n, _)| literals > n) {
            best = Some((literals, template));
        }
    }
    best.map(|(_, t)| t.clone())
}

fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.trim_start_matches('#');
            doc.pointer(pointer).unwrap_or(v)
        }
        None => v,
    }
}

type Check = Option<jsonschema::Validator>;
/// Compiled checks by (method, path template, status).
type Checks = Mutex<HashMap<(String, String, u16), Check>>;

/// Panics when `body` (a JSON answer to `method path` with `status`) is not what the document
/// says. Requests to undocumented routes (the tests' deliberate 404s) are not checked.
///
/// # Panics
/// On an undocumented status or a body that does not match its schema.
pub fn check_response(method: &str, path: &str, status: StatusCode, body: &Value) {
    static CACHE: OnceLock<Checks> = OnceLock::new();
    let Some(template) = template_of(path) else {
        return;
    };
    let doc = document();
    let Some(op) = doc["paths"][&template].get(method) else {
        // 405: the path exists without this method.
        return;
    };
    let key = (method.to_owned(), template.clone(), status.as_u16());
    let cache = CACHE.get_or_init(Mutex::default);
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let check = cache.entry(key).or_insert_with(|| {
        let Some(response) = op["responses"].get(status.as_str()) else {
            panic!(
                "{method} {template} answered {status}, which its OpenAPI operation does not document: {body}"
            );
        };
        let response = resolve(doc, response);
        let schema = response["content"]["application/json"].get("schema")?;
        let root = json!({ "components": doc["components"], "allOf": [schema] });
        Some(
            jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&root)
                .expect("documented schemas compile"),
        )
    });
    if let Some(validator) = check {
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .take(5)
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {path} answered {status} with a body that does not match the OpenAPI document:\n  {}\nbody: {body}",
            errors.join("\n  ")
        );
    }
}

/// Panics when `body`, sent to `method path` and accepted (2xx), is not what the operation's
/// documented request schema allows: a request the service took must be one a client written
/// from the document alone could have sent.
///
/// # Panics
/// On a body the document does not allow, or a body sent to an operation that takes none.
pub fn check_request(method: &str, path: &str, body: &Value) {
    static CACHE: OnceLock<Checks> = OnceLock::new();
    let Some(template) = template_of(path) else {
        return;
    };
    let doc = document();
    let Some(op) = doc["paths"][&template].get(method) else {
        return;
    };
    let key = (method.to_owned(), template.clone(), 0);
    let cache = CACHE.get_or_init(Mutex::default);
    let mut cache = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let check = cache.entry(key).or_insert_with(|| {
        let schema = op["requestBody"]["content"]["application/json"].get("schema")?;
        let root = json!({ "components": doc["components"], "allOf": [schema] });
        Some(
            jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&root)
                .expect("documented schemas compile"),
        )
    });
    let Some(validator) = check else {
        return;
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .take(5)
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} accepted a body its OpenAPI request schema does not allow:\n  {}\nbody: {body}",
        errors.join("\n  ")
    );
}
