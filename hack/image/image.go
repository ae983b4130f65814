package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// The paths and the user every Tailor image has; the test reads them back.
const (
	binaryPath = "/usr/local/bin/tailor"
	caPath     = "/etc/ssl/certs/ca-certificates.crt"
	// 65532 is distroless's nonroot, so clusters that allow-list that UID
	// admit Tailor without a new exception. A number, not a name: the
	// kubelet can only enforce runAsNonRoot on a numeric user.
	nonrootID = 65532
	user      = "65532:65532"
)

// epoch dates every file, the config and the history, so the same binary and
// CA bundle give the same digest on any machine on any day.
var epoch = time.Unix(0, 0).UTC()

// platform is one os/arch an image is built for.
type platform struct {
	OS, Arch string
}

func (p platform) String() string { return p.OS + "/" + p.Arch }

// metadata is what the image says about itself: OCI labels on each config and
// annotations on the index, so a registry (ghcr.io links the package to the
// repository by the source) and `crane config` show where it came from.
type metadata struct {
	Source, Version, Revision string
}

func (m metadata) labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":  "tailor",
		"org.opencontainers.image.source": m.Source,
	}
	if m.Version != "" {
		l["org.opencontainers.image.version"] = m.Version
	}
	if m.Revision != "" {
		l["org.opencontainers.image.revision"] = m.Revision
	}
	return l
}

// mozillaRoots is a PEM bundle of the NSS (Mozilla) roots that
// golang.org/x/crypto/x509roots/fallback ships. A Go module pins it in
// go.sum, so the image does not depend on the build machine's
// ca-certificates. Roots with a distrust-after date are left out: PEM cannot
// carry that constraint, and trusting them without it would trust
// certificates Mozilla no longer does.
func mozillaRoots() (pem []byte, skipped int, err error) {
	var buf bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			skipped++
			continue
		}
		if err := pemEncode(&buf, root.Certificate); err != nil {
			return nil, 0, err
		}
	}
	if buf.Len() == 0 {
		return nil, 0, fmt.Errorf("the x509roots bundle has no unconstrained roots")
	}
	return buf.Bytes(), skipped, nil
}

func pemEncode(w io.Writer, der []byte) error {
	if err := pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: der}); err != nil {
		return fmt.Errorf("encoding a root as PEM: %w", err)
	}
	return nil
}

// file is one entry of the image's only layer.
type file struct {
	path     string
	mode     int64
	uid, gid int
	dir      bool
	body     []byte
	// src is read instead of body, so the binary is streamed, not held.
	src string
}

// rootfs lists the layer in order, parents before children, as a tar from
// `docker export` would be, so every extractor creates the directories with
// these modes rather than defaults.
func rootfs(binary string, caBundle []byte) []file {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", nonrootID, nonrootID)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", nonrootID)
	return []file{
		{path: "etc/", mode: 0o755, dir: true},
		// Some libraries (os/user, and tools run under `kubectl debug`) look
		// the running user up; without an entry they report "unknown user".
		{path: "etc/group", mode: 0o644, body: []byte(group)},
		{path: "etc/passwd", mode: 0o644, body: []byte(passwd)},
		{path: "etc/ssl/", mode: 0o755, dir: true},
		{path: "etc/ssl/certs/", mode: 0o755, dir: true},
		// Go's crypto/x509 reads this path first on Linux; the AWS SDK's
		// HTTPS calls need it, the Kubernetes client brings its own CA.
		{path: caPath[1:], mode: 0o644, body: caBundle},
		{path: "home/", mode: 0o755, dir: true},
		{path: "home/nonroot/", mode: 0o700, uid: nonrootID, gid: nonrootID, dir: true},
		// The mount point for an emptyDir when something must write under a
		// read-only root filesystem; os.TempDir names it.
		{path: "tmp/", mode: 0o1777, dir: true},
		{path: "usr/", mode: 0o755, dir: true},
		{path: "usr/local/", mode: 0o755, dir: true},
		{path: "usr/local/bin/", mode: 0o755, dir: true},
		{path: binaryPath[1:], mode: 0o755, uid: nonrootID, gid: nonrootID, src: binary},
	}
}

// writeLayer writes the gzipped layer to path once. Handing go-containerregistry
// an already compressed file makes the digest a plain hash of it; an
// uncompressed one would be gzipped again for the digest, the layout and the
// tarball, which for a binary this size costs more than the rest of the build.
func writeLayer(path string, files []file) (err error) {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating the layer: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("closing the layer %s: %w", path, cerr)
		}
	}()
	zw, err := gzip.NewWriterLevel(out, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("starting gzip: %w", err)
	}
	tw := tar.NewWriter(zw)
	for _, f := range files {
		if err := writeEntry(tw, f); err != nil {
			return fmt.Errorf("adding /%s to the layer: %w", f.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("finishing the layer's tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finishing the layer's gzip: %w", err)
	}
	return nil
}

func writeEntry(tw *tar.Writer, f file) error {
	hdr := &tar.Header{
		Name:    f.path,
		Mode:    f.mode,
		Uid:     f.uid,
		Gid:     f.gid,
		ModTime: epoch,
		// USTAR keeps the entries free of PAX access and change times,
		// which would differ between builds.
		Format: tar.FormatUSTAR,
	}
	if f.dir {
		hdr.Typeflag = tar.TypeDir
		return tw.WriteHeader(hdr)
	}
	hdr.Typeflag = tar.TypeReg
	if f.src == "" {
		hdr.Size = int64(len(f.body))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(f.body)
		return err
	}
	in, err := os.Open(f.src)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	hdr.Size = info.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if _, err := io.Copy(tw, in); err != nil {
		return fmt.Errorf("copying %s: %w", f.src, err)
	}
	return nil
}

// buildImage makes the image of one platform from its binary: one layer on
// an empty base, so there is no shell, package manager or libc for a
// vulnerability scanner to report or an attacker to use. The layer is
// written into dir.
func buildImage(p platform, binary string, caBundle []byte, meta metadata, dir string) (v1.Image, error) {
	layerPath := filepath.Join(dir, "layer.tar.gz")
	if err := writeLayer(layerPath, rootfs(binary, caBundle)); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	layer, err := tarball.LayerFromFile(layerPath, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("%s: reading the layer back: %w", p, err)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer: layer,
		History: v1.History{
			Created:   v1.Time{Time: epoch},
			CreatedBy: "hack/image: " + binaryPath + ", the CA bundle and the nonroot user",
			Comment:   "built from Go modules, without a base image",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: appending the layer: %w", p, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("%s: reading the config: %w", p, err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = p.OS, p.Arch
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config = v1.Config{
		Entrypoint: []string{binaryPath},
		User:       user,
		WorkingDir: "/",
		Env:        []string{"PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Labels:     meta.labels(),
	}
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: setting the config: %w", p, err)
	}
	return img, nil
}

// built is one platform's image.
type built struct {
	Platform platform
	Image    v1.Image
}

// buildIndex puts the platforms' images under one OCI index, the thing a
// registry tag points to so each node pulls its own architecture.
func buildIndex(images []built, meta metadata) (v1.ImageIndex, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, b := range images {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: b.Image,
			Descriptor: v1.Descriptor{
				Platform: &v1.Platform{OS: b.Platform.OS, Architecture: b.Platform.Arch},
			},
		})
	}
	annotated, ok := mutate.Annotations(idx, meta.labels()).(v1.ImageIndex)
	if !ok {
		return nil, fmt.Errorf("annotating the index gave no index")
	}
	return annotated, nil
}
