// Command awi-controlplane runs a real kube-apiserver with an embedded etcd
// in one process, for awi's tests and local runs on machines without a
// container runtime. It generates its own PKI, serves with RBAC and a
// service-account issuer so TokenRequest issues real JWTs, writes a
// kubeconfig and a state file, and stops cleanly on SIGTERM or SIGINT.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

// State is what other processes read to find the control plane.
type State struct {
	PID        int    `json:"pid"`
	Port       int    `json:"port"`
	EtcdPort   int    `json:"etcdPort"`
	Server     string `json:"server"`
	Issuer     string `json:"issuer"`
	JWKSURI    string `json:"jwksUri"`
	Kubeconfig string `json:"kubeconfig"`
	CAFile     string `json:"caFile"`
	ClientCert string `json:"clientCertFile"`
	ClientKey  string `json:"clientKeyFile"`
	SAPubKey   string `json:"serviceAccountPublicKeyFile"`
	Version    string `json:"version"`
}

func main() {
	dir := flag.String("dir", "", "folder for PKI, etcd data, kubeconfig and state.json (required)")
	port := flag.Int("port", 0, "secure port for kube-apiserver (0 picks a free one)")
	verbosity := flag.String("v", "0", "kube-apiserver log verbosity")
	exitWithParent := flag.Bool("exit-with-parent", false, "stop when the process that started us exits, so a killed test run leaves nothing behind")
	flag.Parse()
	if *exitWithParent {
		watchParent()
	}
	if *dir == "" {
		fatal(fmt.Errorf("--dir is required"))
	}
	if err := run(*dir, *port, *verbosity); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "awi-controlplane: %v\n", err)
	os.Exit(1)
}

func run(dir string, port int, verbosity string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// A state file from an earlier run would mislead readers until we are ready.
	_ = os.Remove(filepath.Join(dir, "state.json"))

	if port == 0 {
		if port, err = freePort(); err != nil {
			return err
		}
	}
	etcdPort, err := freePort()
	if err != nil {
		return err
	}
	peerPort, err := freePort()
	if err != nil {
		return err
	}

	p, err := writePKI(filepath.Join(dir, "pki"))
	if err != nil {
		return fmt.Errorf("generating PKI: %w", err)
	}

	etcd, err := startEtcd(filepath.Join(dir, "etcd"), etcdPort, peerPort)
	if err != nil {
		return fmt.Errorf("starting etcd: %w", err)
	}
	defer func() {
		etcd.Close()
		<-etcd.Server.StopNotify()
	}()

	server := fmt.Sprintf("https://127.0.0.1:%d", port)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, server, p); err != nil {
		return err
	}

	cmd := app.NewAPIServerCommand()
	cmd.SetArgs([]string{
		"--etcd-servers=" + fmt.Sprintf("http://127.0.0.1:%d", etcdPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--tls-cert-file=" + p.ServingCert,
		"--tls-private-key-file=" + p.ServingKey,
		"--client-ca-file=" + p.CACert,
		"--authorization-mode=RBAC",
		"--service-account-issuer=" + server,
		"--service-account-key-file=" + p.SAPub,
		"--service-account-signing-key-file=" + p.SAKey,
		"--api-audiences=" + server,
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		// No controller-manager runs, so nothing would create the ServiceAccounts
		// this plugin insists on for pods; tests create their own.
		"--disable-admission-plugins=ServiceAccount",
		"--enable-priority-and-fairness=false",
		// The "kubernetes" Service endpoints may not point at loopback; nothing here needs them.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--v=" + verbosity,
	})

	state := State{
		PID: os.Getpid(), Port: port, EtcdPort: etcdPort, Server: server,
		Issuer: server, JWKSURI: server + "/openid/v1/jwks",
		Kubeconfig: kubeconfig, CAFile: p.CACert, ClientCert: p.ClientCert, ClientKey: p.ClientKey,
		SAPubKey: p.SAPub, Version: versionString(),
	}
	go func() {
		if err := waitReady(server, p, 2*time.Minute); err != nil {
			fmt.Fprintf(os.Stderr, "awi-controlplane: %v\n", err)
			os.Exit(1)
		}
		if err := writeJSONAtomic(filepath.Join(dir, "state.json"), state); err != nil {
			fmt.Fprintf(os.Stderr, "awi-controlplane: writing state: %v\n", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "awi-controlplane: ready at %s (kubeconfig %s)\n", server, kubeconfig)
	}()

	// The apiserver command installs its own SIGTERM/SIGINT handler and returns
	// after a graceful shutdown; etcd is closed by the deferred call above.
	runErr := cmd.ExecuteContext(context.Background())
	_ = os.Remove(filepath.Join(dir, "state.json"))
	return runErr
}

// watchParent sends ourselves SIGTERM once we are re-parented (the parent
// died), so the normal graceful shutdown path runs.
func watchParent() {
	parent := os.Getppid()
	go func() {
		for range time.Tick(time.Second) {
			if os.Getppid() != parent {
				_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
				return
			}
		}
	}()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startEtcd(dataDir string, clientPort, peerPort int) (*embed.Etcd, error) {
	// Each run starts with an empty store: tests expect a fresh cluster.
	if err := os.RemoveAll(dataDir); err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Dir = dataDir
	cfg.LogLevel = "error"
	clientURL, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", clientPort))
	peerURL, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", peerPort))
	cfg.ListenClientUrls = []url.URL{*clientURL}
	cfg.AdvertiseClientUrls = []url.URL{*clientURL}
	cfg.ListenPeerUrls = []url.URL{*peerURL}
	cfg.AdvertisePeerUrls = []url.URL{*peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// Test data need not survive a power cut; skipping fsync keeps etcd fast.
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, fmt.Errorf("etcd not ready after 60s")
	}
}

func waitReady(server string, p *pki, timeout time.Duration) error {
	caPEM, err := os.ReadFile(p.CACert)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	cert, err := tls.LoadX509KeyPair(p.ClientCert, p.ClientKey)
	if err != nil {
		return err
	}
	client := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}}},
	}
	deadline := time.Now().Add(timeout)
	last := "no answer"
	for time.Now().Before(deadline) {
		resp, err := client.Get(server + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after %s: %s", timeout, last)
}

func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
