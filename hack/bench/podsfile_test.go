package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/tailor-project/tailor/test/workload"
)

// karpenterPodsFixture is the pods file the Karpenter module's test
// solves; that module cannot make them, as workload is Tailor's.
const karpenterPodsFixture = "karpenter/testdata/diverse-100.json"

// The fixture must be what the comparison would write for 100 pods.
// UPDATE=1 rewrites it.
func TestKarpenterPodsFixture(t *testing.T) {
	tmp := filepath.Join(t.TempDir(), "pods.json")
	if err := writePodsFile(tmp, workload.DiversePods(100)); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("UPDATE") == "1" {
		if err := os.WriteFile(karpenterPodsFixture, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(karpenterPodsFixture)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not workload.DiversePods(100); run UPDATE=1 go test ./hack/bench", karpenterPodsFixture)
	}
	back, err := readPodsFile(karpenterPodsFixture)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != 100 {
		t.Errorf("%d pods read back, want 100", len(back))
	}
}
