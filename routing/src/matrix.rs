//! Square matrices of travel durations (seconds) and distances (metres) between locations.
//!
//! Invariant: every entry is finite and non-negative, or marked unreachable. An unreachable
//! pair is never stored as 0 or as a large number: it is [`f64::INFINITY`] internally, so any
//! time-window or cost comparison against it fails, and [`Matrix::unreachable_pairs`] lists them.

use serde::{Deserialize, Serialize};

/// A point on the earth, longitude then latitude (WGS84 degrees), the order used everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Longitude in degrees, -180..=180.
    pub lon: f64,
    /// Latitude in degrees, -90..=90.
    pub lat: f64,
}

/// Error building a matrix from raw values.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MatrixError {
    /// The number of values is not `n * n`.
    #[error("matrix has {got} values, expected {n}x{n} = {}", n * n)]
    WrongSize {
        /// Side of the square matrix.
        n: usize,
        /// Number of values received.
        got: usize,
    },
    /// A value is negative or NaN.
    #[error("matrix entry ({from}, {to}) is {value}: must be finite and >= 0, or unreachable")]
    InvalidValue {
        /// Row.
        from: usize,
        /// Column.
        to: usize,
        /// Offending value.
        value: f64,
    },
}

/// Durations (seconds) and distances (metres) between `n` locations, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    n: usize,
    durations: Vec<f64>,
    distances: Vec<f64>,
}

impl Matrix {
    /// Builds a matrix from row-major values; `None` marks an unreachable pair.
    ///
    /// # Errors
    /// [`MatrixError`] when the sizes do not match `n * n` or a value is negative or NaN.
    pub fn new(
        n: usize,
        durations: Vec<Option<f64>>,
        distances: Vec<Option<f64>>,
    ) -> Result<Self, MatrixError> {
        let convert = |values: Vec<Option<f64>>| -> Result<Vec<f64>, MatrixError> {
            if values.len() != n * n {
                return Err(MatrixError::WrongSize {
                    n,
                    got: values.len(),
                });
            }
            values
                .into_iter()
                .enumerate()
                .map(|(k, v)| match v {
                    None => Ok(f64::INFINITY),
                    Some(x) if x.is_finite() && x >= 0.0 => Ok(x),
                    Some(x) => Err(MatrixError::InvalidValue {
                        from: k / n,
                        to: k % n,
                        value: x,
                    }),
                })
                .collect()
        };
        let durations = convert(durations)?;
        let distances = convert(distances)?;
        Ok(Self {
            n,
            durations,
            distances,
        })
    }

    /// A matrix where duration and distance are both the Euclidean distance between planar
    /// points (the convention of the Li & Lim and Cordeau benchmark instances).
    #[must_use]
    pub fn euclidean(points: &[(f64, f64)]) -> Self {
        let n = points.len();
        let mut d = Vec::with_capacity(n * n);
        for a in points {
            for b in points {
                d.push(((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt());
            }
        }
        Self {
            n,
            durations: d.clone(),
            distances: d,
        }
    }

    /// Number of locations.
    #[must_use]
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when the matrix has no locations.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Travel duration in seconds; [`f64::INFINITY`] when unreachable.
    #[inline]
    #[must_use]
    pub fn duration(&self, from: usize, to: usize) -> f64 {
        self.durations[from * self.n + to]
    }

    /// Travel distance in metres; [`f64::INFINITY`] when unreachable.
    #[inline]
    #[must_use]
    pub fn distance(&self, from: usize, to: usize) -> f64 {
        self.distances[from * self.n + to]
    }

    /// Whether `to` can be reached from `from`.
    #[must_use]
    pub fn reachable(&self, from: usize, to: usize) -> bool {
        self.duration(from, to).is_finite()
    }

    /// All `(from, to)` pairs with no route.
    #[must_use]
    pub fn unreachable_pairs(&self) -> Vec<(usize, usize)> {
        (0..self.n * self.n)
            .filter(|&k| !self.durations[k].is_finite())
            .map(|k| (k / self.n, k % self.n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_negative_duration_is_rejected() {
        let err = Matrix::new(1, vec![Some(-1.0)], vec![Some(0.0)]).unwrap_err();
        assert_eq!(
            err,
            MatrixError::InvalidValue {
                from: 0,
                to: 0,
                value: -1.0
            }
        );
    }

    #[test]
    fn unreachable_pairs_are_listed_and_infinite() {
        let m = Matrix::new(
            2,
            vec![Some(0.0), None, Some(3.0), Some(0.0)],
            vec![Some(0.0); 4],
        )
        .unwrap();
        assert_eq!(m.unreachable_pairs(), vec![(0, 1)]);
        assert!(!m.reachable(0, 1));
        assert_eq!(m.duration(1, 0), 3.0);
    }

    #[test]
    fn a_wrong_size_is_rejected() {
        assert_eq!(
            Matrix::new(2, vec![Some(0.0)], vec![Some(0.0)]).unwrap_err(),
            MatrixError::WrongSize { n: 2, got: 1 }
        );
    }
}
