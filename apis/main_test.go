package apis_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"k8s.io/client-go/dynamic"

	"github.com/tailor-project/tailor/test/controlplane"
)

// One API server serves every test in this package: the CRDs under test are
// installed once, and each test uses its own object names.
var (
	cp     *controlplane.ControlPlane
	client dynamic.Interface
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	cp, err = controlplane.Start(context.Background(), controlplane.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := cp.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}()
	if client, err = dynamic.NewForConfig(cp.Config); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
