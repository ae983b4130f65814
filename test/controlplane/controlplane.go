package controlplane

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options say what to run and where.
type Options struct {
	// Dir holds data, certificates, logs and the kubeconfig. Empty means a new
	// temporary directory, removed by Stop.
	Dir string
	// ControllerManager also runs kube-controller-manager: nodes lose the
	// not-ready taint, Deployments make pods, service accounts appear.
	ControllerManager bool
	// Kwok also runs kwok, which keeps nodes annotated
	// kwok.x-k8s.io/node=fake Ready and runs their pods.
	Kwok bool
	// CRDDir holds the CRDs to install; empty means manifests/crds of the
	// repository, "-" installs none.
	CRDDir string
	// Detach lets the processes outlive this one (the local cluster);
	// their pids are written to Dir/pids.
	Detach bool
	// StartTimeout bounds the wait for each component; 2 minutes by default,
	// since a loaded 2-core machine starts kube-apiserver slowly.
	StartTimeout time.Duration
}

// ControlPlane is a running etcd and kube-apiserver, and more on request.
type ControlPlane struct {
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	// Kubeconfig is the path of an admin kubeconfig file.
	Kubeconfig string
	// Dir holds the state of this control plane.
	Dir string

	procs  []*process
	tmpDir bool
	pki    *pki
}

// Start runs etcd and kube-apiserver (and kube-controller-manager when asked)
// on free loopback ports, installs the CRDs, and returns once the API server
// is ready and the CRDs are established.
func Start(ctx context.Context, opts Options) (_ *ControlPlane, err error) {
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 2 * time.Minute
	}
	cp := &ControlPlane{Dir: opts.Dir}
	if cp.Dir == "" {
		if cp.Dir, err = os.MkdirTemp("", "tailor-controlplane-"); err != nil {
			return nil, fmt.Errorf("creating the control-plane directory: %w", err)
		}
		cp.tmpDir = true
	} else if err := os.MkdirAll(cp.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating %s: %w", cp.Dir, err)
	}
	defer func() {
		if err != nil {
			_ = cp.Stop()
		}
	}()
	certDir := filepath.Join(cp.Dir, "pki")
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", certDir, err)
	}
	if cp.pki, err = newPKI(certDir); err != nil {
		return nil, err
	}

	etcdURL, err := cp.startEtcd(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := cp.startAPIServer(ctx, opts, etcdURL); err != nil {
		return nil, err
	}
	if err := cp.installCRDs(ctx, opts.CRDDir); err != nil {
		return nil, err
	}
	if opts.ControllerManager {
		if err := cp.startControllerManager(ctx, opts); err != nil {
			return nil, err
		}
	}
	if opts.Kwok {
		if err := cp.startKwok(opts); err != nil {
			return nil, err
		}
	}
	if opts.Detach {
		if err := cp.writePIDs(); err != nil {
			return nil, err
		}
	}
	return cp, nil
}

// retryPorts starts a component up to three times on fresh ports, since a
// free port may be taken between our probe and the child's bind.
func retryPorts(ctx context.Context, start func() error) error {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = start(); err == nil || ctx.Err() != nil {
			return err
		}
		if !strings.Contains(err.Error(), "address already in use") {
			return err
		}
	}
	return err
}

func (cp *ControlPlane) startEtcd(ctx context.Context, opts Options) (string, error) {
	path, err := binary("etcd")
	if err != nil {
		return "", err
	}
	var clientURL string
	err = retryPorts(ctx, func() error {
		client, err := freePort()
		if err != nil {
			return err
		}
		peer, err := freePort()
		if err != nil {
			return err
		}
		clientURL = "http://127.0.0.1:" + strconv.Itoa(client)
		peerURL := "http://127.0.0.1:" + strconv.Itoa(peer)
		p, err := startProcess("etcd", path, []string{
			"--name=default",
			"--data-dir=" + filepath.Join(cp.Dir, "etcd"),
			"--listen-client-urls=" + clientURL,
			"--advertise-client-urls=" + clientURL,
			"--listen-peer-urls=" + peerURL,
			"--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=default=" + peerURL,
			"--unsafe-no-fsync=true",
			"--log-level=warn",
		}, cp.Dir, opts.Detach)
		if err != nil {
			return err
		}
		cp.procs = append(cp.procs, p)
		return waitReady(ctx, p, opts.StartTimeout, http.DefaultClient, clientURL+"/health")
	})
	return clientURL, err
}

func (cp *ControlPlane) startAPIServer(ctx context.Context, opts Options, etcdURL string) error {
	path, err := binary("kube-apiserver")
	if err != nil {
		return err
	}
	admission := []string{}
	if !opts.ControllerManager {
		// Without the token controller no "default" service account appears,
		// and the ServiceAccount admission plugin would refuse every pod.
		admission = append(admission, "--disable-admission-plugins=ServiceAccount")
	}
	return retryPorts(ctx, func() error {
		port, err := freePort()
		if err != nil {
			return err
		}
		host := "https://127.0.0.1:" + strconv.Itoa(port)
		args := append([]string{
			"--etcd-servers=" + etcdURL,
			"--etcd-prefix=/registry",
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			"--secure-port=" + strconv.Itoa(port),
			"--cert-dir=" + filepath.Join(cp.Dir, "pki"),
			"--tls-cert-file=" + cp.pki.ServingCert,
			"--tls-private-key-file=" + cp.pki.ServingKey,
			"--client-ca-file=" + cp.pki.CACert,
			"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
			"--service-account-key-file=" + cp.pki.ServiceAccountKey,
			"--service-account-signing-key-file=" + cp.pki.ServiceAccountKey,
			"--service-cluster-ip-range=10.0.0.0/24",
			"--authorization-mode=RBAC",
			"--allow-privileged=true",
			"--enable-priority-and-fairness=false",
			"--profiling=false",
			"--v=1",
		}, admission...)
		p, err := startProcess("kube-apiserver", path, args, cp.Dir, opts.Detach)
		if err != nil {
			return err
		}
		cp.procs = append(cp.procs, p)
		cp.Config = cp.adminConfig(host)
		httpClient, err := cp.adminHTTPClient()
		if err != nil {
			return err
		}
		if err := waitReady(ctx, p, opts.StartTimeout, httpClient, host+"/readyz"); err != nil {
			return err
		}
		cp.Kubeconfig = filepath.Join(cp.Dir, "kubeconfig")
		return cp.WriteKubeconfig(cp.Kubeconfig)
	})
}

func (cp *ControlPlane) startControllerManager(ctx context.Context, opts Options) error {
	path, err := binary("kube-controller-manager")
	if err != nil {
		return err
	}
	p, err := startProcess("kube-controller-manager", path, []string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--authentication-kubeconfig=" + cp.Kubeconfig,
		"--authorization-kubeconfig=" + cp.Kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--service-account-private-key-file=" + cp.pki.ServiceAccountKey,
		"--root-ca-file=" + cp.pki.CACert,
		"--cluster-signing-cert-file=" + cp.pki.CACert,
		"--cluster-signing-key-file=" + cp.pki.CAKey,
		"--use-service-account-credentials=false",
		"--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route",
		// At the default 20 requests a second, a ReplicaSet of 1,000 pods
		// takes its controller 50 s to create: a scale-up would measure the
		// controller's client, not the autoscaler.
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--v=1",
	}, cp.Dir, opts.Detach)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, p)
	// The service-account controller making "default" in "default" shows the
	// controllers run, and pods can be created from then on.
	client, err := kubernetes.NewForConfig(cp.Config)
	if err != nil {
		return fmt.Errorf("building a client: %w", err)
	}
	deadline := time.Now().Add(opts.StartTimeout)
	for {
		_, err := client.CoreV1().ServiceAccounts(corev1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			return nil
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("waiting for kube-controller-manager: %w", err)
		}
		if p.exited() || time.Now().After(deadline) {
			return p.failure("did not create the default service account")
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
}

// KwokNodeAnnotation marks the nodes kwok manages: a node registered with it
// becomes Ready and runs its pods as a kubelet would.
const KwokNodeAnnotation = "kwok.x-k8s.io/node"

// kwokConfiguration raises kwok's workers; kwok's client is not rate
// limited.
const kwokConfiguration = `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  podPlayStageParallelism: 16
  nodePlayStageParallelism: 8
`

func (cp *ControlPlane) startKwok(opts Options) error {
	path, err := binary("kwok")
	if err != nil {
		return err
	}
	// A configuration of our own keeps a user's ~/.kwok out of the run; with
	// no stages in it kwok plays its default ones: nodes Ready with leases,
	// pods Running. Its default of 4 workers for pod stages takes seconds
	// to start a thousand pods bound at once, which a scale-up would
	// measure.
	config := filepath.Join(cp.Dir, "kwok.yaml")
	if err := os.WriteFile(config, []byte(kwokConfiguration), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", config, err)
	}
	p, err := startProcess("kwok", path, []string{
		"--kubeconfig=" + cp.Kubeconfig,
		"--config=" + config,
		"--manage-nodes-with-annotation-selector=" + KwokNodeAnnotation + "=fake",
		"--node-lease-duration-seconds=40",
	}, cp.Dir, opts.Detach)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, p)
	// kwok has no readiness endpoint we can rely on; a quick crash (bad flag,
	// unreachable server) shows within a second.
	time.Sleep(time.Second)
	if p.exited() {
		return p.failure("exited at start")
	}
	return nil
}

// waitReady polls url until it answers 200, the process dies, or the timeout passes.
func waitReady(ctx context.Context, p *process, timeout time.Duration, client *http.Client, url string) error {
	deadline := time.Now().Add(timeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if p.exited() {
			return p.failure("exited before it was ready")
		}
		if time.Now().After(deadline) {
			return p.failure(fmt.Sprintf("was not ready at %s within %s", url, timeout))
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func (cp *ControlPlane) adminConfig(host string) *rest.Config {
	return &rest.Config{
		Host: host,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   cp.pki.caPEM,
			CertData: cp.pki.adminPEM,
			KeyData:  cp.pki.adminKey,
		},
		QPS:   1000,
		Burst: 2000,
	}
}

// AdminCertificate is the admin's client certificate, for a test that
// calls a component which authenticates its callers through the API
// server's client CA, as kube-scheduler's secure port does.
func (cp *ControlPlane) AdminCertificate() (tls.Certificate, error) {
	cert, err := tls.X509KeyPair(cp.pki.adminPEM, cp.pki.adminKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("loading the admin certificate: %w", err)
	}
	return cert, nil
}

func (cp *ControlPlane) adminHTTPClient() (*http.Client, error) {
	cert, err := tls.X509KeyPair(cp.pki.adminPEM, cp.pki.adminKey)
	if err != nil {
		return nil, fmt.Errorf("loading the admin certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cp.pki.caPEM)
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}},
	}, nil
}

// WriteKubeconfig writes an admin kubeconfig with the certificates embedded.
func (cp *ControlPlane) WriteKubeconfig(path string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["tailor"] = &clientcmdapi.Cluster{Server: cp.Config.Host, CertificateAuthorityData: cp.pki.caPEM}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cp.pki.adminPEM, ClientKeyData: cp.pki.adminKey}
	cfg.Contexts["tailor"] = &clientcmdapi.Context{Cluster: "tailor", AuthInfo: "admin"}
	cfg.CurrentContext = "tailor"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return fmt.Errorf("writing kubeconfig %s: %w", path, err)
	}
	return nil
}

// AddProcess runs another binary beside the control plane (kwok, the EC2
// simulator, the scheduler...) so that Stop ends it too. Its log is
// Dir/<name>.log.
func (cp *ControlPlane) AddProcess(name, path string, args []string, detach bool) error {
	p, err := startProcess(name, path, args, cp.Dir, detach)
	if err != nil {
		return err
	}
	cp.procs = append(cp.procs, p)
	if detach {
		return cp.writePIDs()
	}
	return nil
}

func (cp *ControlPlane) writePIDs() error {
	var b strings.Builder
	for _, p := range cp.procs {
		fmt.Fprintf(&b, "%d %s %s\n", p.cmd.Process.Pid, p.name, p.cmd.Path)
	}
	return os.WriteFile(filepath.Join(cp.Dir, "pids"), []byte(b.String()), 0o644)
}

// Stop ends every process in reverse order of start and removes a temporary
// directory. It is safe to call more than once.
func (cp *ControlPlane) Stop() error {
	var errs []error
	for i := len(cp.procs) - 1; i >= 0; i-- {
		if err := cp.procs[i].stop(10 * time.Second); err != nil {
			errs = append(errs, err)
		}
	}
	cp.procs = nil
	if cp.tmpDir {
		if err := os.RemoveAll(cp.Dir); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", cp.Dir, err))
		}
		cp.tmpDir = false
	}
	return errors.Join(errs...)
}
