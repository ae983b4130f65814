package ec2sim

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
)

// ids makes the identifiers AWS hands out: i-0123456789abcdef0 for
// instances, lt- for launch templates, request ids shaped as UUIDs. They come
// from a seeded generator, so a simulator started with a fixed seed hands out
// the same ids in the same order, which makes failing tests reproducible.
type ids struct {
	mu  sync.Mutex
	rng *rand.Rand
}

func newIDs(seed uint64) *ids {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return &ids{rng: rand.New(rand.NewChaCha8(key))}
}

func (g *ids) bytes(n int) []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return b
}

// resource returns an EC2 resource id: the prefix, a dash and 17 hex digits.
func (g *ids) resource(prefix string) string {
	return prefix + "-" + hex.EncodeToString(g.bytes(9))[:17]
}

// uuid returns a random (version 4) UUID, the shape of request and message ids.
func (g *ids) uuid() string {
	b := g.bytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// upper returns n random characters from A-Z and 0-9, the alphabet of IAM
// unique ids and price-list SKUs.
func (g *ids) upper(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	var b strings.Builder
	for _, c := range g.bytes(n) {
		b.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return b.String()
}

// float returns a number in [0, 1), for the throttling fault.
func (g *ids) float() float64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rng.Float64()
}
