//! Wall-clock timestamps as the seeds write them: RFC 3339 in UTC with
//! milliseconds (`2024-11-12T10:00:00.123Z`).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Now, as an RFC 3339 UTC string.
pub(crate) fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_millisecond(now.millisecond()).unwrap_or(now);
    now.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_parse_back_as_rfc3339() {
        let t = super::now_rfc3339();
        assert!(t.ends_with('Z'), "{t}");
        time::OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).unwrap();
    }
}
