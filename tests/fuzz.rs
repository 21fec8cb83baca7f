//! The OpenAPI document, fuzzed: schemathesis (`scripts/fuzz-tools.sh`, which `make test`
//! installs) generates valid and invalid requests for every operation from the document the
//! service serves, as an admin, a Polo coordinator and a driver of the demo region, and checks
//! that nothing answers 5xx and that every answer's status, content type and body are the
//! documented ones. Bounded in time (`PASSAGGIO_FUZZ_SECONDS` per role, default 40).

use std::process::Command;

use sqlx::PgPool;

use passaggio_tests::{spawn_demo_at, wide_pool};

const NOW: &str = "2026-07-14T05:30:00Z";

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn fuzzing_the_openapi_finds_no_server_error_and_no_undocumented_answer(pool: PgPool) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let st = std::env::var("PASSAGGIO_FUZZ_ST")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join(".local/fuzz/venv/bin/st"));
    if !st.exists() {
        assert!(
            std::env::var("PASSAGGIO_REQUIRE_FUZZ").as_deref() != Ok("1"),
            "{} missing but PASSAGGIO_REQUIRE_FUZZ=1: run scripts/fuzz-tools.sh install",
            st.display()
        );
        eprintln!(
            "note: schemathesis not installed ({}); fuzzing skipped",
            st.display()
        );
        return;
    }
    let seconds: u64 = std::env::var("PASSAGGIO_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let wide = wide_pool(&pool, 12).await;
    let app = spawn_demo_at(wide, NOW).await;
    let base = app.url("");
    let report_dir = std::env::temp_dir().join(format!("passaggio-fuzz-{}", uuid::Uuid::new_v4()));
    let mut failures = Vec::new();
    for user in ["coord.foggia", "admin", "driver.marco"] {
        let token = app.login(user).await;
        let st = st.clone();
        let base = base.clone();
        let dir = report_dir.join(user);
        let out = tokio::task::spawn_blocking(move || {
            Command::new(st)
                .args(["run", &format!("{base}/api/openapi.json")])
                .args(["--url", &base])
                .args(["-H", &format!("Authorization: Bearer {token}")])
                .args([
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection",
                ])
                // Logging out would end the fuzzer's own session.
                .args(["--exclude-path", "/api/auth/logout"])
                // The coverage phase of this schemathesis version stops on an internal KeyError of its own.
                .args(["--phases", "examples,fuzzing"])
                .args(["--max-examples", "30", "--seed", "20261202"])
                .args(["--max-time", &seconds.to_string()])
                .args(["--workers", "2", "--request-timeout", "30"])
                .args(["--suppress-health-check", "all", "--no-shrink"])
                .args(["--warnings", "off", "--output-truncate", "true"])
                .args(["--report", "junit"])
                .arg("--report-dir")
                .arg(&dir)
                .env("NO_COLOR", "1")
                .output()
                .expect("running schemathesis")
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let summary: Vec<&str> = stdout
            .lines()
            .filter(|l| l.contains("passed") || l.contains("failed") || l.contains("Test cases"))
            .collect();
        eprintln!("fuzz as {user}: {}", summary.join(" | "));
        // This schemathesis (on Python 3.11) now and then stops one operation on an error of
        // its own (a KeyError or "AST constructor recursion depth mismatch" while reading a
        // strategy's source): a run whose summary lists errors but no failures is not the
        // API's fault, and is reported, not failed.
        let summary_at = stdout.find("SUMMARY").unwrap_or(0);
        let found_failures = stdout[summary_at..].contains("Failures:");
        if !out.status.success() && !found_failures {
            eprintln!("fuzz as {user}: schemathesis stopped on an internal error (no failure found); see its output above");
        }
        if !out.status.success() && found_failures {
            // The headings, checks, statuses and reproducing curl lines of each failure.
            let found: Vec<String> = stdout
                .lines()
                .filter(|l| {
                    let t = l.trim_start();
                    t.starts_with("___")
                        || t.starts_with("- ")
                        || t.starts_with("Received:")
                        || t.starts_with("curl ")
                        || t.starts_with('[')
                        || t.contains("Error")
                })
                .take(200)
                .map(|l| l.chars().take(300).collect())
                .collect();
            failures.push(format!(
                "as {user}:\n{}\n{}",
                found.join("\n"),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .take(20)
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&report_dir);
    assert!(
        failures.is_empty(),
        "schemathesis found:\n{}",
        failures.join("\n\n")
    );
}
