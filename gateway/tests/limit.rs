//! The per-token limit on its own: a token's minute, its reset, other tokens, the bounded table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use sebaya_push_gateway::limit::{Limiter, Refused, WINDOW};

#[test]
fn a_token_gets_its_count_per_window_and_then_waits_for_the_window_to_end() {
    let l = Limiter::new(2);
    let t0 = Instant::now();
    assert_eq!(l.check("a", t0), Ok(()));
    assert_eq!(l.check("a", t0 + Duration::from_secs(10)), Ok(()));
    assert_eq!(
        l.check("a", t0 + Duration::from_secs(15)),
        Err(Refused::OverLimit(WINDOW - Duration::from_secs(15)))
    );
    assert_eq!(l.check("b", t0 + Duration::from_secs(15)), Ok(()));
    assert_eq!(l.check("a", t0 + WINDOW), Ok(()));
}

#[test]
fn zero_is_no_limit() {
    let l = Limiter::new(0);
    let t0 = Instant::now();
    for _ in 0..1000 {
        assert_eq!(l.check("a", t0), Ok(()));
    }
}

#[test]
fn a_full_table_drops_ended_windows_and_otherwise_refuses_new_tokens() {
    let l = Limiter::with_capacity(5, 2);
    let t0 = Instant::now();
    assert_eq!(l.check("a", t0), Ok(()));
    assert_eq!(l.check("b", t0), Ok(()));
    // Full, and both windows still running: a third token is refused, and the refusal says the
    // table is full, not that the token is over its limit (review G8: the one is gateway-wide, the
    // other about one phone); the two go on.
    assert_eq!(
        l.check("c", t0 + Duration::from_secs(1)),
        Err(Refused::Full)
    );
    assert_eq!(l.check("a", t0 + Duration::from_secs(1)), Ok(()));
    // Once their windows end, room is made.
    assert_eq!(l.check("c", t0 + WINDOW), Ok(()));
}
