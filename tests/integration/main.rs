//! The one integration-test binary: every module drives a real Tessera over HTTP, on a fresh SQLite file,
//! or a fresh PostgreSQL database when `TEST_DATABASE_URL` is set.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test should fail loudly at the first surprise"
)]

mod support;

mod bad_input;
mod bearer;
mod cli;
mod health;
mod jwks;
mod login;
mod refresh;
mod signup;
