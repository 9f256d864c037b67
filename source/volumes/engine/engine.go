// Package engine is zuulstate's side of the Docker Engine API for the
// volumes source and its restore: connecting (locally or to a remote engine
// over TLS), the helper image zuulstate imports itself (no registry is ever
// asked), helper containers that reach volumes when their mountpoints are
// not readable, and the cleanup of helpers a crashed run left behind.
package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrUnreachable marks an engine that could not be reached at all.
var ErrUnreachable = errors.New("docker engine unreachable")

// API is the part of the Docker client zuulstate uses. *client.Client
// implements it; unit tests fake it.
type API interface {
	Ping(ctx context.Context) (types.Ping, error)
	ServerVersion(ctx context.Context) (types.Version, error)
	VolumeInspect(ctx context.Context, name string) (volume.Volume, error)
	VolumeList(ctx context.Context, opts volume.ListOptions) (volume.ListResponse, error)
	VolumeCreate(ctx context.Context, opts volume.CreateOptions) (volume.Volume, error)
	VolumeRemove(ctx context.Context, name string, force bool) error
	ContainerList(ctx context.Context, opts container.ListOptions) ([]container.Summary, error)
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerStop(ctx context.Context, id string, opts container.StopOptions) error
	ContainerStart(ctx context.Context, id string, opts container.StartOptions) error
	ContainerCreate(ctx context.Context, cfg *container.Config, host *container.HostConfig, net *network.NetworkingConfig, platform *ocispec.Platform, name string) (container.CreateResponse, error)
	ContainerRemove(ctx context.Context, id string, opts container.RemoveOptions) error
	ContainerAttach(ctx context.Context, id string, opts container.AttachOptions) (types.HijackedResponse, error)
	ContainerWait(ctx context.Context, id string, cond container.WaitCondition) (<-chan container.WaitResponse, <-chan error)
	CopyFromContainer(ctx context.Context, id, path string) (io.ReadCloser, container.PathStat, error)
	ImageImport(ctx context.Context, src image.ImportSource, ref string, opts image.ImportOptions) (io.ReadCloser, error)
	ImageList(ctx context.Context, opts image.ListOptions) ([]image.Summary, error)
	ImageRemove(ctx context.Context, id string, opts image.RemoveOptions) ([]image.DeleteResponse, error)
	Close() error
}

var _ API = (*client.Client)(nil)

// Conn says how to reach an engine. An empty Host means what the docker
// CLI does: DOCKER_HOST, DOCKER_TLS_VERIFY and DOCKER_CERT_PATH from the
// environment, else the local socket.
type Conn struct {
	Host string
	TLS  *tls.Config // nil: plain (unix socket, or TLS from the environment)
}

// Engine is a connected engine plus what one run of zuulstate did on it.
type Engine struct {
	API API
	// Host is the engine address for messages (it carries no secrets).
	Host string
	// Version is the engine's version, recorded in part metadata.
	Version string
	local   bool
	owner   string
	log     *slog.Logger
	image   string // helper image imported by this run, "" if none
}

// Connect opens a client and pings the engine, so a wrong address fails
// before any work starts.
func Connect(ctx context.Context, c Conn, log *slog.Logger) (*Engine, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []client.Opt{client.WithAPIVersionNegotiation()}
	switch {
	case c.Host == "":
		opts = append(opts, client.FromEnv)
	case c.TLS != nil:
		// The TLS transport first: WithHost then sets up its dialer.
		opts = append(opts, client.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: c.TLS}}), client.WithHost(c.Host))
	default:
		opts = append(opts, client.WithHost(c.Host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker engine %s: %w (check sources.volumes.docker.host or DOCKER_HOST)", c.Host, err)
	}
	e := &Engine{API: cli, Host: cli.DaemonHost(), owner: ownerLabel(), log: log}
	e.local = isLocal(e.Host)
	v, err := cli.ServerVersion(ctx)
	if err != nil {
		cli.Close()
		return nil, e.Wrap(err, "connect")
	}
	e.Version = v.Version
	return e, nil
}

// New wraps an API (tests, fakes) as an Engine.
func New(api API, host string, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{API: api, Host: host, local: isLocal(host), owner: ownerLabel(), log: log}
}

// Local reports whether the engine runs on this machine (unix socket or
// loopback TCP), the precondition for reading its mountpoints directly.
func (e *Engine) Local() bool { return e.local }

// Close releases the client.
func (e *Engine) Close() error { return e.API.Close() }

func isLocal(host string) bool {
	u, err := url.Parse(host)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "unix", "npipe":
		return true
	case "tcp", "http", "https":
		ip := net.ParseIP(u.Hostname())
		return u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
	}
	return false
}

// Wrap turns a client error into one line saying what to do. Engine
// errors carry no credentials: TLS material is never part of them.
func (e *Engine) Wrap(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errdefs.IsPermissionDenied(err), strings.Contains(err.Error(), "permission denied"):
		return fmt.Errorf("docker engine at %s: %s: %w (run as root or as a member of the docker group)", e.Host, what, err)
	case client.IsErrConnectionFailed(err), isDialError(err):
		return fmt.Errorf("%w: %s at %s: %w (is dockerd running? check sources.volumes.docker.host or DOCKER_HOST)", ErrUnreachable, what, e.Host, err)
	}
	return fmt.Errorf("docker engine at %s: %s: %w", e.Host, what, err)
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// IsNotFound reports a missing volume, container or image.
func IsNotFound(err error) bool { return errdefs.IsNotFound(err) }

// HelperFilter selects the containers and images zuulstate created.
func HelperFilter() filters.Args { return filters.NewArgs(filters.Arg("label", LabelHelper+"=true")) }

// Owner is the owner label of this run's helpers.
func (e *Engine) Owner() string { return e.owner }
