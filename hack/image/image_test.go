package main

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The real binary takes minutes per architecture to build, so the test runs
// the same build on a hello-world program in its place: everything but the
// binary's contents is what `make image` produces.
const standIn = `package main

import "fmt"

func main() { fmt.Println("stand-in for tailor") }
`

func standInModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/standin\n\ngo 1.22\n")
	write("cmd/tailor/main.go", standIn)
	return dir
}

func buildStandIn(t *testing.T, src, out string) *result {
	t.Helper()
	res, err := run(context.Background(), options{
		Go:         "go",
		Root:       src,
		Package:    "./cmd/tailor",
		Out:        out,
		Platforms:  []platform{{"linux", "amd64"}, {"linux", "arm64"}},
		Repository: "ghcr.io/tailor-project/tailor",
		Meta:       metadata{Source: "https://github.com/tailor-project/tailor", Version: "9.8.7", Revision: "0123abc"},
		// Not this machine's, to see the tarball follow HostArch.
		HostArch: "arm64",
	}, testLog{t})
	if err != nil {
		t.Fatalf("building the stand-in image: %v", err)
	}
	return res
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestImage(t *testing.T) {
	src := standInModule(t)
	out := t.TempDir()
	res := buildStandIn(t, src, out)

	// Read the layout back as crane push would.
	root, err := layout.ImageIndexFromPath(res.Layout)
	if err != nil {
		t.Fatalf("reading the layout: %v", err)
	}
	rootManifest, err := root.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(rootManifest.Manifests) != 1 {
		t.Fatalf("layout has %d entries, want the one index crane push takes", len(rootManifest.Manifests))
	}
	entry := rootManifest.Manifests[0]
	if entry.MediaType != types.OCIImageIndex || entry.Digest != res.Index {
		t.Errorf("layout entry %s %s, want the index %s", entry.MediaType, entry.Digest, res.Index)
	}
	if got := entry.Annotations["org.opencontainers.image.ref.name"]; got != "9.8.7" {
		t.Errorf("layout entry named %q, want the version", got)
	}
	idx, err := root.ImageIndex(entry.Digest)
	if err != nil {
		t.Fatalf("opening the index: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if got := im.Annotations["org.opencontainers.image.source"]; got != "https://github.com/tailor-project/tailor" {
		t.Errorf("index source annotation %q", got)
	}

	var platforms []string
	digests := map[string]v1.Hash{}
	for _, desc := range im.Manifests {
		if desc.Platform == nil {
			t.Fatalf("manifest %s has no platform", desc.Digest)
		}
		p := platform{OS: desc.Platform.OS, Arch: desc.Platform.Architecture}
		platforms = append(platforms, p.String())
		digests[p.Arch] = desc.Digest
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		t.Run(p.Arch, func(t *testing.T) {
			checkImage(t, img, p, filepath.Join(out, "linux-"+p.Arch, "tailor"))
		})
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("index platforms %v, want linux/amd64 and linux/arm64", platforms)
	}

	// docker load reads the tarball by its manifest.json; tarball.Image reads
	// it the same way, by the tag docker would give it.
	tag, err := name.NewTag("ghcr.io/tailor-project/tailor:9.8.7")
	if err != nil {
		t.Fatal(err)
	}
	if res.Tarball != filepath.Join(out, "tailor-arm64.tar") {
		t.Errorf("tarball %s, want the host architecture's", res.Tarball)
	}
	loaded, err := tarball.ImageFromPath(res.Tarball, &tag)
	if err != nil {
		t.Fatalf("loading the tarball by its tag: %v", err)
	}
	cfg, err := loaded.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Architecture != "arm64" || cfg.Config.User != user {
		t.Errorf("tarball image %s as %q, want arm64 as %s", cfg.Architecture, cfg.Config.User, user)
	}
	arm, err := idx.Image(digests["arm64"])
	if err != nil {
		t.Fatal(err)
	}
	if a, b := configName(t, arm), configName(t, loaded); a != b {
		t.Errorf("tarball config %s, layout's arm64 config %s: want the same image", b, a)
	}

	// Same inputs, another directory: the digest must not move, or a
	// rebuild would look like a new release to every cluster pulling it.
	if again := buildStandIn(t, src, t.TempDir()); again.Index != res.Index {
		t.Errorf("rebuilt index %s, first %s: the build is not reproducible", again.Index, res.Index)
	}
}

func configName(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func checkImage(t *testing.T, img v1.Image, p platform, binary string) {
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if cfg.OS != p.OS || cfg.Architecture != p.Arch {
		t.Errorf("config says %s/%s, index says %s", cfg.OS, cfg.Architecture, p)
	}
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/usr/local/bin/tailor"}) {
		t.Errorf("entrypoint %q", cfg.Config.Entrypoint)
	}
	if len(cfg.Config.Cmd) != 0 {
		t.Errorf("cmd %q: the Deployments give the subcommand as args", cfg.Config.Cmd)
	}
	// runAsNonRoot admits only a numeric, non-zero user; a name or 0 makes
	// the kubelet refuse to start the pod.
	uid, gid, ok := strings.Cut(cfg.Config.User, ":")
	if !ok || uid != "65532" || gid != "65532" {
		t.Errorf("user %q, want 65532:65532", cfg.Config.User)
	}
	for _, id := range []string{uid, gid} {
		if n, err := strconv.Atoi(id); err != nil || n == 0 {
			t.Errorf("user %q runs as root or not by number", cfg.Config.User)
		}
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.source":   "https://github.com/tailor-project/tailor",
		"org.opencontainers.image.version":  "9.8.7",
		"org.opencontainers.image.revision": "0123abc",
	} {
		if got := cfg.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}

	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v), want one on the empty base", len(layers), err)
	}
	files := readLayer(t, layers[0])

	bin, ok := files["usr/local/bin/tailor"]
	if !ok {
		t.Fatalf("no /usr/local/bin/tailor in the layer; have %v", mapKeys(files))
	}
	if bin.hdr.Typeflag != tar.TypeReg || bin.hdr.Mode != 0o755 || bin.hdr.Uid != 65532 || bin.hdr.Gid != 65532 {
		t.Errorf("/usr/local/bin/tailor: type %c mode %o owner %d:%d, want a 0755 file of 65532:65532",
			bin.hdr.Typeflag, bin.hdr.Mode, bin.hdr.Uid, bin.hdr.Gid)
	}
	want, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bin.body, want) {
		t.Errorf("/usr/local/bin/tailor is not the binary built for %s", p)
	}
	// The config's architecture is only a claim; the ELF header is what
	// the node's kernel will check.
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[p.Arch]
	if ef, err := elf.NewFile(bytes.NewReader(bin.body)); err != nil {
		t.Errorf("/usr/local/bin/tailor is not ELF: %v", err)
	} else if ef.Machine != machine {
		t.Errorf("/usr/local/bin/tailor is for %s, the image for %s", ef.Machine, p)
	}

	ca, ok := files["etc/ssl/certs/ca-certificates.crt"]
	if !ok {
		t.Fatal("no CA bundle in the layer")
	}
	// Mozilla trusts well over a hundred roots; a handful means a broken
	// bundle, which would fail every AWS call.
	if n := countCerts(ca.body); n < 100 {
		t.Errorf("the CA bundle has %d certificates", n)
	}
	if !strings.Contains(string(files["etc/passwd"].body), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd lacks the nonroot user:\n%s", files["etc/passwd"].body)
	}
	for path, f := range files {
		if f.hdr.Mode&(0o4000|0o2000) != 0 {
			t.Errorf("/%s is setuid or setgid", path)
		}
		if !f.hdr.ModTime.Equal(epoch) {
			t.Errorf("/%s dated %s, want the fixed epoch", path, f.hdr.ModTime)
		}
	}
}

type entry struct {
	hdr  *tar.Header
	body []byte
}

func readLayer(t *testing.T, l v1.Layer) map[string]entry {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatalf("opening the layer: %v", err)
	}
	defer rc.Close()
	files := map[string]entry{}
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatalf("reading the layer: %v", err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatalf("reading %s: %v", hdr.Name, err)
		}
		files[strings.TrimSuffix(hdr.Name, "/")] = entry{hdr: hdr, body: body}
	}
}

func mapKeys(m map[string]entry) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestAppVersionIsTheChart(t *testing.T) {
	v, err := appVersion(filepath.Join("..", "..", "manifests", "chart", "tailor", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if v == "" || strings.ContainsAny(v, `"' `) {
		t.Errorf("appVersion %q", v)
	}
}

func TestParsePlatforms(t *testing.T) {
	ps, err := parsePlatforms("linux/amd64, linux/arm64")
	if err != nil || len(ps) != 2 || ps[1] != (platform{"linux", "arm64"}) {
		t.Errorf("got %v, %v", ps, err)
	}
	for _, bad := range []string{"amd64", "linux/", "linux/arm/v7"} {
		if _, err := parsePlatforms(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
