//! Sizes and durations printed the way the docker CLI prints them (Go's `go-units`).

/// Decimal size with 3 significant digits, as `docker images` and `docker ps -s` print it
/// (`4.26MB`, `0B`, `1.2kB`).
pub fn human_size(bytes: f64) -> String {
    human_size_with_precision(bytes, 3)
}

/// Decimal size with `precision` significant digits (go-units `HumanSizeWithPrecision`).
pub fn human_size_with_precision(bytes: f64, precision: usize) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let (value, unit) = scale(bytes, 1000.0, &UNITS);
    format!("{}{}", format_g(value, precision), unit)
}

/// Binary size with 4 significant digits (go-units `BytesSize`), as `docker info` prints memory
/// (`23.54GiB`).
pub fn bytes_size(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let (value, unit) = scale(bytes, 1024.0, &UNITS);
    format!("{}{}", format_g(value, 4), unit)
}

fn scale<'a>(mut value: f64, base: f64, units: &[&'a str]) -> (f64, &'a str) {
    let mut i = 0;
    while value >= base && i + 1 < units.len() {
        value /= base;
        i += 1;
    }
    (value, units[i])
}

/// Go's `%.{p}g`: `p` significant digits, trailing zeros removed, no exponent for the magnitudes
/// sizes have here.
fn format_g(value: f64, precision: usize) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let digits_before = value.abs().log10().floor() as i64 + 1;
    let decimals = (precision as i64 - digits_before).max(0) as usize;
    let mut s = format!("{value:.decimals$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_owned();
    }
    s
}

/// "About a minute", "5 seconds", "2 hours" — go-units `HumanDuration`, used in `Status` and
/// `CREATED` columns.
#[allow(dead_code)] // for the container and image listings
pub fn human_duration(d: std::time::Duration) -> String {
    let seconds = d.as_secs();
    if seconds < 1 {
        return "Less than a second".to_owned();
    }
    if seconds == 1 {
        return "1 second".to_owned();
    }
    if seconds < 60 {
        return format!("{seconds} seconds");
    }
    let minutes = seconds / 60;
    if minutes == 1 {
        return "About a minute".to_owned();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    let hours = (seconds as f64 / 3600.0).round() as u64;
    if hours == 1 {
        return "About an hour".to_owned();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_go_units() {
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(human_size(4.0), "4B");
        assert_eq!(human_size(1_234.0), "1.23kB");
        assert_eq!(human_size(4_260_000.0), "4.26MB");
        assert_eq!(human_size(1_000_000.0), "1MB");
        assert_eq!(human_size_with_precision(1_983_000.0, 4), "1.983MB");
        assert_eq!(bytes_size(25_276_502_016.0), "23.54GiB");
        assert_eq!(bytes_size(1024.0), "1KiB");
    }

    #[test]
    fn durations_match_go_units() {
        use std::time::Duration;
        assert_eq!(human_duration(Duration::from_millis(300)), "Less than a second");
        assert_eq!(human_duration(Duration::from_secs(5)), "5 seconds");
        assert_eq!(human_duration(Duration::from_secs(61)), "About a minute");
        assert_eq!(human_duration(Duration::from_secs(4 * 60)), "4 minutes");
        assert_eq!(human_duration(Duration::from_secs(3600)), "About an hour");
        assert_eq!(human_duration(Duration::from_secs(5 * 3600)), "5 hours");
        assert_eq!(human_duration(Duration::from_secs(3 * 86400)), "3 days");
    }
}
