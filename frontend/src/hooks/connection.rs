//! The state of any connection the app holds (health poll, SSE, WebSocket),
//! and how the status indicator shows it.

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Nothing to connect for right now (a stream that has not started or
    /// has finished).
    Idle,
    /// First attempt under way.
    Connecting,
    /// Connected and answering.
    Open,
    /// Lost; the next attempt starts in `in_secs` seconds.
    Reconnecting { in_secs: u32 },
    /// Lost, and no more attempts will be made on their own.
    Closed,
}

impl ConnState {
    /// The word shown next to the dot.
    pub fn label(self) -> String {
        match self {
            Self::Idle => "Idle".into(),
            Self::Connecting => "Connecting…".into(),
            Self::Open => "Online".into(),
            Self::Reconnecting { in_secs: 0 } => "Reconnecting…".into(),
            Self::Reconnecting { in_secs } => format!("Reconnecting in {in_secs} s"),
            Self::Closed => "Offline".into(),
        }
    }

    /// A stable key for tests and styling (`data-state`).
    pub fn key(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Connecting => "connecting",
            Self::Open => "open",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Closed => "closed",
        }
    }

    /// The dot's colour class: `ok`, `warn`, `bad` or `idle` (grey).
    pub fn tone(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Open => "ok",
            Self::Connecting | Self::Reconnecting { .. } => "warn",
            Self::Closed => "bad",
        }
    }
}

/// Exponential backoff with a ceiling: 1 s, 2 s, 4 s … `max_secs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    /// Failures in a row since the last success.
    pub failures: u32,
    /// The longest wait between attempts.
    pub max_secs: u32,
}

impl Backoff {
    pub fn new(max_secs: u32) -> Self {
        Self {
            failures: 0,
            max_secs,
        }
    }

    /// Records a failure and returns the wait before the next attempt.
    pub fn fail(&mut self) -> u32 {
        let wait = 1u32
            .checked_shl(self.failures)
            .unwrap_or(u32::MAX)
            .min(self.max_secs);
        self.failures = self.failures.saturating_add(1);
        wait
    }

    /// Records a success: the next failure waits 1 s again.
    pub fn succeed(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_say_what_is_happening() {
        assert_eq!(ConnState::Open.label(), "Online");
        assert_eq!(
            ConnState::Reconnecting { in_secs: 4 }.label(),
            "Reconnecting in 4 s"
        );
        assert_eq!(ConnState::Closed.tone(), "bad");
        assert_eq!(ConnState::Connecting.key(), "connecting");
        assert_eq!(ConnState::Idle.tone(), "idle");
    }

    #[test]
    fn backoff_doubles_up_to_its_ceiling_and_resets() {
        let mut b = Backoff::new(30);
        let waits: Vec<u32> = (0..7).map(|_| b.fail()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        b.succeed();
        assert_eq!(b.fail(), 1);
        let mut b = Backoff::new(30);
        b.failures = 40;
        assert_eq!(b.fail(), 30, "no overflow after many failures");
    }
}
