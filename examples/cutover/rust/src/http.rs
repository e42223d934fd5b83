//! A small HTTP/1.1 server: a thread per connection, keep-alive,
//! Content-Length framing only (a chunked request gets 411).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 100;
const MAX_BODY: usize = 1024 * 1024;
const IDLE: Duration = Duration::from_secs(60);

pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub struct Response {
    pub status: u16,
    pub body: String,
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        _ => "Error",
    }
}

/// Accept connections forever, each served on its own thread.
pub fn serve<F>(listener: TcpListener, handler: F)
where
    F: Fn(&Request) -> Response + Send + Sync + 'static,
{
    let handler = std::sync::Arc::new(handler);
    for conn in listener.incoming() {
        match conn {
            Ok(stream) => {
                let h = handler.clone();
                thread::spawn(move || {
                    let _ = connection(stream, &*h);
                });
            }
            Err(e) => eprintln!("gateway: accept: {}", e),
        }
    }
}

/// Serve the requests of one connection until it closes.
fn connection(stream: TcpStream, handler: &dyn Fn(&Request) -> Response) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE))?;
    stream.set_nodelay(true)?;
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    loop {
        let (req, keep) = match read_request(&mut input) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(()),
            Err((status, msg)) => {
                let body = crate::json::obj(vec![("error", crate::json::string(&msg))]).to_json();
                write_response(&mut out, &Response { status, body }, false)?;
                return Ok(());
            }
        };
        let resp = handler(&req);
        write_response(&mut out, &resp, keep)?;
        if !keep {
            return Ok(());
        }
    }
}

fn write_response(out: &mut TcpStream, resp: &Response, keep: bool) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        resp.status,
        reason(resp.status),
        resp.body.len()
    );
    if !keep {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(resp.body.as_bytes());
    out.write_all(&bytes)?;
    out.flush()
}

/// Read one line ending in CRLF (or LF), bounded by what is left of the
/// head's budget.
fn read_line(input: &mut BufReader<TcpStream>, budget: &mut usize) -> Result<Option<String>, (u16, String)> {
    let mut line = Vec::new();
    let n = input
        .by_ref()
        .take(*budget as u64 + 1)
        .read_until(b'\n', &mut line)
        .map_err(|_| (400, "read error".to_string()))?;
    if n == 0 {
        return Ok(None);
    }
    if n > *budget || line.last() != Some(&b'\n') {
        return Err((400, "request head too large or cut".to_string()));
    }
    *budget -= n;
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    String::from_utf8(line)
        .map(Some)
        .map_err(|_| (400, "request head is not UTF-8".to_string()))
}

/// Read one request; None at a clean end of the connection.  The bool
/// says whether the connection stays open after the response.
fn read_request(input: &mut BufReader<TcpStream>) -> Result<Option<(Request, bool)>, (u16, String)> {
    let mut budget = MAX_HEAD;
    let line = match read_line(input, &mut budget)? {
        None => return Ok(None),
        Some(l) => l,
    };
    let parts: Vec<&str> = line.split(' ').collect();
    if parts.len() != 3 || !parts[2].starts_with("HTTP/1.") {
        return Err((400, "bad request line".to_string()));
    }
    let (method, target, version) = (parts[0].to_string(), parts[1], parts[2]);
    let path = target.split('?').next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let l = read_line(input, &mut budget)?.ok_or((400, "request head cut".to_string()))?;
        if l.is_empty() {
            break;
        }
        let colon = l.find(':').ok_or((400, "header without ':'".to_string()))?;
        let name = &l[..colon];
        if name.is_empty() || name.ends_with(' ') || name.ends_with('\t') {
            return Err((400, "bad header name".to_string()));
        }
        headers.push((name.to_string(), l[colon + 1..].trim().to_string()));
        if headers.len() > MAX_HEADERS {
            return Err((400, "too many headers".to_string()));
        }
    }
    let mut req = Request { method, path, headers, body: Vec::new() };
    if req.header("Transfer-Encoding").is_some() {
        return Err((411, "send a Content-Length".to_string()));
    }
    let lens: Vec<&str> = req
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        .map(|(_, v)| v.as_str())
        .collect();
    if lens.len() > 1 {
        return Err((400, "more than one Content-Length".to_string()));
    }
    if let Some(v) = lens.first() {
        let n: usize = v.parse().map_err(|_| (400, "bad Content-Length".to_string()))?;
        if n > MAX_BODY {
            return Err((413, "body too large".to_string()));
        }
        req.body = vec![0; n];
        input
            .read_exact(&mut req.body)
            .map_err(|_| (400, "body cut".to_string()))?;
    }
    let conn = req.header("Connection").unwrap_or("").to_ascii_lowercase();
    let keep = if version == "HTTP/1.0" {
        conn.contains("keep-alive")
    } else {
        !conn.contains("close")
    };
    Ok(Some((req, keep)))
}
