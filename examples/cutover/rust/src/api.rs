//! The API: POST /v1/validate, POST /v1/iterate, GET /v1/evidence/{source}.
//! This is the production contract the Go rewrite must keep: errors are
//! externally tagged enums, provenance rows always carry line_offset,
//! session ids come from the trace header (a minted id when it is absent).

use crate::http::{Request, Response};
use crate::json::{self, int, obj, string, Value};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{SystemTime, UNIX_EPOCH};

/// The validator's errors, serialized as serde does by default for an
/// enum: externally tagged, {"Schema":{"field":..,"reason":..}}.
pub enum ValidationError {
    Schema { field: String, reason: String },
    Completeness { reason: String },
    Consistency { reason: String },
    Policy { reason: String },
}

impl ValidationError {
    fn to_value(&self) -> Value {
        let (tag, fields) = match self {
            ValidationError::Schema { field, reason } => {
                ("Schema", obj(vec![("field", string(field)), ("reason", string(reason))]))
            }
            ValidationError::Completeness { reason } => ("Completeness", obj(vec![("reason", string(reason))])),
            ValidationError::Consistency { reason } => ("Consistency", obj(vec![("reason", string(reason))])),
            ValidationError::Policy { reason } => ("Policy", obj(vec![("reason", string(reason))])),
        };
        obj(vec![(tag, fields)])
    }
}

/// The probe documents the parity probe sends by name ({"case":NAME}):
/// each fails one check, the last passes them all.
const PROBE_CASES: &[(&str, &str)] = &[
    ("schema_field", r#"{"answer":"The outage began at 09:12 UTC.","confidence":0.92,"claims":[{"text":"The outage began at 09:12 UTC.","cites":[0]}]}"#),
    ("schema_type", r#"{"answer":"The outage began at 09:12 UTC.","evidence":[{"text":"Pager fired at 09:12 UTC.","stance":"supports"}],"claims":[{"text":"The outage began at 09:12 UTC.","cites":[0]}],"confidence":"high"}"#),
    ("completeness", r#"{"answer":"The outage began at 09:12 UTC and ended at 09:41 UTC.","evidence":[{"text":"Pager fired at 09:12 UTC.","stance":"supports"},{"text":"Rollback finished at 09:41 UTC.","stance":"supports"}],"claims":[{"text":"The outage began at 09:12 UTC.","cites":[0]},{"text":"It ended at 09:41 UTC.","cites":[]}],"confidence":0.8}"#),
    ("consistency", r#"{"answer":"The outage began at 09:12 UTC and no data was lost.","evidence":[{"text":"Pager fired at 09:12 UTC.","stance":"supports"},{"text":"312 orders were lost and replayed.","stance":"contradicts"}],"claims":[{"text":"The outage began at 09:12 UTC.","cites":[0]},{"text":"No data was lost.","cites":[1]}],"confidence":0.7}"#),
    ("policy", r#"{"answer":"The outage began at 09:12 UTC; write to ops-oncall@example.com for the postmortem.","evidence":[{"text":"Pager fired at 09:12 UTC.","stance":"supports"}],"claims":[{"text":"The outage began at 09:12 UTC.","cites":[0]}],"confidence":0.9}"#),
    ("valid", r#"{"answer":"The outage began at 09:12 UTC and ended at 09:41 UTC.","evidence":[{"text":"Pager fired at 09:12 UTC.","stance":"supports"},{"text":"Rollback finished at 09:41 UTC.","stance":"supports"}],"claims":[{"text":"The outage began at 09:12 UTC.","cites":[0]},{"text":"It ended at 09:41 UTC.","cites":[1]}],"confidence":0.95}"#),
];

/// Sessions the iterate endpoint replays, by fixture name: model, prompt,
/// outcome, iterations, grounded, error, latency_ms (max_iter is 3).
struct Session {
    fixture: &'static str,
    model: &'static str,
    prompt: &'static str,
    outcome: &'static str,
    iterations: u64,
    grounded: bool,
    error: Option<&'static str>,
    latency_ms: u64,
}

const MAX_ITER: u64 = 3;

const SESSIONS: &[Session] = &[
    Session { fixture: "accepted_grounded", model: "qwen2.5:latest", prompt: "Summarize the Q3 incident report and cite the evidence rows.", outcome: "accepted", iterations: 1, grounded: true, error: None, latency_ms: 1840 },
    Session { fixture: "max_iter_exhausted", model: "qwen2.5:latest", prompt: "Explain, in prose, why the nightly backfill was slow.", outcome: "max_iter_exhausted", iterations: 3, grounded: false, error: Some("no_json"), latency_ms: 9212 },
    Session { fixture: "infra_error", model: "qwen2.5:latest", prompt: "List the open incidents by severity.", outcome: "infra_error", iterations: 0, grounded: false, error: Some("chatd cold-start probe timed out after 5s"), latency_ms: 5003 },
    Session { fixture: "unicode_in_prompt", model: "qwen2.5:latest", prompt: "Résumé des données — 日本語のテスト ✓ 🚀", outcome: "accepted", iterations: 1, grounded: true, error: None, latency_ms: 2271 },
];

/// The knowledge base the evidence endpoint materializes: source name,
/// file, and its rows in file order (row i is line_offset i).
const KB: &[(&str, &str, &[&str])] = &[
    ("incidents-q3", "kb/incidents-q3.jsonl", &[
        "Pager fired at 09:12 UTC; checkout p99 latency above 4 s.",
        "Rollback of build 7731 finished at 09:41 UTC.",
        "Root cause: the connection pool ran dry after the Müller migration — 東京 first.",
    ]),
    ("runbooks", "kb/runbooks.jsonl", &[
        "Drain the canary before rolling back.",
        "Page the owning team's on-call; « no silent rollbacks ».",
    ]),
];

pub struct Api {
    pub trace_header: String,
}

fn error(status: u16, msg: &str) -> Response {
    Response { status, body: obj(vec![("error", string(msg))]).to_json() }
}

impl Api {
    pub fn handle(&self, req: &Request) -> Response {
        let path = req.path.as_str();
        if path == "/v1/validate" || path == "/v1/iterate" {
            if req.method != "POST" {
                return error(405, "method not allowed");
            }
            let body = match json::parse(&req.body) {
                Ok(v @ Value::Object(_)) => v,
                Ok(_) => return error(400, "request body is not a JSON object"),
                Err(_) => return error(400, "request body is not valid JSON"),
            };
            return if path == "/v1/validate" { validate_request(&body) } else { self.iterate(req, &body) };
        }
        if let Some(source) = path.strip_prefix("/v1/evidence/") {
            if req.method != "GET" {
                return error(405, "method not allowed");
            }
            return evidence(source);
        }
        error(404, "not found")
    }

    /// The session id: the trace header's id when it is a plausible one,
    /// else a minted time-ordered id, so every row correlates.
    fn session_id(&self, req: &Request) -> String {
        match req.header(&self.trace_header) {
            Some(v) if !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()) => v.to_string(),
            _ => mint_id(),
        }
    }

    fn iterate(&self, req: &Request, body: &Value) -> Response {
        let name = match body.get("fixture").and_then(Value::as_str) {
            Some(n) => n,
            None => return error(400, "fixture: required field missing"),
        };
        let s = match SESSIONS.iter().find(|s| s.fixture == name) {
            Some(s) => s,
            None => return error(404, "no such fixture"),
        };
        let prompt = body.get("prompt").and_then(Value::as_str).unwrap_or(s.prompt);
        let row = obj(vec![
            ("timestamp", string(&now_rfc3339())),
            ("daemon", string("gateway")),
            ("session_id", string(&self.session_id(req))),
            ("fixture", string(s.fixture)),
            ("model", string(s.model)),
            ("prompt", string(prompt)),
            ("outcome", string(s.outcome)),
            ("iterations", int(s.iterations)),
            ("max_iter", int(MAX_ITER)),
            ("grounded", Value::Bool(s.grounded)),
            ("error", s.error.map(string).unwrap_or(Value::Null)),
            ("latency_ms", int(s.latency_ms)),
        ]);
        Response { status: 200, body: row.to_json() }
    }
}

fn validate_request(body: &Value) -> Response {
    let doc;
    let doc_ref = match body.get("case") {
        Some(Value::String(name)) => match PROBE_CASES.iter().find(|(n, _)| n == name) {
            Some((_, text)) => {
                doc = json::parse(text.as_bytes()).expect("probe documents are valid JSON");
                &doc
            }
            None => return error(404, "no such case"),
        },
        _ => body,
    };
    match validate(doc_ref) {
        Ok(()) => {
            let checks = ["schema", "completeness", "consistency", "policy"];
            let v = obj(vec![
                ("valid", Value::Bool(true)),
                ("checks", Value::Array(checks.iter().map(|c| string(c)).collect())),
            ]);
            Response { status: 200, body: v.to_json() }
        }
        Err(e) => Response { status: 422, body: e.to_value().to_json() },
    }
}

/// Check a document: its schema, that every claim cites evidence, that no
/// cited evidence contradicts the answer, and the output policy.
fn validate(doc: &Value) -> Result<(), ValidationError> {
    for (field, want) in [("answer", "string"), ("evidence", "array"), ("claims", "array"), ("confidence", "number")] {
        match doc.get(field) {
            None => {
                return Err(ValidationError::Schema { field: field.to_string(), reason: "required field missing".to_string() })
            }
            Some(v) if v.type_name() != want => {
                return Err(ValidationError::Schema {
                    field: field.to_string(),
                    reason: format!("expected {}, got {}", want, v.type_name()),
                })
            }
            Some(_) => {}
        }
    }
    let empty = Vec::new();
    let evidence = doc.get("evidence").and_then(Value::as_array).unwrap_or(&empty);
    let claims = doc.get("claims").and_then(Value::as_array).unwrap_or(&empty);
    let cites = |c: &Value| c.get("cites").and_then(Value::as_array).cloned().unwrap_or_default();
    for (i, c) in claims.iter().enumerate() {
        if cites(c).is_empty() {
            return Err(ValidationError::Completeness { reason: format!("no grounding citation for claim {}", i + 1) });
        }
    }
    for (i, c) in claims.iter().enumerate() {
        for cite in cites(c) {
            let k = match cite.as_index() {
                Some(k) => k,
                None => {
                    return Err(ValidationError::Schema {
                        field: "claims".to_string(),
                        reason: format!("claim {} cites something that is not an evidence index", i + 1),
                    })
                }
            };
            let ev = match evidence.get(k) {
                Some(ev) => ev,
                None => {
                    return Err(ValidationError::Consistency {
                        reason: format!("claim {} cites evidence[{}], which does not exist", i + 1, k),
                    })
                }
            };
            if ev.get("stance").and_then(Value::as_str) == Some("contradicts") {
                return Err(ValidationError::Consistency { reason: format!("answer contradicts evidence[{}]", k) });
            }
        }
    }
    if has_email(doc.get("answer").and_then(Value::as_str).unwrap_or("")) {
        return Err(ValidationError::Policy { reason: "output contains an e-mail address".to_string() });
    }
    Ok(())
}

/// Whether a text holds something shaped like an e-mail address: a word
/// (punctuation trimmed) local@domain.tld.
fn has_email(text: &str) -> bool {
    const TRIM: &[char] = &['.', ',', ';', ':', '!', '?', '(', ')', '<', '>', '"', '\''];
    text.split_whitespace().any(|w| {
        let w = w.trim_matches(TRIM);
        let (local, domain) = match w.split_once('@') {
            Some(p) => p,
            None => return false,
        };
        let local_ok = !local.is_empty() && local.chars().all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c));
        let domain_ok = domain.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            && !domain.starts_with('.')
            && !domain.ends_with('.');
        let tld = domain.rsplit('.').next().unwrap_or("");
        local_ok && domain_ok && domain.contains('.') && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())
    })
}

/// The rows of one knowledge-base source with their provenance.
fn evidence(source: &str) -> Response {
    let (name, file, rows) = match KB.iter().find(|(n, _, _)| *n == source) {
        Some(e) => *e,
        None => return error(404, "no such source"),
    };
    let recorded_at = now_rfc3339();
    let rows: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, text)| {
            obj(vec![
                ("id", string(&format!("{}:{}", name, i))),
                ("text", string(text)),
                (
                    "provenance",
                    obj(vec![
                        ("source", string(file)),
                        ("line_offset", int(i as u64)),
                        ("recorded_at", string(&recorded_at)),
                    ]),
                ),
            ])
        })
        .collect();
    let v = obj(vec![("source", string(name)), ("rows", Value::Array(rows))]);
    Response { status: 200, body: v.to_json() }
}

/// A time-ordered id: 16 hex digits of the nanosecond clock, a dash, 8
/// random hex digits.
fn mint_id() -> String {
    let ns = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(ns);
    format!("{:016x}-{:08x}", ns, h.finish() as u32)
}

/// The wall clock as RFC 3339 UTC with milliseconds.
fn now_rfc3339() -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = ((secs / 86400) as i64, secs % 86400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        year,
        month,
        day,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes() {
        let want = [
            ("schema_field", 422, r#"{"Schema":{"field":"evidence","reason":"required field missing"}}"#),
            ("schema_type", 422, r#"{"Schema":{"field":"confidence","reason":"expected number, got string"}}"#),
            ("completeness", 422, r#"{"Completeness":{"reason":"no grounding citation for claim 2"}}"#),
            ("consistency", 422, r#"{"Consistency":{"reason":"answer contradicts evidence[1]"}}"#),
            ("policy", 422, r#"{"Policy":{"reason":"output contains an e-mail address"}}"#),
            ("valid", 200, r#"{"valid":true,"checks":["schema","completeness","consistency","policy"]}"#),
        ];
        for (case, status, body) in want {
            let r = validate_request(&obj(vec![("case", string(case))]));
            assert_eq!((r.status, r.body.as_str()), (status, body), "{}", case);
        }
    }

    #[test]
    fn email() {
        assert!(has_email("mail a.b+c@example.com."));
        assert!(!has_email("at 09:12 @ noon, user@host"));
    }

    #[test]
    fn clock() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 24);
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}
