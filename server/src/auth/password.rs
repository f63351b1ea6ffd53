//! Password hashing with argon2id, off the async threads, a bounded number
//! at a time.
//!
//! Each hash takes ~19 MiB and a core for tens of milliseconds, on purpose.
//! Unbounded, a thousand parallel logins took a thousand blocking threads
//! and a gigabyte, and starved every other request of CPU. Hashes queue for
//! one of [`permits`] places (one less than the cores, so one core stays
//! with the async workers) and run on the blocking pool.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// How many hashes may run at once: the cores less one, at least one.
pub(crate) fn permits() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_sub(1)
        .max(1)
}

/// Runs `work` on the blocking pool once a hashing place is free.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    static PLACES: OnceLock<Semaphore> = OnceLock::new();
    let places = PLACES.get_or_init(|| Semaphore::new(permits()));
    let _place = places.acquire().await.ok()?;
    let _running = running::enter();
    tokio::task::spawn_blocking(work).await.ok()
}

/// The PHC string of `password` (argon2id, default parameters).
pub(crate) async fn hash(password: String) -> Result<String, String> {
    bounded(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| e.to_string())
    })
    .await
    .ok_or_else(|| "the hashing task failed".to_owned())?
}

/// Whether `password` matches `phc`. With `None` (no such user) it checks
/// against a dummy hash, so unknown users take as long as wrong passwords.
pub(crate) async fn verify(password: String, phc: Option<String>) -> bool {
    let known = phc.is_some();
    let phc = phc.unwrap_or_else(|| dummy_hash().to_owned());
    let ok = bounded(move || {
        PasswordHash::new(&phc)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false);
    known && ok
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(uuid::Uuid::new_v4().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// How many hashes run at this moment, and the most seen (for the test of
/// the bound).
mod running {
    use std::sync::atomic::{AtomicUsize, Ordering};

    static NOW: AtomicUsize = AtomicUsize::new(0);
    pub(super) static PEAK: AtomicUsize = AtomicUsize::new(0);

    pub(super) struct Guard;

    pub(super) fn enter() -> Guard {
        let n = NOW.fetch_add(1, Ordering::SeqCst) + 1;
        PEAK.fetch_max(n, Ordering::SeqCst);
        Guard
    }

    impl Drop for Guard {
        fn drop(&mut self) {
            NOW.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_places() {
        let all: Vec<_> = (0..12)
            .map(|i| tokio::spawn(super::verify(format!("guess {i}"), None)))
            .collect();
        for h in all {
            assert!(!h.await.unwrap());
        }
        let peak = super::running::PEAK.load(std::sync::atomic::Ordering::SeqCst);
        assert!(peak >= 1 && peak <= super::permits(), "{peak} at once");
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let h = super::hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(super::verify("correct horse".into(), Some(h.clone())).await);
        assert!(!super::verify("wrong horse".into(), Some(h)).await);
        assert!(!super::verify("anything".into(), None).await);
    }
}
