//! Percentiles and counts for the report.

use std::collections::BTreeMap;
use std::time::Duration;

pub struct Summary {
    pub count: usize,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// Milliseconds at the 50th, 90th and 99th percentile and the maximum.
pub fn summary(times: &[Duration]) -> Option<Summary> {
    if times.is_empty() {
        return None;
    }
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Some(Summary {
        count: ms.len(),
        p50: at(0.5),
        p90: at(0.9),
        p99: at(0.99),
        max: ms[ms.len() - 1],
    })
}

pub fn line(name: &str, times: &[Duration]) -> String {
    match summary(times) {
        Some(s) => format!(
            "  {name:<20} {:>7}  p50 {:>8.1} ms  p90 {:>8.1} ms  p99 {:>8.1} ms  max {:>8.1} ms",
            s.count, s.p50, s.p90, s.p99, s.max
        ),
        None => format!("  {name:<20} {:>7}", 0),
    }
}

/// Errors counted by kind.
pub fn by_kind<'a>(errors: impl Iterator<Item = &'a String>) -> BTreeMap<&'a str, usize> {
    let mut kinds = BTreeMap::new();
    for e in errors {
        *kinds.entry(e.as_str()).or_default() += 1;
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_list() {
        let times: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = summary(&times).unwrap();
        assert_eq!(
            (s.count, s.p50.round(), s.p99, s.max),
            (100, 51.0, 99.0, 100.0)
        );
        assert!(summary(&[]).is_none());
    }
}
