//! PostGIS queries: nearest meeting points and places within a radius, in the right order.

use passaggio_tests::spawn_demo;
use reqwest::StatusCode;
use serde_json::json;
use sqlx::PgPool;

/// Vieste, on the Gargano coast: at least 50 km from every demo place.
const FAR_LON: f64 = 16.1760;
const FAR_LAT: f64 = 41.8820;

/// Longitude offset for `m` metres east at latitude `FAR_LAT`.
fn east(m: f64) -> f64 {
    m / (111_320.0 * FAR_LAT.to_radians().cos())
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn nearest_meeting_points_come_nearest_first_with_distances(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    let camp = app
        .post(
            "/api/places",
            &admin,
            &json!({ "region_code": "puglia", "kind": "settlement", "name": "Campo di prova", "informal": true,
                     "location": { "lon": FAR_LON, "lat": FAR_LAT } }),
        )
        .await;
    assert_eq!(camp.status, StatusCode::CREATED, "{:?}", camp.body);
    let place_id = camp.body["place_id"].as_str().unwrap().to_owned();
    // Three points 3 km, 1 km and 2 km east of the query position, created out of order.
    for (name, metres) in [("tre", 3000.0), ("uno", 1000.0), ("due", 2000.0)] {
        let r = app
            .post(
                &format!("/api/places/{place_id}/meeting-points"),
                &admin,
                &json!({ "name": name, "landmark": format!("cartello {name}"),
                         "location": { "lon": FAR_LON + east(metres), "lat": FAR_LAT } }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let r = app
        .get(
            &format!(
                "/api/meeting-points/nearest?region=puglia&lon={FAR_LON}&lat={FAR_LAT}&limit=4"
            ),
            &admin,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let points = r.body.as_array().unwrap();
    let names: Vec<&str> = points.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(&names[..3], ["uno", "due", "tre"]);
    for (p, expected) in points.iter().zip([1000.0, 2000.0, 3000.0]) {
        let d = p["distance_m"].as_f64().unwrap();
        assert!(
            (d - expected).abs() < 15.0,
            "{} is {d} m away, expected about {expected}",
            p["name"]
        );
    }
    // The fourth is the nearest demo meeting point, tens of kilometres away.
    assert!(points[3]["distance_m"].as_f64().unwrap() > 40_000.0);
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn near_torretta_antonacci_the_nearest_meeting_point_is_the_camps_own(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let coord = app.login("coord.sansevero").await;
    let r = app
        .get(
            "/api/meeting-points/nearest?region=puglia&lon=15.5065&lat=41.5938&limit=2",
            &coord,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body[0]["place_name"], "Torretta Antonacci");
    assert_eq!(r.body[0]["name"], "Ingresso principale");
    assert!(r.body[0]["landmark"]
        .as_str()
        .unwrap()
        .contains("water tanks"));
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn places_within_a_radius_are_filtered_by_distance_and_kind(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let coord = app.login("coord.foggia").await;
    // Offices within 2 km of central Foggia: the Questura, the ASL and the job centre, nearest first.
    let r = app
        .get(
            "/api/places?region=puglia&lon=15.5500&lat=41.4620&radius_m=2000",
            &coord,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let places = r.body.as_array().unwrap();
    let kinds: Vec<&str> = places.iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert!(
        kinds.contains(&"questura") && kinds.contains(&"asl") && kinds.contains(&"job_centre"),
        "{kinds:?}"
    );
    let d: Vec<f64> = places
        .iter()
        .map(|p| p["distance_m"].as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "not sorted: {d:?}");
    assert!(d.iter().all(|x| *x <= 2000.0));
    // Only settlements, within 15 km of Foggia: Borgo Mezzanone's camps and Palmori but not Borgo Tre Titoli.
    let r = app
        .get(
            "/api/places?region=puglia&lon=15.5443&lat=41.4622&radius_m=15000&kind=settlement",
            &coord,
        )
        .await;
    let names: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Palmori") && names.contains(&"Borgo Mezzanone - ex pista"),
        "{names:?}"
    );
    assert!(!names.contains(&"Borgo Tre Titoli"), "{names:?}");
    assert!(r
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["kind"] == "settlement"));
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn candidate_vehicles_for_a_wheelchair_user_come_nearest_depot_first(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let coord = app.login("coord.foggia").await;
    // Near Cerignola: every vehicle with a wheelchair place, nearest depot first.
    let r = app
        .get(
            "/api/vehicles?region=puglia&lon=15.90&lat=41.26&min_wheelchair_places=1",
            &coord,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let v = r.body.as_array().unwrap();
    assert!(
        !v.is_empty()
            && v.iter()
                .all(|x| x["wheelchair_places"].as_i64().unwrap() >= 1)
    );
    let d: Vec<f64> = v
        .iter()
        .map(|x| x["distance_m"].as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
}

#[sqlx::test(migrator = "dispatch::MIGRATOR")]
async fn service_areas_are_simple_polygons_and_decide_where_positions_are_served(pool: PgPool) {
    let app = spawn_demo(pool).await;
    let admin = app.login("admin").await;
    // A square of about 11 km x 8.3 km around Vieste.
    let square = json!([
        [16.12, 41.84],
        [16.24, 41.84],
        [16.24, 41.92],
        [16.12, 41.92]
    ]);
    let r = app
        .post(
            "/api/service-areas",
            &admin,
            &json!({ "region_code": "puglia", "name": "Gargano nord", "polygon": square }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let km2 = r.body["area_km2"].as_f64().unwrap();
    assert!((80.0..100.0).contains(&km2), "{km2}");
    let bowtie = json!([
        [16.12, 41.84],
        [16.24, 41.92],
        [16.24, 41.84],
        [16.12, 41.92]
    ]);
    let r = app
        .post(
            "/api/service-areas",
            &admin,
            &json!({ "region_code": "puglia", "name": "x", "polygon": bowtie }),
        )
        .await;
    assert_eq!(r.error_field(), "polygon", "{:?}", r.body);
    let r = app.post("/api/service-areas", &admin, &json!({ "region_code": "puglia", "name": "x", "polygon": [[16.1, 41.8], [16.2, 95.0], [16.3, 41.8]] })).await;
    assert_eq!(r.error_field(), "polygon.1.lat");
    let coord = app.login("coord.foggia").await;
    let list = app.get("/api/service-areas?region=puglia", &coord).await;
    assert_eq!(
        list.body.as_array().unwrap().len(),
        2,
        "the demo's Tavoliere and the new one"
    );
    assert_eq!(
        app.post(
            "/api/service-areas",
            &coord,
            &json!({ "region_code": "puglia", "name": "x", "polygon": square })
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
}
