package nodepool

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	karpv1 "github.com/tailor-project/tailor/apis/karpenter/v1"
)

// TestSeedPoolsValidate: every NodePool of the guide's manifests passes the
// checks beyond the CRD's, so that none of them shows ValidationSucceeded
// False after applying it unchanged.
func TestSeedPoolsValidate(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "manifests", "examples", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no seed manifests: %v", err)
	}
	pools := 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
		for {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			var kind struct{ Kind string }
			if err := yaml.Unmarshal(doc, &kind); err != nil || kind.Kind != "NodePool" {
				continue
			}
			np := &karpv1.NodePool{}
			if err := yaml.Unmarshal(doc, np); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			pools++
			if problems := validate(np); len(problems) > 0 {
				t.Errorf("%s: NodePool %s: %v", filepath.Base(file), np.Name, problems)
			}
		}
	}
	if pools < 5 {
		t.Errorf("read %d NodePools from the seed manifests, want every one of them", pools)
	}
}
