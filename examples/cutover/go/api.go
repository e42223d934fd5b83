package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// probeCases are the documents the parity probe sends by name
// ({"case":NAME}): each fails one check, the last passes them all.
var probeCases = map[string]string{
	"schema_field": `{"answer":"The outage began at 09:12 UTC.","confidence":0.92,"claims":[{"text":"The outage began at 09:12 UTC.","cites":[0]}]}`,
	"schema_type":  `{"answer":"The outage began at 09:12 UTC.","evidence":[{"text":"Pager fired at 09:12 UTC.","stance":"supports"}],"claims":[{"text":"The outage began at 09:12 UTC.","cites":[0]}],"confidence":"high"}`,
	"completeness": `{"answer":"The outage began at 09:12 UTC and ended at 09:41 UTC.","evidence":[{"text":"Pager fired at 09:12 UTC.","stance":"supports"},{"text":"Rollback finished at 09:41 UTC.","stance":"supports"}],"claims":[{"text":"The outage began at 09:12 UTC.","cites":[0]},{"text":"It ended at 09:41 UTC.","cites":[]}],"confidence":0.8}`,
	"consistency":  `{"answer":"The outage began at 09:12 UTC and no data was lost.","evidence":[{"text":"Pager fired at 09:12 UTC.","stance":"supports"},{"text":"312 orders were lost and replayed.","stance":"contradicts"}],"claims":[{"text":"The outage began at 09:12 UTC.","cites":[0]},{"text":"No data was lost.","cites":[1]}],"confidence":0.7}`,
	"policy":       `{"answer":"The outage began at 09:12 UTC; write to ops-oncall@example.com for the postmortem.","evidence":[{"text":"Pager fired at 09:12 UTC.","stance":"supports"}],"claims":[{"text":"The outage began at 09:12 UTC.","cites":[0]}],"confidence":0.9}`,
	"valid":        `{"answer":"The outage began at 09:12 UTC and ended at 09:41 UTC.","evidence":[{"text":"Pager fired at 09:12 UTC.","stance":"supports"},{"text":"Rollback finished at 09:41 UTC.","stance":"supports"}],"claims":[{"text":"The outage began at 09:12 UTC.","cites":[0]},{"text":"It ended at 09:41 UTC.","cites":[1]}],"confidence":0.95}`,
}

type session struct {
	model, prompt, outcome string
	iterations             int
	grounded               bool
	err                    string
	latencyMS              int
}

const maxIter = 3

// sessions are replayed by the iterate endpoint, by fixture name.
var sessions = map[string]session{
	"accepted_grounded":  {"qwen2.5:latest", "Summarize the Q3 incident report and cite the evidence rows.", "accepted", 1, true, "", 1840},
	"max_iter_exhausted": {"qwen2.5:latest", "Explain, in prose, why the nightly backfill was slow.", "max_iter_exhausted", 3, false, "no_json", 9212},
	"infra_error":        {"qwen2.5:latest", "List the open incidents by severity.", "infra_error", 0, false, "chatd cold-start probe timed out after 5s", 5003},
	"unicode_in_prompt":  {"qwen2.5:latest", "Résumé des données — 日本語のテスト ✓ 🚀", "accepted", 1, true, "", 2271},
}

type kbSource struct {
	file string
	rows []string
}

// kb is the knowledge base the evidence endpoint materializes (row i is
// line_offset i).
var kb = map[string]kbSource{
	"incidents-q3": {"kb/incidents-q3.jsonl", []string{
		"Pager fired at 09:12 UTC; checkout p99 latency above 4 s.",
		"Rollback of build 7731 finished at 09:41 UTC.",
		"Root cause: the connection pool ran dry after the Müller migration — 東京 first.",
	}},
	"runbooks": {"kb/runbooks.jsonl", []string{
		"Drain the canary before rolling back.",
		"Page the owning team's on-call; « no silent rollbacks ».",
	}},
}

type traceKey struct{}

// tracing is the tracing middleware: with a collector configured it puts
// the request's trace id on the context; without one it passes requests
// through untouched.
func tracing(next http.Handler) http.Handler {
	if os.Getenv("TRACE_COLLECTOR_URL") == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(traceHeader)
		if !plausibleID(id) {
			id = mintID()
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), traceKey{}, id)))
	})
}

func plausibleID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// sessionID is the trace id on the context.  With the fixes it falls back
// to the trace header, then to a minted id, so a row is never left
// without one.
func sessionID(r *http.Request) string {
	id, _ := r.Context().Value(traceKey{}).(string)
	if id != "" || !fixes {
		return id
	}
	if h := r.Header.Get(traceHeader); plausibleID(h) {
		return h
	}
	return mintID()
}

// mintID returns a time-ordered id: 16 hex digits of the nanosecond
// clock, a dash, 8 random hex digits.
func mintID() string {
	return fmt.Sprintf("%016x-%08x", time.Now().UnixNano(), rand.Uint32())
}

func now() string {
	return time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func reply(w http.ResponseWriter, status int, v interface{}) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		b.Reset()
		b.WriteString(`{"error":"cannot encode the response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(bytes.TrimSuffix(b.Bytes(), []byte("\n")))))
	w.WriteHeader(status)
	w.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

func replyError(w http.ResponseWriter, status int, msg string) {
	reply(w, status, map[string]string{"error": msg})
}

// decode parses one JSON document, numbers kept as json.Number.
func decode(data []byte) (interface{}, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v interface{}
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the document")
	}
	return v, nil
}

// api serves POST /v1/validate, POST /v1/iterate and
// GET /v1/evidence/{source}.
func api(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == "/v1/validate" || path == "/v1/iterate" {
		if r.Method != http.MethodPost {
			replyError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			replyError(w, http.StatusBadRequest, "request body is not valid JSON")
			return
		}
		v, err := decode(data)
		if err != nil {
			replyError(w, http.StatusBadRequest, "request body is not valid JSON")
			return
		}
		body, ok := v.(map[string]interface{})
		if !ok {
			replyError(w, http.StatusBadRequest, "request body is not a JSON object")
			return
		}
		if path == "/v1/validate" {
			validateRequest(w, body)
		} else {
			iterate(w, r, body)
		}
		return
	}
	if source := strings.TrimPrefix(path, "/v1/evidence/"); source != path {
		if r.Method != http.MethodGet {
			replyError(w, http.StatusMethodNotAllowed, "method not allowed")
			return
		}
		evidence(w, source)
		return
	}
	replyError(w, http.StatusNotFound, "not found")
}

func validateRequest(w http.ResponseWriter, body map[string]interface{}) {
	doc := body
	if name, ok := body["case"].(string); ok {
		text, ok := probeCases[name]
		if !ok {
			replyError(w, http.StatusNotFound, "no such case")
			return
		}
		v, _ := decode([]byte(text))
		doc = v.(map[string]interface{})
	}
	if err := validate(doc); err != nil {
		reply(w, http.StatusUnprocessableEntity, err)
		return
	}
	reply(w, http.StatusOK, map[string]interface{}{
		"valid":  true,
		"checks": []string{"schema", "completeness", "consistency", "policy"},
	})
}

func typeName(v interface{}) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []interface{}:
		return "array"
	default:
		return "object"
	}
}

func cites(claim interface{}) []interface{} {
	c, _ := claim.(map[string]interface{})
	a, _ := c["cites"].([]interface{})
	return a
}

// validate checks a document: its schema, that every claim cites
// evidence, that no cited evidence contradicts the answer, and the
// output policy.
func validate(doc map[string]interface{}) *ValidationError {
	for _, f := range [][2]string{{"answer", "string"}, {"evidence", "array"}, {"claims", "array"}, {"confidence", "number"}} {
		v, ok := doc[f[0]]
		if !ok {
			return &ValidationError{Kind: "schema", Field: f[0], Reason: "required field missing"}
		}
		if typeName(v) != f[1] {
			return &ValidationError{Kind: "schema", Field: f[0], Reason: "expected " + f[1] + ", got " + typeName(v)}
		}
	}
	evidence := doc["evidence"].([]interface{})
	claims := doc["claims"].([]interface{})
	for i, c := range claims {
		if len(cites(c)) == 0 {
			return &ValidationError{Kind: "completeness", Reason: fmt.Sprintf("no grounding citation for claim %d", i+1)}
		}
	}
	for i, c := range claims {
		for _, cite := range cites(c) {
			n, ok := cite.(json.Number)
			k, err := strconv.ParseUint(string(n), 10, 64)
			if !ok || err != nil {
				return &ValidationError{Kind: "schema", Field: "claims", Reason: fmt.Sprintf("claim %d cites something that is not an evidence index", i+1)}
			}
			if k >= uint64(len(evidence)) {
				return &ValidationError{Kind: "consistency", Reason: fmt.Sprintf("claim %d cites evidence[%d], which does not exist", i+1, k)}
			}
			ev, _ := evidence[k].(map[string]interface{})
			if stance, _ := ev["stance"].(string); stance == "contradicts" {
				return &ValidationError{Kind: "consistency", Reason: fmt.Sprintf("answer contradicts evidence[%d]", k)}
			}
		}
	}
	answer, _ := doc["answer"].(string)
	if hasEmail(answer) {
		return &ValidationError{Kind: "policy", Reason: "output contains an e-mail address"}
	}
	return nil
}

func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// hasEmail says whether a text holds something shaped like an e-mail
// address: a word (punctuation trimmed) local@domain.tld.
func hasEmail(text string) bool {
	for _, w := range strings.Fields(text) {
		w = strings.Trim(w, ".,;:!?()<>\"'")
		local, domain, ok := strings.Cut(w, "@")
		if !ok || local == "" {
			continue
		}
		good := true
		for _, c := range local {
			good = good && (isAlnum(c) || strings.ContainsRune("._%+-", c))
		}
		for _, c := range domain {
			good = good && (isAlnum(c) || c == '.' || c == '-')
		}
		tld := domain[strings.LastIndex(domain, ".")+1:]
		for _, c := range tld {
			good = good && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
		}
		if good && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") &&
			!strings.HasSuffix(domain, ".") && len(tld) >= 2 {
			return true
		}
	}
	return false
}

func iterate(w http.ResponseWriter, r *http.Request, body map[string]interface{}) {
	name, ok := body["fixture"].(string)
	if !ok {
		replyError(w, http.StatusBadRequest, "fixture: required field missing")
		return
	}
	s, ok := sessions[name]
	if !ok {
		replyError(w, http.StatusNotFound, "no such fixture")
		return
	}
	prompt := s.prompt
	if p, ok := body["prompt"].(string); ok {
		prompt = p
	}
	rec := SessionRecord{
		Daemon: "validatord", Timestamp: now(), SessionID: sessionID(r),
		Fixture: name, Model: s.model, Prompt: prompt, Outcome: s.outcome,
		Iterations: s.iterations, MaxIter: maxIter, Grounded: s.grounded,
		LatencyMS: s.latencyMS,
	}
	if s.err != "" {
		e := s.err
		rec.Error = &e
	}
	reply(w, http.StatusOK, rec)
}

func evidence(w http.ResponseWriter, source string) {
	src, ok := kb[source]
	if !ok {
		replyError(w, http.StatusNotFound, "no such source")
		return
	}
	set := EvidenceSet{Source: source, Rows: []EvidenceRow{}}
	recordedAt := now()
	for i, text := range src.rows {
		set.Rows = append(set.Rows, EvidenceRow{
			ID:         fmt.Sprintf("%s:%d", source, i),
			Text:       text,
			Provenance: Provenance{Source: src.file, LineOffset: i, RecordedAt: recordedAt},
		})
	}
	reply(w, http.StatusOK, set)
}
