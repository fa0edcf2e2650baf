package stores

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a throwaway PostgreSQL cluster: initdb in a temporary directory, one postgres
// server on a free loopback port with its unix socket in that directory, fsync off (the data
// is thrown away), synchronous_commit as Options.SyncCommit says, trust authentication for the
// superuser "postgres".
// Kill, Pause, Resume and Restart (the faults) keep its port and data directory.
type Postgres struct {
	dir  string
	port int
	process
}

// PostgresPackage is the Debian package that provides initdb and pg_ctl.
const PostgresPackage = "postgresql"

// pgBinGlob is where Debian installs the server binaries, one directory per major version.
var pgBinGlob = "/usr/lib/postgresql/*/bin"

// PostgresBin finds the directory holding initdb and postgres: $FLASHLOAD_PG_BIN, the newest
// /usr/lib/postgresql/*/bin, or PATH. Missing, it says which package to install.
func PostgresBin() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "postgres"} {
			if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() {
				return false
			}
		}
		return true
	}
	if d := os.Getenv("FLASHLOAD_PG_BIN"); d != "" {
		if has(d) {
			return d, nil
		}
		return "", fmt.Errorf("FLASHLOAD_PG_BIN=%s holds no initdb and postgres (install the Debian package %q): %w",
			d, PostgresPackage, ErrMissing)
	}
	dirs, _ := filepath.Glob(pgBinGlob)
	slices.SortFunc(dirs, func(a, b string) int { return pgMajor(b) - pgMajor(a) })
	for _, d := range dirs {
		if has(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", fmt.Errorf("PostgreSQL: initdb and postgres found neither under /usr/lib/postgresql/*/bin nor in PATH "+
		"(install the Debian package %q: apt-get install %s): %w", PostgresPackage, PostgresPackage, ErrMissing)
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// runAs is who runs initdb and postgres: the "postgres" user when we are root (PostgreSQL
// refuses to run as root), ourselves otherwise.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs the user \"postgres\" (created by the Debian package %q): %v", PostgresPackage, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// StartPostgres initialises and starts a cluster, and waits until it answers a query.
func StartPostgres(ctx context.Context, o Options) (*Postgres, error) {
	o.defaults()
	bin, err := PostgresBin()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.Dir, "flashload-pg-")
	if err != nil {
		return nil, err
	}
	pg := &Postgres{dir: dir}
	syncCommit := "off"
	if o.SyncCommit {
		syncCommit = "on"
	}
	ok := false
	defer func() {
		if !ok {
			pg.Stop()
		}
	}()
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	initCtx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	initdb := exec.CommandContext(initCtx, filepath.Join(bin, "initdb"), "-D", pg.dataDir(), "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = sysProcAttr()
	initdb.SysProcAttr.Credential = cred
	initdb.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, strings.TrimSpace(string(out)))
	}
	pg.process = process{what: "postgres", ready: pg.ping, timeout: o.StartTimeout, stopSig: syscall.SIGINT, grace: 10 * time.Second,
		command: func() *exec.Cmd {
			cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", pg.dataDir(), "-p", itoa(pg.port),
				"-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit="+syncCommit,
				"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=64MB")
			cmd.SysProcAttr = sysProcAttr()
			cmd.SysProcAttr.Credential = cred
			cmd.Env = append(os.Environ(), "LC_ALL=C")
			return cmd
		}}
	// A port taken between freePort and bind makes postgres exit; try a few.
	for attempt := 0; ; attempt++ {
		if pg.port, err = freePort(); err != nil {
			return nil, err
		}
		err = pg.start(ctx)
		if err == nil {
			ok = true
			return pg, nil
		}
		if pg.Running() || attempt == 2 || !strings.Contains(pg.p.tail(), "could not") {
			return nil, err
		}
	}
}

func (pg *Postgres) dataDir() string { return filepath.Join(pg.dir, "data") }

func (pg *Postgres) ping(ctx context.Context) error {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", itoa(pg.port)), time.Second)
	if err != nil {
		return err
	}
	c.Close()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, pg.URL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var one int
	return conn.QueryRow(cctx, "SELECT 1").Scan(&one)
}

// URL is the superuser's connection URL to the "postgres" database.
func (pg *Postgres) URL() string {
	return "postgres://postgres@127.0.0.1:" + itoa(pg.port) + "/postgres?sslmode=disable"
}

// Port is the loopback TCP port.
func (pg *Postgres) Port() int { return pg.port }

// Dir is the temporary directory (data directory and unix socket).
func (pg *Postgres) Dir() string { return pg.dir }

// Stop shuts the server down (fast shutdown, killed after 10s) and removes the directory.
// It is safe to call more than once.
func (pg *Postgres) Stop() error {
	pg.shutdown()
	if pg.dir == "" {
		return nil
	}
	err := os.RemoveAll(pg.dir)
	pg.dir = ""
	return err
}

// CreateDatabase creates an empty database called name on the cluster and returns its URL:
// one service's book of record, apart from the other rehearsals on the same cluster.
func (pg *Postgres) CreateDatabase(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return "postgres://postgres@127.0.0.1:" + itoa(pg.port) + "/" + name + "?sslmode=disable", nil
}
