package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tailor-project/tailor/test/controlplane"
)

// seedFiles are applied unchanged: the seed's EC2NodeClass selects the
// simulated VPC by its karpenter.sh/discovery tags, and its basic NodePool
// is the walkthrough's.
var seedFiles = []string{"03-ec2nodeclass-complete.yaml", "01-nodepool-basic.yaml"}

func applySeed(ctx context.Context, cp *controlplane.ControlPlane, root string) error {
	c, err := client.New(cp.Config, client.Options{})
	if err != nil {
		return fmt.Errorf("building a client: %w", err)
	}
	for _, f := range seedFiles {
		data, err := os.ReadFile(filepath.Join(root, "manifests", "examples", f))
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			if err := dec.Decode(&u.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return fmt.Errorf("%s: %w", f, err)
			}
			if len(u.Object) == 0 {
				continue
			}
			if err := c.Create(ctx, u); err != nil {
				return fmt.Errorf("applying %s %s from %s: %w", u.GetKind(), u.GetName(), f, err)
			}
		}
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
