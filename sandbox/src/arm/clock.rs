//! Wall-clock time in milliseconds and RFC 3339 rendering.
//!
//! Operation progress is computed from timestamps stored in the world, never from
//! in-memory timers, so a world saved by one process continues in the next one.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Scales a real-Azure duration (seconds) into sandbox milliseconds.
pub fn scaled_ms(real_seconds: f64, time_scale: f64) -> u64 {
    if time_scale <= 0.0 || real_seconds <= 0.0 {
        return 0;
    }
    (real_seconds * 1000.0 * time_scale).round() as u64
}

/// `Retry-After` seconds for a poll: what Azure would say (`real_seconds`) scaled, at least
/// one second while anything is still running (the header is whole seconds), zero when time
/// is instant.
pub fn retry_after_secs(real_seconds: f64, time_scale: f64) -> u64 {
    if time_scale <= 0.0 {
        return 0;
    }
    (real_seconds * time_scale).ceil().max(1.0) as u64
}

/// `2024-05-01T12:34:56.789Z`.
pub fn rfc3339(ms: u64) -> String {
    let secs = ms / 1000;
    let millis = ms % 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// `7/25/2023 9:02:11 AM`: how ARM's messages write a UTC time (.NET's invariant format).
pub fn dotnet_utc(ms: u64) -> String {
    let secs = ms / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let (h, min, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let (h12, half) = match h {
        0 => (12, "AM"),
        1..=11 => (h, "AM"),
        12 => (12, "PM"),
        _ => (h - 12, "PM"),
    };
    format!("{m}/{d}/{y} {h12}:{min:02}:{s:02} {half}")
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_709_251_200_123), "2024-03-01T00:00:00.123Z");
    }

    #[test]
    fn renders_arm_message_times() {
        assert_eq!(dotnet_utc(0), "1/1/1970 12:00:00 AM");
        assert_eq!(dotnet_utc(1_690_275_731_000), "7/25/2023 9:02:11 AM");
        assert_eq!(dotnet_utc(1_690_318_931_000), "7/25/2023 9:02:11 PM");
    }

    #[test]
    fn scale_zero_is_instant() {
        assert_eq!(scaled_ms(1200.0, 0.0), 0);
        assert_eq!(scaled_ms(1200.0, 0.002), 2400);
        assert_eq!(retry_after_secs(10.0, 0.0), 0);
        assert_eq!(retry_after_secs(10.0, 0.002), 1);
    }
}
