//! Checks of the crate's shape, run with the unit tests: every table is written by the one
//! module the crate documentation names as its owner, and the modules import each other
//! without a cycle. They read the sources as text (SQL lives in string literals).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Top-level modules, from `lib.rs`'s `pub mod` lines.
fn modules() -> Vec<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    lib.lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("pub mod ")
                .or_else(|| l.trim().strip_prefix("mod "))
        })
        .map(|m| m.trim_end_matches(';').to_owned())
        .filter(|m| m != "architecture")
        .collect()
}

/// Every `.rs` file of a top-level module (a directory or a file).
fn files_of(module: &str) -> Vec<PathBuf> {
    let dir = src().join(module);
    let mut out = Vec::new();
    if dir.is_dir() {
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).expect("read_dir") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
    } else {
        out.push(src().join(format!("{module}.rs")));
    }
    out.sort();
    out
}

/// The code of a file without comment lines.
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("source")
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The contents of the string literals of `code` (raw strings are not used for SQL here).
fn string_literals(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = code.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        match (&mut cur, c) {
            (None, '"') if prev != '\'' => cur = Some(String::new()),
            (Some(s), '\\') => {
                if let Some(n) = chars.next() {
                    s.push(if n == 'n' { ' ' } else { n });
                }
            }
            (Some(s), '"') => {
                out.push(std::mem::take(s));
                cur = None;
            }
            (Some(s), c) => s.push(c),
            (None, _) => {}
        }
        prev = c;
    }
    out
}

/// Tables written by SQL in `text`: `insert into T`, `update T` (not `for update` or
/// `do update`), `delete from T`.
fn tables_written(text: &str) -> BTreeSet<String> {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = BTreeSet::new();
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied();
        let table = match (*w, next) {
            ("insert", Some("into")) | ("delete", Some("from")) => words.get(i + 2).copied(),
            ("update", Some(t))
                if i == 0 || !matches!(words[i - 1], "for" | "do" | "no" | "key" | "on") =>
            {
                (t != "of" && t != "set").then_some(t)
            }
            _ => None,
        };
        if let Some(t) = table {
            out.insert(t.to_owned());
        }
    }
    out
}

/// The owner table of the crate documentation: `//! | [`module`] | `table`, `table` |`.
fn documented_owners() -> BTreeMap<String, String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let mut owners = BTreeMap::new();
    for line in lib.lines() {
        let Some(row) = line.strip_prefix("//! | [`") else {
            continue;
        };
        let Some((module, rest)) = row.split_once("`]") else {
            continue;
        };
        for table in rest.split('`').skip(1).step_by(2) {
            let previous = owners.insert(table.to_owned(), module.to_owned());
            assert!(previous.is_none(), "{table} has two owners in lib.rs");
        }
    }
    owners
}

#[test]
fn every_table_is_written_only_by_its_documented_owner() {
    let owners = documented_owners();
    assert!(
        owners.len() > 20,
        "lib.rs documents the owner of every table"
    );
    let mut seen = BTreeSet::new();
    let mut wrong = Vec::new();
    for module in modules() {
        for file in files_of(&module) {
            let text = string_literals(&code(&file)).join(" ");
            for table in tables_written(&text) {
                seen.insert(table.clone());
                match owners.get(&table) {
                    Some(owner) if *owner == module => {}
                    Some(owner) => wrong.push(format!(
                        "{} writes {table}, owned by {owner}",
                        file.display()
                    )),
                    None => wrong.push(format!(
                        "{} writes {table}, which has no owner in lib.rs",
                        file.display()
                    )),
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The check sees the writes it is meant to see.
    for t in ["ride_request", "ledger_entry", "run_stop", "ride"] {
        assert!(
            seen.contains(t),
            "no write of {t} found: the scan is broken"
        );
    }
}

#[test]
fn the_modules_import_each_other_without_a_cycle() {
    let modules = modules();
    let known: BTreeSet<&str> = modules.iter().map(String::as_str).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for module in &modules {
        let deps = edges.entry(module.clone()).or_default();
        for file in files_of(module) {
            let text = code(&file);
            for part in text.split("crate::").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name != *module && known.contains(name.as_str()) {
                    deps.insert(name);
                }
            }
        }
    }
    assert!(edges["runs"].contains("bookings"), "the scan sees imports");
    assert!(
        !edges["bookings"].contains("runs"),
        "bookings never imports runs"
    );
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_owned());
        for d in &edges[m] {
            if let Some(c) = visit(d, edges, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for m in &modules {
        let cycle = visit(m, &edges, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "import cycle: {}",
            cycle.unwrap().join(" -> ")
        );
    }
}

#[test]
fn the_scanner_reads_sql_as_intended() {
    let sql = string_literals(
        r#"sqlx::query("insert into run_stop (a) select 1 from run for update of run")
           sqlx::query("update ride_request set x = 1 where y in (select 1 from t for update)")
           sqlx::query("insert into t (a) values (1) on conflict (a) do update set a = 2")"#,
    )
    .join(" ");
    let written: Vec<String> = tables_written(&sql).into_iter().collect();
    assert_eq!(written, ["ride_request", "run_stop", "t"]);
}
