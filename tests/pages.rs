//! The ground of the server-rendered pages: static files with their cache headers, the
//! language chooser, and form posts from other sites refused.

use passaggio_tests::spawn_app;
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, ORIGIN, SET_COOKIE};
use reqwest::StatusCode;
use sqlx::PgPool;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn static_files_are_served_with_their_type_and_revalidated_without_a_version(pool: PgPool) {
    let app = spawn_app(pool).await;
    let r = client()
        .get(app.url("/static/pages.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[CONTENT_TYPE], "text/css");
    assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
    assert!(r.text().await.unwrap().contains("margin-inline"));
    // A stale version is not cached forever either; a missing file is a 404.
    let r = client()
        .get(app.url("/static/pages.css?v=0000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[CACHE_CONTROL], "no-cache");
    let r = client()
        .get(app.url("/static/nope.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn the_language_is_remembered_only_from_this_site_and_only_back_to_this_site(pool: PgPool) {
    let app = spawn_app(pool).await;
    let own = format!("http://{}", app.addr);
    let post = |origin: Option<&str>, body: &'static str| {
        let mut req = client()
            .post(app.url("/lang"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(o) = origin {
            req = req.header(ORIGIN, o);
        }
        req.send()
    };
    let r = post(Some(&own), "lang=en&back=%2Fw%2Frides").await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/w/rides");
    let cookie = r.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("lang=en;")
            && cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // Another site's form, or a post without Origin or Referer: refused, nothing set.
    for origin in [Some("http://evil.example"), None] {
        let r = post(origin, "lang=en&back=%2F").await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{origin:?}");
        assert!(r.headers().get(SET_COOKIE).is_none());
    }
    // An unknown language sets nothing; a redirect elsewhere goes home instead.
    let r = post(Some(&own), "lang=xx&back=%2F%2Fevil.example")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/");
    assert!(r.headers().get(SET_COOKIE).is_none());
}
