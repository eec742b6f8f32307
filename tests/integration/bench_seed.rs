//! `tessera bench seed`: rows for measurements, written straight to the database, usable through the API.

use std::io::Write;
use std::process::Stdio;

use reqwest::StatusCode;

use crate::cli::{stdout, tessera};
use crate::support::{PASSWORD, TestApp};

/// Runs `tessera bench seed ARGS…` with the accounts' password on standard input.
fn seed(app: &TestApp, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut child = tessera(dir, &app.database.url)
        .args(["bench", "seed", "--password-stdin"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn seeded_accounts_sign_in_and_a_taken_prefix_is_refused_whole() {
    let app = TestApp::spawn().await;
    let dir = tempfile::tempdir().unwrap();
    // More than one statement's rows (1,000), in one batch.
    let seeded = stdout(&seed(&app, dir.path(), &["--accounts", "1200"]));
    assert!(seeded.contains("seeded 1200 accounts"), "{seeded}");
    for login in ["seed1", "seed1200", "seed600@seed.invalid"] {
        let tokens = app.login(login, PASSWORD).await;
        assert_eq!(app.refresh_raw(&tokens.refresh).await.status(), StatusCode::OK);
    }
    assert_eq!(
        app.login_raw("seed1201", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // The same names again: refused with a reason, and the batch leaves nothing half-written.
    let again = seed(&app, dir.path(), &["--accounts", "5", "--prefix", "seed"]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("prefix"), "{again:?}");
    let bad = seed(&app, dir.path(), &["--accounts", "5", "--prefix", "no spaces"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--prefix"), "{bad:?}");
    let other = stdout(&seed(&app, dir.path(), &["--accounts", "3", "--prefix", "extra-"]));
    assert!(other.contains("(1201 accounts were there before)"), "{other}");
    app.login("extra-3", PASSWORD).await;
    app.login("seed5", PASSWORD).await;
}
