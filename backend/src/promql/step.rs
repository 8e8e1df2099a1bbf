//! The step Grafana's Prometheus datasource would use for a range query: the range split into
//! max data points, rounded to a "nice" interval, at least the min step. Pure.

use std::time::Duration;

/// Grafana's step rule: the range split into `max_data_points` and rounded to a "nice" interval,
/// at least `min_step`, and never more than 11,000 points (Prometheus's limit).
pub fn calculate_step(range: Duration, max_data_points: i64, min_step: Duration) -> Duration {
    let points = if max_data_points > 0 { max_data_points as u128 } else { 100 };
    let calculated = round_interval(Duration::from_millis((range.as_millis() / points) as u64)).max(min_step);
    let safe = round_interval(Duration::from_millis((range.as_millis() / 11_000) as u64));
    calculated.max(safe).max(Duration::from_millis(1))
}

/// Rounds an interval to the nearest "nice" value, as Grafana's interval calculator does.
fn round_interval(interval: Duration) -> Duration {
    const TABLE: &[(u64, u64)] = &[
        (10, 1),
        (15, 10),
        (35, 20),
        (75, 50),
        (150, 100),
        (350, 200),
        (750, 500),
        (1_500, 1_000),
        (3_500, 2_000),
        (7_500, 5_000),
        (12_500, 10_000),
        (17_500, 15_000),
        (25_000, 20_000),
        (45_000, 30_000),
        (90_000, 60_000),
        (210_000, 120_000),
        (450_000, 300_000),
        (750_000, 600_000),
        (1_050_000, 900_000),
        (1_500_000, 1_200_000),
        (2_700_000, 1_800_000),
        (5_400_000, 3_600_000),
        (9_000_000, 7_200_000),
        (16_200_000, 10_800_000),
        (32_400_000, 21_600_000),
        (86_400_000, 43_200_000),
        (604_800_000, 86_400_000),
        (1_814_400_000, 604_800_000),
        (3_628_800_000, 2_592_000_000),
    ];
    let ms = interval.as_millis() as u64;
    let rounded = TABLE.iter().find(|(upper, _)| ms <= *upper).map_or(31_536_000_000, |(_, nice)| *nice);
    Duration::from_millis(rounded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_follows_grafanas_rule() {
        let s = Duration::from_secs;
        // 1h / 1000 points = 3.6s -> 2s, raised to the 15s scrape interval.
        assert_eq!(calculate_step(s(3600), 1000, s(15)), s(15));
        // 7d / 1000 points = 604.8s -> 10m.
        assert_eq!(calculate_step(s(7 * 86_400), 1000, s(15)), s(600));
        // 1y never exceeds 11,000 points: 31,536,000 / 11,000 = 2,867s -> 1h.
        assert_eq!(calculate_step(s(365 * 86_400), 1_000_000, s(1)), s(3600));
        // No max data points given: Grafana's default of 100.
        assert_eq!(calculate_step(s(3600), 0, s(1)), s(30));
    }
}
