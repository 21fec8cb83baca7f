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
/// Compiled checks by (method, path template, status; 0 for the request body).
type Checks = Mutex<HashMap<(String, String, u16), Check>>;

/// A validator of `schema` (a schema of the document, `$ref`s into its components).
fn validator(schema: &Value) -> jsonschema::Validator {
    let root = json!({ "components": document()["components"], "allOf": [schema] });
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .expect("documented schemas compile")
}

/// Runs `body` through the check of (`method`, `path`'s operation, `slot`), compiled once by
/// `compile` from the operation; `Err` lists what does not match. Undocumented routes and
/// methods (the tests' deliberate 404s and 405s) are not checked.
fn run_check(
    method: &str,
    path: &str,
    slot: u16,
    body: &Value,
    compile: impl FnOnce(&str, &Value) -> Check,
) -> Result<(), String> {
    static CACHE: OnceLock<Checks> = OnceLock::new();
    let Some(template) = template_of(path) else {
        return Ok(());
    };
    let Some(op) = document()["paths"][&template].get(method) else {
        return Ok(());
    };
    let mut cache = CACHE
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let check = cache
        .entry((method.to_owned(), template.clone(), slot))
        .or_insert_with(|| compile(&template, op));
    let Some(validator) = check else {
        return Ok(());
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .take(5)
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n  "))
    }
}

/// Panics when `body` (a JSON answer to `method path` with `status`) is not what the document
/// says. Requests to undocumented routes (the tests' deliberate 404s) are not checked.
///
/// # Panics
/// On an undocumented status or a body that does not match its schema.
pub fn check_response(method: &str, path: &str, status: StatusCode, body: &Value) {
    let compile = |template: &str, op: &Value| {
        let Some(response) = op["responses"].get(status.as_str()) else {
            panic!(
                "{method} {template} answered {status}, which its OpenAPI operation does not document: {body}"
            );
        };
        let response = resolve(document(), response);
        Some(validator(
            response["content"]["application/json"].get("schema")?,
        ))
    };
    if let Err(errors) = run_check(method, path, status.as_u16(), body, compile) {
        panic!(
            "{method} {path} answered {status} with a body that does not match the OpenAPI document:\n  {errors}\nbody: {body}"
        );
    }
}

/// Panics when `body`, sent to `method path` and accepted (2xx), is not what the operation's
/// documented request schema allows: a request the service took must be one a client written
/// from the document alone could have sent.
///
/// # Panics
/// On a body the document does not allow.
pub fn check_request(method: &str, path: &str, body: &Value) {
    let compile = |_: &str, op: &Value| {
        Some(validator(
            op["requestBody"]["content"]["application/json"].get("schema")?,
        ))
    };
    if let Err(errors) = run_check(method, path, 0, body, compile) {
        panic!(
            "{method} {path} accepted a body its OpenAPI request schema does not allow:\n  {errors}\nbody: {body}"
        );
    }
}
