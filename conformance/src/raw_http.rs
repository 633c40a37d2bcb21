//! A blocking HTTP/1.1 client over a plain TCP stream, for replaying a client's requests byte for
//! byte — including the `Expect: 100-continue` handshake (headers first, body only after the
//! server's `100 Continue`), which common Rust HTTP clients do not perform.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One request as it goes on the wire. `target` is the encoded path plus query string.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send `Expect: 100-continue` and hold the body back until the server says `100 Continue`.
    pub expect_continue: bool,
}

/// The server's final answer.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether an interim `100 Continue` arrived before the final response.
    pub got_continue: bool,
}

impl RawResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) text, for XML answers and error messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `req` to `host` (`ip:port`) on a fresh connection and reads the final response.
pub fn send(host: &str, req: &RawRequest) -> std::io::Result<RawResponse> {
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut got_continue = false;
    if req.expect_continue && !req.body.is_empty() {
        let (status, headers) = read_head(&mut reader)?;
        if status != 100 {
            // A final answer before the body (e.g. 403, 412): the body is never sent.
            let body = read_body(&mut reader, &req.method, status, &headers)?;
            return Ok(RawResponse {
                status,
                headers,
                body,
                got_continue,
            });
        }
        got_continue = true;
    }
    stream.write_all(&req.body)?;
    stream.flush()?;
    let (status, headers) = loop {
        let (status, headers) = read_head(&mut reader)?;
        if status != 100 {
            break (status, headers);
        }
        got_continue = true;
    };
    let body = read_body(&mut reader, &req.method, status, &headers)?;
    Ok(RawResponse {
        status,
        headers,
        body,
        got_continue,
    })
}

fn invalid(msg: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, msg)
}

fn read_head(reader: &mut impl BufRead) -> std::io::Result<(u16, Vec<(String, String)>)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(invalid("connection closed inside the response head".into()));
        }
        let line = line.trim_end();
        if line.is_empty() {
            return Ok((status, headers));
        }
        let (k, v) = line.split_once(':').ok_or_else(|| invalid(format!("bad header {line:?}")))?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
}

fn read_body(reader: &mut impl BufRead, method: &str, status: u16, headers: &[(String, String)]) -> std::io::Result<Vec<u8>> {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    if method == "HEAD" || status == 204 || status == 304 {
        return Ok(Vec::new());
    }
    if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| invalid(format!("bad chunk size {size:?}")))?;
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            if n == 0 {
                return Ok(body);
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    match get("content-length") {
        Some(len) => {
            let len: usize = len.parse().map_err(|_| invalid(format!("bad content-length {len:?}")))?;
            let mut body = vec![0; len];
            reader.read_exact(&mut body)?;
            Ok(body)
        }
        None => {
            let mut body = Vec::new();
            reader.read_to_end(&mut body)?;
            Ok(body)
        }
    }
}
