//! A minimal blocking HTTP/1.1 client for Haema's own tools (`tui`, `bench --server`): one GET,
//! one connection, no redirects, no TLS. Only the server a user names is contacted.

use std::io::{Read, Write};
use std::time::Duration;

/// GETs `path` from `server` (`host:port`, with or without `http://`); returns the status code
/// and the body.
pub fn get(server: &str, path: &str, token: Option<&str>) -> Result<(u16, Vec<u8>), String> {
    let host = server.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(host).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP response")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("no HTTP status")?;
    Ok((code, raw[split + 4..].to_vec()))
}
