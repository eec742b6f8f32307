//! Clients that stall: a request head trickled in is cut off after `server.header_timeout_secs` (408, closed)
//! while other clients are served; an idle keep-alive connection closes after `server.keep_alive_secs`.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestApp;

fn address(app: &TestApp) -> String {
    app.url("").trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection, for at most `limit`.
async fn until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut answer = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut answer))
        .await
        .ok()
        .map(|_| String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_while_others_are_served() {
    let app = TestApp::spawn_with(|config| config.server.header_timeout_secs = 1).await;
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(address(&app)).await.unwrap();
        stream
            .write_all(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        stalled.push(stream);
    }
    let response = app.client.get(app.url("/health/live")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "served while twenty clients stall");
    for mut stream in stalled {
        let answer = until_closed(&mut stream, Duration::from_secs(3))
            .await
            .expect("the server closes a stalled connection");
        assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let app = TestApp::spawn_with(|config| config.server.keep_alive_secs = 1).await;
    let mut stream = TcpStream::connect(address(&app)).await.unwrap();
    stream
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let answer = until_closed(&mut stream, Duration::from_secs(3))
        .await
        .expect("the idle connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
