package main

import "encoding/json"

// fixes says whether the wire-format fixes are on (-fixed).  Without
// them the service answers the way the rewrite first shipped: flat
// errors, line_offset dropped when 0, empty session ids.
var fixes bool

// ValidationError is the validator's error.  Go's default encoding of it
// is a flat struct, {"Kind":"schema","Field":"x","Reason":"y"}; the
// service it replaces sends an externally tagged enum,
// {"Schema":{"field":"x","reason":"y"}}, and callers parse that.
type ValidationError struct {
	Kind   string
	Field  string `json:",omitempty"`
	Reason string
}

// variants maps Kind to the name of the tagged enum's variant.
var variants = map[string]string{
	"schema":       "Schema",
	"completeness": "Completeness",
	"consistency":  "Consistency",
	"policy":       "Policy",
}

type taggedFields struct {
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// MarshalJSON emits the flat struct, or, with the fixes, the tagged enum:
// {"Schema":{"field":..,"reason":..}}, {"Completeness":{"reason":..}}, ...
func (e ValidationError) MarshalJSON() ([]byte, error) {
	type flat ValidationError
	if !fixes {
		return json.Marshal(flat(e))
	}
	tag, ok := variants[e.Kind]
	if !ok {
		tag = e.Kind
	}
	return json.Marshal(map[string]taggedFields{tag: {Field: e.Field, Reason: e.Reason}})
}

// Provenance says where an evidence row came from.  LineOffset 0 is the
// first row of a source file: a value, not an absence.
type Provenance struct {
	Source     string `json:"source"`
	LineOffset int    `json:"line_offset"`
	RecordedAt string `json:"recorded_at"`
}

// provenanceOmitEmpty is Provenance as first written: omitempty drops
// line_offset from every first row.
type provenanceOmitEmpty struct {
	Source     string `json:"source"`
	LineOffset int    `json:"line_offset,omitempty"`
	RecordedAt string `json:"recorded_at"`
}

// MarshalJSON keeps line_offset only with the fixes.
func (p Provenance) MarshalJSON() ([]byte, error) {
	if !fixes {
		return json.Marshal(provenanceOmitEmpty(p))
	}
	type plain Provenance
	return json.Marshal(plain(p))
}

// EvidenceRow is one materialized row of a knowledge-base source.
type EvidenceRow struct {
	ID         string     `json:"id"`
	Text       string     `json:"text"`
	Provenance Provenance `json:"provenance"`
}

// EvidenceSet is the evidence endpoint's answer.
type EvidenceSet struct {
	Source string        `json:"source"`
	Rows   []EvidenceRow `json:"rows"`
}

// SessionRecord is one session-log row, as the iterate endpoint returns
// it.
type SessionRecord struct {
	Daemon     string  `json:"daemon"`
	Timestamp  string  `json:"timestamp"`
	SessionID  string  `json:"session_id"`
	Fixture    string  `json:"fixture"`
	Model      string  `json:"model"`
	Prompt     string  `json:"prompt"`
	Outcome    string  `json:"outcome"`
	Iterations int     `json:"iterations"`
	MaxIter    int     `json:"max_iter"`
	Grounded   bool    `json:"grounded"`
	Error      *string `json:"error"`
	LatencyMS  int     `json:"latency_ms"`
}
