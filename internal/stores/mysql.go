package stores

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQL is a throwaway MariaDB server: mariadb-install-db in a temporary directory, one
// mariadbd on a free loopback port with its socket in that directory, the redo log flushed
// lazily (the data is thrown away), user root without a password. Run as root, the server runs
// as the user "mysql" (made by the Debian package).
type MySQL struct {
	dir  string
	port int
	process
}

// MySQLPackage is the Debian package that provides mariadb-install-db and mariadbd.
const MySQLPackage = "mariadb-server"

// mysqlBins finds mariadb-install-db and mariadbd in PATH or /usr/sbin, /usr/bin.
func mysqlBins() (install, server string, err error) {
	find := func(names ...string) string {
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
			for _, d := range []string{"/usr/sbin", "/usr/bin"} {
				if st, err := os.Stat(filepath.Join(d, n)); err == nil && !st.IsDir() {
					return filepath.Join(d, n)
				}
			}
		}
		return ""
	}
	install, server = find("mariadb-install-db", "mysql_install_db"), find("mariadbd", "mysqld")
	if install == "" || server == "" {
		return "", "", fmt.Errorf("MariaDB: mariadb-install-db and mariadbd not found (install the Debian package %q: apt-get install %s): %w",
			MySQLPackage, MySQLPackage, ErrMissing)
	}
	return install, server, nil
}

// StartMySQL initialises and starts a MariaDB server, and waits until it answers a query.
func StartMySQL(ctx context.Context, o Options) (*MySQL, error) {
	o.defaults()
	install, server, err := mysqlBins()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.Dir, "flashload-mysql-")
	if err != nil {
		return nil, err
	}
	m := &MySQL{dir: dir}
	ok := false
	defer func() {
		if !ok {
			m.Stop()
		}
	}()
	runAs := []string{}
	if os.Geteuid() == 0 {
		// mariadbd refuses root unless told; the Debian package's own user owns the files.
		runAs = []string{"--user=mysql"}
		if err := exec.Command("chown", "mysql:mysql", dir).Run(); err != nil {
			return nil, fmt.Errorf("chown %s to mysql (made by the Debian package %q): %v", dir, MySQLPackage, err)
		}
	}
	initCtx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()
	args := append([]string{"--no-defaults"}, runAs...)
	args = append(args, "--datadir="+m.dataDir(), "--auth-root-authentication-method=normal", "--skip-test-db")
	if out, err := exec.CommandContext(initCtx, install, args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %v: %s", err, strings.TrimSpace(string(out)))
	}
	m.process = process{what: "mariadbd", ready: m.ping, timeout: o.StartTimeout, stopSig: syscall.SIGTERM, grace: 10 * time.Second,
		command: func() *exec.Cmd {
			a := append([]string{"--no-defaults"}, runAs...)
			a = append(a, "--datadir="+m.dataDir(), "--bind-address=127.0.0.1", "--port="+itoa(m.port),
				"--socket="+filepath.Join(dir, "mysqld.sock"), "--pid-file="+filepath.Join(dir, "mysqld.pid"),
				"--skip-log-bin", "--innodb-flush-log-at-trx-commit=0", "--innodb-buffer-pool-size=32M",
				"--max-connections=300", "--skip-name-resolve", "--log-error="+filepath.Join(dir, "error.log"))
			cmd := exec.Command(server, a...)
			cmd.SysProcAttr = sysProcAttr()
			return cmd
		}}
	for attempt := 0; ; attempt++ {
		if m.port, err = freePort(); err != nil {
			return nil, err
		}
		err = m.start(ctx)
		if err == nil {
			ok = true
			return m, nil
		}
		if m.Running() || attempt == 2 {
			return nil, fmt.Errorf("%w (%s)", err, m.logTail())
		}
	}
}

func (m *MySQL) dataDir() string { return filepath.Join(m.dir, "data") }

// logTail is the end of the server's error log, for a start that failed.
func (m *MySQL) logTail() string {
	b, _ := os.ReadFile(filepath.Join(m.dir, "error.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

func (m *MySQL) ping(ctx context.Context) error {
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		return err
	}
	defer db.Close()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var one int
	return db.QueryRowContext(cctx, "SELECT 1").Scan(&one)
}

// DSN is go-sql-driver's DSN of user root on database db ("": none).
func (m *MySQL) DSN(db string) string {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.DBName = "root", "tcp", "127.0.0.1:"+itoa(m.port), db
	return c.FormatDSN()
}

// Port is the loopback TCP port.
func (m *MySQL) Port() int { return m.port }

// Stop shuts the server down (SIGTERM, killed after 10s) and removes the directory. It is safe
// to call more than once.
func (m *MySQL) Stop() error {
	m.shutdown()
	if m.dir == "" {
		return nil
	}
	err := os.RemoveAll(m.dir)
	m.dir = ""
	return err
}
