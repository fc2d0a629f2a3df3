package kubeapi

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// binDir is where `make kube-apiserver` puts kube-apiserver, etcd and helm.
const binDir = "../../kubeapi/bin"

// cluster is one kube-apiserver and its etcd, started by this test binary.
type cluster struct {
	dir       string
	etcd      *process
	apiserver *process
	config    *rest.Config
	dynamic   dynamic.Interface
	discovery discovery.DiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	// version is the server's gitVersion (/version).
	version string

	mu sync.Mutex
	// namespaces this test created, with the labels last applied.
	namespaces map[string]map[string]string
	// scratch namespaces of the check's own (Pod Security probes).
	scratch map[string]bool

	apisOnce sync.Once
	apis     []string
	apisErr  error

	// rendered holds each chart render by release (chart, version, name,
	// namespace and values): the golden check and the Envoy Gateway
	// configuration check read the same output.
	rendered map[string][]renderedDoc
}

// process is a child process and the channel closed when it exits.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

var (
	clusterOnce sync.Once
	shared      *cluster
	sharedErr   error
)

// TestMain stops the processes the tests started, by PID, whatever the
// outcome. If the test binary dies instead (a panic, -timeout), the
// children get SIGKILL from the kernel (Pdeathsig).
func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.stop()
		if code == 0 {
			_ = os.RemoveAll(shared.dir)
		} else {
			fmt.Fprintf(os.Stderr, "kube-apiserver and etcd logs kept in %s\n", shared.dir)
		}
	}
	os.Exit(code)
}

// getCluster starts the API server on first use and returns it.
func getCluster(t *testing.T) *cluster {
	t.Helper()
	clusterOnce.Do(func() {
		start := time.Now()
		shared, sharedErr = startCluster()
		ready := time.Since(start)
		if sharedErr == nil {
			sharedErr = shared.installCRDs()
		}
		if sharedErr == nil {
			fmt.Fprintf(os.Stderr, "kube-apiserver %s ready in %s, upstream CRDs installed in %s\n", shared.version,
				ready.Round(100*time.Millisecond), (time.Since(start) - ready).Round(100*time.Millisecond))
		}
	})
	if sharedErr != nil {
		// As with the engine tests' Pulumi CLI: missing binaries skip the
		// check on a developer machine and fail it in CI (CI set).
		if errors.Is(sharedErr, errNoBinary) && os.Getenv("CI") == "" {
			t.Skip(sharedErr)
		}
		t.Fatal(sharedErr)
	}
	return shared
}

var errNoBinary = errors.New("run `make kube-apiserver` at the repository root first (it builds kube-apiserver, etcd and helm from their Go modules)")

func binary(name string) (string, error) {
	p, err := filepath.Abs(filepath.Join(binDir, name))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s is missing (%w): %w", p, err, errNoBinary)
	}
	return p, nil
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

func startProcess(name, dir string, args ...string) (*process, error) {
	bin, err := binary(name)
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logFile
	// Killed with this test binary if it dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	return p, nil
}

func (p *process) start() error {
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		if f, ok := p.cmd.Stderr.(*os.File); ok {
			_ = f.Close()
		}
		close(p.done)
	}()
	return nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// logTail is the end of the process's log, for failure messages.
func (p *process) logTail() string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

// kill sends SIGKILL to this process (by PID) and waits for it.
func (p *process) kill() {
	if p == nil || p.cmd.Process == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop asks the API server to terminate, then kills etcd at once: a
// graceful etcd close would wait minutes on the API server's watches.
func (c *cluster) stop() {
	if p := c.apiserver; p != nil && p.cmd.Process != nil && !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.kill()
		}
	}
	c.etcd.kill()
}

func writeServiceAccountKey(dir string) (string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "service-account.key")
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return path, os.WriteFile(path, b, 0o600)
}

func startCluster() (c *cluster, err error) {
	for _, name := range []string{"etcd", "kube-apiserver", "helm"} {
		if _, err := binary(name); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "kubeapi-")
	if err != nil {
		return nil, err
	}
	c = &cluster{dir: dir, namespaces: map[string]map[string]string{}}
	defer func() {
		if err != nil {
			c.stop()
			err = fmt.Errorf("%w\n(logs in %s)", err, dir)
		}
	}()

	// etcd on two free loopback ports.
	clientPort, err := freePort()
	if err != nil {
		return c, err
	}
	peerPort, err := freePort()
	if err != nil {
		return c, err
	}
	c.etcd, err = startProcess("etcd", dir,
		"-data-dir", filepath.Join(dir, "etcd"),
		"-client-port", strconv.Itoa(clientPort),
		"-peer-port", strconv.Itoa(peerPort))
	if err != nil {
		return c, err
	}
	stdout, err := c.etcd.cmd.StdoutPipe()
	if err != nil {
		return c, err
	}
	if err := c.etcd.start(); err != nil {
		return c, err
	}
	ready := make(chan bool, 1)
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			if s.Text() == "ready" {
				ready <- true
				break
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			return c, fmt.Errorf("etcd exited before it was ready:\n%s", c.etcd.logTail())
		}
	case <-time.After(60 * time.Second):
		return c, fmt.Errorf("etcd not ready after 60s:\n%s", c.etcd.logTail())
	}

	// kube-apiserver: loopback only, a system:masters token, RBAC,
	// privileged containers allowed (as on EKS), Pod Security admission
	// on (the default; namespaces are privileged unless labelled).
	saKey, err := writeServiceAccountKey(dir)
	if err != nil {
		return c, err
	}
	tok := make([]byte, 16)
	if _, err := rand.Read(tok); err != nil {
		return c, err
	}
	token := hex.EncodeToString(tok)
	tokenFile := filepath.Join(dir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(token+",kubeapi-test,kubeapi-test,system:masters\n"), 0o600); err != nil {
		return c, err
	}
	port, err := freePort()
	if err != nil {
		return c, err
	}
	certDir := filepath.Join(dir, "certs")
	c.apiserver, err = startProcess("kube-apiserver", dir,
		"--etcd-servers=http://127.0.0.1:"+strconv.Itoa(clientPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--cert-dir="+certDir,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+saKey,
		"--service-account-signing-key-file="+saKey,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--token-auth-file="+tokenFile,
		"--authorization-mode=RBAC",
		"--allow-privileged=true",
		"--profiling=false",
		"--v=0",
	)
	if err != nil {
		return c, err
	}
	if err := c.apiserver.start(); err != nil {
		return c, err
	}

	c.config = &rest.Config{
		Host:        "https://127.0.0.1:" + strconv.Itoa(port),
		BearerToken: token,
		// The serving certificate is the self-signed one the server
		// writes into --cert-dir, for its advertise address 127.0.0.1.
		TLSClientConfig:           rest.TLSClientConfig{CAFile: filepath.Join(certDir, "apiserver.crt")},
		QPS:                       200,
		Burst:                     400,
		WarningHandlerWithContext: warningCollector{},
	}
	if err := c.waitReady(90 * time.Second); err != nil {
		return c, err
	}
	if c.dynamic, err = dynamic.NewForConfig(c.config); err != nil {
		return c, err
	}
	if c.discovery, err = discovery.NewDiscoveryClientForConfig(c.config); err != nil {
		return c, err
	}
	c.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.discovery))
	info, err := c.discovery.ServerVersion()
	if err != nil {
		return c, err
	}
	c.version = info.GitVersion
	return c, nil
}

// waitReady polls /readyz until the server answers ok.
func (c *cluster) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := errors.New("no serving certificate yet")
	var dc *discovery.DiscoveryClient
	for time.Now().Before(deadline) {
		if c.apiserver.exited() {
			return fmt.Errorf("kube-apiserver exited (%w):\n%s", c.apiserver.err, c.apiserver.logTail())
		}
		// The certificate appears once the server has started; the
		// client reads it when it is built.
		if _, err := os.Stat(c.config.CAFile); err == nil && dc == nil {
			if dc, err = discovery.NewDiscoveryClientForConfig(c.config); err != nil {
				return err
			}
		}
		if dc != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := dc.RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			cancel()
			if err == nil {
				return nil
			}
			last = err
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("kube-apiserver not ready after %s (last: %w):\n%s", timeout, last, c.apiserver.logTail())
}

// warnings are collected per request through the context.
type warningsKey struct{}

type warningList struct {
	mu   sync.Mutex
	list []string
}

type warningCollector struct{}

func (warningCollector) HandleWarningHeaderWithContext(ctx context.Context, code int, agent, text string) {
	if w, ok := ctx.Value(warningsKey{}).(*warningList); ok && code == 299 {
		w.mu.Lock()
		w.list = append(w.list, text)
		w.mu.Unlock()
	}
}

func withWarnings(ctx context.Context) (context.Context, *warningList) {
	w := &warningList{}
	return context.WithValue(ctx, warningsKey{}, w), w
}
