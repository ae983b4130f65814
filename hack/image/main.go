// Command image builds Tailor's container image from Go modules alone, with
// no Docker daemon and no base image to pull: bin/tailor cross-compiled for
// each platform, layered with a CA bundle and a nonroot user onto an empty
// image. It writes
//
//	<out>/tailor-oci/        an OCI layout holding the multi-arch index
//	                         (crane push <out>/tailor-oci <ref>)
//	<out>/tailor-<arch>.tar  the build machine's architecture for docker load
//
// and prints the index digest. `make image` runs it from this directory; it
// is a module of its own so go-containerregistry stays out of Tailor's go.mod.
package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// options is one build; main fills it from flags, the test from a stand-in.
type options struct {
	Go         string // the go command
	Root       string // the module the binary is built in
	Package    string // the binary's package, relative to Root
	Out        string
	Platforms  []platform
	Repository string // the tarball's tag is Repository:Meta.Version
	Meta       metadata
	CAFile     string // PEM; Mozilla's roots from x509roots when empty
	// HostArch picks the architecture of the tarball, which holds one image
	// because docker load cannot take an index.
	HostArch string
}

// result is where a build put things, for the summary and the test.
type result struct {
	Index    v1.Hash
	Images   []built
	Layout   string
	Tarball  string
	Tag      name.Tag
	CARoots  int
	CASource string
}

func main() {
	if err := mainErr(); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func mainErr() error {
	var (
		o         options
		platforms string
	)
	flag.StringVar(&o.Go, "go", "go", "the go command to build with")
	flag.StringVar(&o.Root, "root", "../..", "Tailor's repository root (the default fits `go run .` in hack/image)")
	flag.StringVar(&o.Package, "package", "./cmd/tailor", "the package of the binary")
	flag.StringVar(&o.Out, "out", "", "the output directory (<root>/bin/image when empty)")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated os/arch list")
	flag.StringVar(&o.Repository, "repository", "ghcr.io/tailor-project/tailor", "the repository the image is published to; the chart's image.repository")
	flag.StringVar(&o.Meta.Version, "version", "", "the image version and tag (the chart's appVersion when empty)")
	flag.StringVar(&o.Meta.Revision, "revision", "", "the commit built (git rev-parse HEAD in -root when empty)")
	flag.StringVar(&o.Meta.Source, "source", "https://github.com/tailor-project/tailor", "the org.opencontainers.image.source label")
	flag.StringVar(&o.CAFile, "ca", "", "a PEM CA bundle to install instead of Mozilla's roots from golang.org/x/crypto/x509roots/fallback")
	flag.Parse()

	var err error
	if o.Root, err = filepath.Abs(o.Root); err != nil {
		return fmt.Errorf("resolving -root: %w", err)
	}
	if o.Out == "" {
		o.Out = filepath.Join(o.Root, "bin", "image")
	}
	if o.Platforms, err = parsePlatforms(platforms); err != nil {
		return err
	}
	if o.Meta.Version == "" {
		chart := filepath.Join(o.Root, "manifests", "chart", "tailor", "Chart.yaml")
		if o.Meta.Version, err = appVersion(chart); err != nil {
			return err
		}
	}
	if o.Meta.Revision == "" {
		o.Meta.Revision = gitRevision(o.Root)
	}
	o.HostArch = runtime.GOARCH

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := run(ctx, o, os.Stderr)
	if err != nil {
		return err
	}
	return summarize(os.Stdout, o, res)
}

func parsePlatforms(list string) ([]platform, error) {
	var ps []platform
	for _, s := range strings.Split(list, ",") {
		osName, arch, ok := strings.Cut(strings.TrimSpace(s), "/")
		if !ok || osName == "" || arch == "" || strings.Contains(arch, "/") {
			return nil, fmt.Errorf("platform %q: want os/arch", s)
		}
		ps = append(ps, platform{OS: osName, Arch: arch})
	}
	return ps, nil
}

// appVersion reads the chart's appVersion, so the image is tagged with the
// version the chart's image.tag defaults to and the two cannot drift. A line
// scan is enough for the one scalar and keeps YAML out of this module.
func appVersion(chartFile string) (string, error) {
	f, err := os.Open(chartFile)
	if err != nil {
		return "", fmt.Errorf("reading the version from the chart: %w", err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "appVersion:"); ok {
			v = strings.Trim(strings.TrimSpace(v), `"'`)
			if v == "" {
				break
			}
			return v, nil
		}
	}
	if err := s.Err(); err != nil {
		return "", fmt.Errorf("reading %s: %w", chartFile, err)
	}
	return "", fmt.Errorf("%s has no appVersion; pass -version", chartFile)
}

// gitRevision is the commit for the revision label, empty outside a git
// checkout (a source tarball) rather than an error: the label is informative.
func gitRevision(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// run builds every platform's binary and image, the index over them, and
// writes the layout and the tarball.
func run(ctx context.Context, o options, log io.Writer) (*result, error) {
	res := &result{}
	caBundle, err := loadCA(o.CAFile, res)
	if err != nil {
		return nil, err
	}
	for _, p := range o.Platforms {
		dir := filepath.Join(o.Out, p.OS+"-"+p.Arch)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		binary := filepath.Join(dir, "tailor")
		start := time.Now()
		if err := goBuild(ctx, o, p, binary, log); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "%s: built %s in %s\n", p, binary, time.Since(start).Round(time.Second))
		img, err := buildImage(p, binary, caBundle, o.Meta, dir)
		if err != nil {
			return nil, err
		}
		res.Images = append(res.Images, built{Platform: p, Image: img})
	}
	idx, err := buildIndex(res.Images, o.Meta)
	if err != nil {
		return nil, err
	}
	if res.Index, err = idx.Digest(); err != nil {
		return nil, fmt.Errorf("digesting the index: %w", err)
	}

	res.Layout = filepath.Join(o.Out, "tailor-oci")
	if err := writeLayout(res.Layout, idx, o.Meta.Version); err != nil {
		return nil, err
	}

	tag := o.Meta.Version
	if tag == "" {
		tag = "latest"
	}
	if res.Tag, err = name.NewTag(o.Repository + ":" + tag); err != nil {
		return nil, fmt.Errorf("tagging the tarball: %w", err)
	}
	host := res.Images[0]
	for _, b := range res.Images {
		if b.Platform.Arch == o.HostArch {
			host = b
		}
	}
	res.Tarball = filepath.Join(o.Out, "tailor-"+host.Platform.Arch+".tar")
	if err := tarball.WriteToFile(res.Tarball, res.Tag, host.Image); err != nil {
		return nil, fmt.Errorf("writing the docker tarball %s: %w", res.Tarball, err)
	}
	return res, nil
}

// loadCA returns the PEM bundle the image trusts.
func loadCA(file string, res *result) ([]byte, error) {
	if file == "" {
		ca, skipped, err := mozillaRoots()
		if err != nil {
			return nil, err
		}
		res.CASource = fmt.Sprintf("golang.org/x/crypto/x509roots/fallback (%d distrust-after roots left out)", skipped)
		res.CARoots = countCerts(ca)
		return ca, nil
	}
	ca, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading the CA bundle: %w", err)
	}
	// An empty or mangled file would make every AWS call fail in the
	// cluster, long after the build; refuse it here instead.
	res.CARoots = countCerts(ca)
	if res.CARoots == 0 {
		return nil, fmt.Errorf("the CA bundle %s holds no PEM certificates", file)
	}
	res.CASource = file
	return ca, nil
}

// countCerts counts the certificates Go would parse, which is what the
// binary in the image will do with the bundle.
func countCerts(bundle []byte) int {
	n := 0
	for {
		var block *pem.Block
		block, bundle = pem.Decode(bundle)
		if block == nil {
			return n
		}
		if _, err := x509.ParseCertificate(block.Bytes); block.Type == "CERTIFICATE" && err == nil {
			n++
		}
	}
}

// goBuild cross-compiles the binary. go build leaves an output whose build ID
// matches untouched, so a second `make image` without changes skips the link
// and spends its time only on the layers.
func goBuild(ctx context.Context, o options, p platform, out string, log io.Writer) error {
	// The binary names the release it is, as `tailor version` prints it.
	ldflags := "-s -w -X main.version=" + o.Meta.Version + " -X main.commit=" + o.Meta.Revision
	cmd := exec.CommandContext(ctx, o.Go, "build", "-trimpath", "-ldflags="+ldflags, "-o", out, o.Package)
	cmd.Dir = o.Root
	// Static, so it runs on the empty base; no local paths in panics.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Arch)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: go build %s: %w", p, o.Package, err)
	}
	return nil
}

// writeLayout writes the index into a fresh OCI layout as its one entry,
// named by the version, so `crane push <layout> <ref>` pushes the whole
// multi-arch index and skopeo finds it as oci:<layout>:<version>. The old
// layout goes first: layout.Write would keep the previous build's blobs.
func writeLayout(dir string, idx v1.ImageIndex, version string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the previous layout: %w", err)
	}
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("creating the layout %s: %w", dir, err)
	}
	var opts []layout.Option
	if version != "" {
		opts = append(opts, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": version}))
	}
	if err := lp.AppendIndex(idx, opts...); err != nil {
		return fmt.Errorf("writing the index to %s: %w", dir, err)
	}
	return nil
}

func summarize(w io.Writer, o options, res *result) error {
	fmt.Fprintf(w, "tailor %s (revision %s), CA bundle: %d roots from %s\n", o.Meta.Version, orNone(o.Meta.Revision), res.CARoots, res.CASource)
	for _, b := range res.Images {
		d, err := b.Image.Digest()
		if err != nil {
			return fmt.Errorf("%s: digest: %w", b.Platform, err)
		}
		layers, err := b.Image.Layers()
		if err != nil || len(layers) != 1 {
			return errors.Join(fmt.Errorf("%s: want one layer, have %d", b.Platform, len(layers)), err)
		}
		size, err := layers[0].Size()
		if err != nil {
			return fmt.Errorf("%s: layer size: %w", b.Platform, err)
		}
		fmt.Fprintf(w, "  %-12s %s  %.1f MB compressed\n", b.Platform, d, float64(size)/1e6)
	}
	fmt.Fprintf(w, "index %s\n", res.Index)
	fmt.Fprintf(w, "  OCI layout  %s\n    crane push %s %s\n", res.Layout, res.Layout, res.Tag)
	fmt.Fprintf(w, "  docker tar  %s\n    docker load -i %s   (loads %s)\n", res.Tarball, res.Tarball, res.Tag)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
