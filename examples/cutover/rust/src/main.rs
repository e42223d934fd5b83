//! gateway: the primary of the cutover demo, the service in production.
//!
//!     gateway [--listen ADDR:PORT] [--port-file FILE] [--trace-header NAME]
//!
//! Listens on ADDR:PORT [127.0.0.1:0]; with port 0 the kernel picks a free
//! port.  The port is written to FILE (whole, by rename) once listening.

mod api;
mod http;
mod json;

use std::env;
use std::fs;
use std::net::TcpListener;
use std::process;

fn usage() -> ! {
    eprintln!("usage: gateway [--listen ADDR:PORT] [--port-file FILE] [--trace-header NAME]");
    process::exit(2);
}

fn main() {
    let mut listen = env::var("GATEWAY_LISTEN").unwrap_or_else(|_| "127.0.0.1:0".to_string());
    let mut port_file: Option<String> = None;
    let mut trace_header = "X-Trace-Id".to_string();
    let mut args = env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--listen" => listen = value(),
            "--port-file" => port_file = Some(value()),
            "--trace-header" => trace_header = value(),
            "-h" | "--help" => usage(),
            _ => {
                eprintln!("gateway: unknown argument '{}'", a);
                usage();
            }
        }
    }
    let listener = match TcpListener::bind(&listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("gateway: cannot listen on {}: {}", listen, e);
            process::exit(3);
        }
    };
    let addr = listener.local_addr().expect("local address");
    if let Some(f) = port_file {
        let tmp = format!("{}.tmp", f);
        if let Err(e) = fs::write(&tmp, format!("{}\n", addr.port())).and_then(|_| fs::rename(&tmp, &f)) {
            eprintln!("gateway: cannot write {}: {}", f, e);
            process::exit(3);
        }
    }
    eprintln!("gateway: listening on {}", addr);
    let api = api::Api { trace_header };
    http::serve(listener, move |req| api.handle(req));
}
