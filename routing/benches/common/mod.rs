//! Pieces shared by the benches' synthetic days.

use routing::model::{Break, Load, Objective, Problem, Request, Stop, TimeWindow};

/// A one-seat ride from `p` to `d` picked up within `[from, to]`, one minute to board and to
/// alight, at most `max_ride` seconds on board.
pub fn ride(p: usize, d: usize, (from, to): (f64, f64), seats: u32, max_ride: f64) -> Request {
    Request {
        pickup: Stop::new(p, TimeWindow::new(from, to).unwrap(), 60.0),
        delivery: Stop::new(d, TimeWindow::any(), 60.0),
        load: Load(vec![seats, 0]),
        max_ride_time: Some(max_ride),
        skills: vec![],
        vehicle: None,
    }
}

/// The drivers' breaks the service gives every van (`dispatch::runs::shift_breaks`): five of
/// 45 minutes, nobody on board, each within 4 h 30 of setting off or of the end of the one
/// before, left out once the route is over.
pub fn service_breaks() -> Vec<Break> {
    (0..5)
        .map(|_| Break {
            windows: vec![],
            service: 2700.0,
            max_load: Some(Load(vec![0, 0])),
            skip_after_end: true,
            max_gap: Some(4.5 * 3600.0),
        })
        .collect()
}

/// `problem` with [`service_breaks`] on every vehicle.
pub fn with_breaks(problem: &Problem) -> Problem {
    let vehicles = problem
        .vehicles()
        .iter()
        .map(|v| {
            let mut v = v.clone();
            v.breaks = service_breaks();
            v
        })
        .collect();
    Problem::new(problem.requests().to_vec(), vehicles, Objective::default()).unwrap()
}
