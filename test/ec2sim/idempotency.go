package ec2sim

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"
	"strconv"
	"time"
)

// idempotencyWindow is how long a client token is remembered. EC2 promises
// at least a day; forgetting a token after that keeps a long-running
// simulator from remembering every launch it ever made (the SDK fills in a
// fresh token for every call that has none).
const idempotencyWindow = 24 * time.Hour

// idempotentCall is a request that carried a client token: what it asked
// for, and how to answer it again.
type idempotentCall struct {
	key         string
	fingerprint [sha256.Size]byte
	at          time.Time
	// replay renders the first request's answer. It is called with the
	// world locked, so it may show the instances' current state, as
	// RunInstances' answer to a retry does.
	replay func() ec2Body
}

// idempotency is the record of client tokens: by action and token, and in
// the order they were used, for expiry.
type idempotency struct {
	calls map[string]*idempotentCall
	order []*idempotentCall
}

// ignoredInFingerprint are the parameters that do not change what a request
// asks for, so a retry may differ in them.
var ignoredInFingerprint = map[string]bool{"Action": true, "Version": true, "ClientToken": true, "DryRun": true}

// fingerprint digests every parameter of a request that says what it asks
// for, in a canonical order: two requests with the same fingerprint are the
// same request, whatever order their parameters came in.
func fingerprint(p params) [sha256.Size]byte {
	keys := make([]string, 0, len(p.values))
	for k := range p.values {
		if !ignoredInFingerprint[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	// Every key and value goes in with its length first, so that no two
	// different requests digest the same bytes, whatever their values hold.
	field := func(v string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		h.Write(n[:])
		h.Write([]byte(v))
	}
	for _, k := range keys {
		vs := append([]string(nil), p.values[k]...)
		sort.Strings(vs)
		field(k)
		field(strconv.Itoa(len(vs)))
		for _, v := range vs {
			field(v)
		}
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// replayLocked answers a request whose client token an earlier request of the
// same action used: with that request's answer when the two ask for the same
// thing, which is what makes a retry after a lost response safe, and with
// IdempotentParameterMismatch when they do not. ok is false when the request
// has no token or a token not seen (or forgotten), and must be carried out.
func (s *Simulator) replayLocked(p params) (body ec2Body, ok bool, err error) {
	token := p.String("ClientToken")
	if token == "" {
		return nil, false, nil
	}
	s.expireTokensLocked()
	call := s.world.tokens.calls[p.String("Action")+"\x00"+token]
	if call == nil {
		return nil, false, nil
	}
	if call.fingerprint != fingerprint(p) {
		return nil, false, clientError("IdempotentParameterMismatch",
			"Arguments on this idempotent request are inconsistent with arguments used in previous request(s).")
	}
	return call.replay(), true, nil
}

// rememberLocked records the answer to a request that carried a client
// token, so that replayLocked can give it again. Only requests that succeed
// are remembered: a failed one may be retried with its token.
func (s *Simulator) rememberLocked(p params, replay func() ec2Body) {
	token := p.String("ClientToken")
	if token == "" {
		return
	}
	s.expireTokensLocked()
	t := &s.world.tokens
	if t.calls == nil {
		t.calls = map[string]*idempotentCall{}
	}
	call := &idempotentCall{key: p.String("Action") + "\x00" + token, fingerprint: fingerprint(p), at: s.clock.Now(), replay: replay}
	t.calls[call.key] = call
	t.order = append(t.order, call)
}

// expireTokensLocked forgets the tokens used longer ago than the window.
func (s *Simulator) expireTokensLocked() {
	t := &s.world.tokens
	now := s.clock.Now()
	for len(t.order) > 0 && now.Sub(t.order[0].at) >= idempotencyWindow {
		if t.calls[t.order[0].key] == t.order[0] {
			delete(t.calls, t.order[0].key)
		}
		t.order[0] = nil
		t.order = t.order[1:]
	}
}
