package main

import (
	"encoding/json"
	"testing"
)

// The wire format, pinned: with the fixes, what the gateway sends.
func TestWireFormatFixed(t *testing.T) {
	fixes = true
	defer func() { fixes = false }()
	cases := []struct {
		v    interface{}
		want string
	}{
		{ValidationError{Kind: "schema", Field: "evidence", Reason: "required field missing"},
			`{"Schema":{"field":"evidence","reason":"required field missing"}}`},
		{ValidationError{Kind: "completeness", Reason: "no grounding citation for claim 2"},
			`{"Completeness":{"reason":"no grounding citation for claim 2"}}`},
		{ValidationError{Kind: "consistency", Reason: "answer contradicts evidence[1]"},
			`{"Consistency":{"reason":"answer contradicts evidence[1]"}}`},
		{ValidationError{Kind: "policy", Reason: "output contains an e-mail address"},
			`{"Policy":{"reason":"output contains an e-mail address"}}`},
		{Provenance{Source: "kb/a.jsonl", LineOffset: 0, RecordedAt: "t"},
			`{"source":"kb/a.jsonl","line_offset":0,"recorded_at":"t"}`},
	}
	for _, c := range cases {
		got, err := json.Marshal(c.v)
		if err != nil || string(got) != c.want {
			t.Errorf("got %s (%v), want %s", got, err, c.want)
		}
	}
}

// Without the fixes: the rewrite as first shipped.
func TestWireFormatShipped(t *testing.T) {
	got, _ := json.Marshal(ValidationError{Kind: "schema", Field: "x", Reason: "y"})
	if string(got) != `{"Kind":"schema","Field":"x","Reason":"y"}` {
		t.Errorf("got %s", got)
	}
	got, _ = json.Marshal(Provenance{Source: "s", RecordedAt: "t"})
	if string(got) != `{"source":"s","recorded_at":"t"}` {
		t.Errorf("got %s", got)
	}
}

// The probe cases give the gateway's errors.
func TestProbes(t *testing.T) {
	want := map[string]ValidationError{
		"schema_field": {"schema", "evidence", "required field missing"},
		"schema_type":  {"schema", "confidence", "expected number, got string"},
		"completeness": {"completeness", "", "no grounding citation for claim 2"},
		"consistency":  {"consistency", "", "answer contradicts evidence[1]"},
		"policy":       {"policy", "", "output contains an e-mail address"},
	}
	for name, text := range probeCases {
		v, err := decode([]byte(text))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := validate(v.(map[string]interface{}))
		w, bad := want[name]
		switch {
		case bad && (got == nil || *got != w):
			t.Errorf("%s: got %v, want %v", name, got, w)
		case !bad && got != nil:
			t.Errorf("%s: got %v, want valid", name, got)
		}
	}
	if !hasEmail("mail a.b+c@example.com.") || hasEmail("at 09:12 @ noon, user@host") {
		t.Error("hasEmail")
	}
}
