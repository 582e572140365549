/*
 * pve-cri-init: the init shim of pve-cri (see docs/shim.md).
 *
 * PID 1 inside every LXC container that pve-cri creates.  It starts the
 * container's main process as described by a spec file, writes its output to
 * the CRI log file, forwards signals, reaps zombies and records the exit
 * status in files the daemon reads, so the container keeps working (and its
 * exit is recorded) while the Java daemon is stopped.
 *
 *   pve-cri-init SPECFILE                         main mode (PID 1)
 *   pve-cri-init exec [--timeout S] [--tty] -- CMD [ARG...]
 *                                                 run CMD with the identity of
 *                                                 the main process (lxc-attach)
 *   pve-cri-init tty-exec PTY -- CMD [ARG...]     host side: run CMD in a new
 *                                                 session whose controlling
 *                                                 terminal and stdio are PTY
 *
 * In main mode the shim also serves attach clients on the unix socket
 * $PVE_CRI_SHIM_DIR/attach.sock (framing: docs/shim.md, "Attach socket").
 *
 * Build: gcc -static -O2 -Wall -Wextra -Werror -o pve-cri-init pve-cri-init.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "pve-cri-security.h"

#define PROG "pve-cri-init"
#define DEFAULT_SHIM_DIR "/.pve-cri"
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_MAX_LINE 16384
#define MAX_MAX_LINE (16 * 1024 * 1024)
#define MAX_SPEC_SIZE (16 * 1024 * 1024)
#define DRAIN_TIMEOUT_MS 2000
#define REAP_TIMEOUT_MS 2000
#define READ_CHUNK 65536
#define CTL_BUF 4096
#define ATTACH_MAX_CLIENTS 16
#define ATTACH_OUT_MAX (1024 * 1024) /* pending output per attach client */
#define ATTACH_IN_MAX 65536          /* largest frame payload a client may send */
#define ATTACH_STDIN_BUF (2 * ATTACH_IN_MAX)
#define ATTACH_FLUSH_MS 1000         /* at exit: time to hand the last output to clients */
#define EXIT_INTERNAL 128

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static char path_started[PATH_MAX];
static char path_status[PATH_MAX];
static char path_ctl[PATH_MAX];
static char path_spec[PATH_MAX];
static char path_attach[PATH_MAX];

static ssize_t write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                if (poll(&pfd, 1, 1000) <= 0)
                    return -1;
                continue;
            }
            return -1;
        }
        p += n;
        left -= (size_t)n;
    }
    return (ssize_t)len;
}

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, PROG ": ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strlen(buf);
    buf[len++] = '\n';
    int saved = errno;
    (void)write_all(STDERR_FILENO, buf, len);
    errno = saved;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* strerror, first letter lower-cased (Go style). */
static const char *errstr(int err, char *buf, size_t len)
{
    snprintf(buf, len, "%s", strerror(err));
    if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
        buf[0] = (char)(buf[0] - 'A' + 'a');
    return buf;
}

/* Replace control characters so a message stays one line. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* Make sure fds 0, 1, 2 are open so pipes we create never land on them. */
static void ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int n = open("/dev/null", O_RDWR);
            if (n < 0) {
                int p[2];
                if (pipe(p) == 0) {    /* no /dev/null: any open fd will do */
                    if (p[0] != fd)
                        close(p[0]);
                    if (p[1] != fd)
                        close(p[1]);
                }
            } else if (n != fd) {
                dup2(n, fd);
                close(n);
            }
        }
    }
}

/* Write a file atomically: tmp, fsync, rename, fsync dir. */
static int write_file_atomic(const char *path, const char *data, size_t len)
{
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        msg("cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        msg("cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        msg("cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* spec                                                                */

struct strvec {
    char **v;
    size_t n, cap;
};

static void strvec_push(struct strvec *sv, char *s)
{
    if (sv->n + 2 > sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 16;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (!v) {
            msg("out of memory");
            exit(EXIT_INTERNAL);
        }
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n++] = s;
    sv->v[sv->n] = NULL;
}

struct spec {
    struct strvec args, env;
    const char *cwd;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    size_t ngroups, groups_cap;
    bool no_new_privs;
    bool has_caps;          /* caps=: keep only these capabilities (bit mask) */
    uint64_t caps;
    bool readonly_rootfs;   /* readonly_rootfs=1: remount / read-only before the main process */
    bool seccomp_default;   /* seccomp=runtime-default: the RuntimeDefault filter (pve-cri-security.h) */
    struct sock_filter *filter; /* seccomp_filter=FILE: a compiled Localhost profile (struct sock_filter[]) */
    size_t filter_len;      /* instructions in filter */
    unsigned int filter_flags; /* seccomp_flags=N: SECCOMP_FILTER_FLAG_* for seccomp(2) */
    struct strvec masked, ro_paths; /* masked_path= / readonly_path= (repeated) */
    bool has_oom;
    int oom_score_adj;
    bool tty, open_stdin;
    const char *log_path;
    size_t max_line;
};

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
    if (!*s)
        return false;
    unsigned long v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    bool neg = false;
    if (*s == '-') {
        neg = true;
        s++;
    } else if (*s == '+') {
        s++;
    }
    unsigned long v;
    if (!parse_ulong(s, (unsigned long)LONG_MAX, &v))
        return false;
    long r = neg ? -(long)v : (long)v;
    if (r < min || r > max)
        return false;
    *out = r;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "1") || !strcmp(s, "true")) {
        *out = true;
        return true;
    }
    if (!strcmp(s, "0") || !strcmp(s, "false") || !*s) {
        *out = false;
        return true;
    }
    return false;
}

static char *read_whole_file(const char *path, size_t *len_out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open spec %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf) {
            snprintf(err, errlen, "out of memory reading spec");
            close(fd);
            return NULL;
        }
        if (len == cap) {
            if (cap >= MAX_SPEC_SIZE) {
                snprintf(err, errlen, "spec %s is larger than %d bytes", path, MAX_SPEC_SIZE);
                free(buf);
                close(fd);
                return NULL;
            }
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                free(buf);
            buf = nb;
            continue;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "cannot read spec %s: %s", path, strerror(errno));
            free(buf);
            close(fd);
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

/* Parse SPECFILE (records KEY=VALUE\0).  Returns 0, or -1 with err set. */
static int parse_spec(const char *path, struct spec *sp, char *err, size_t errlen)
{
    memset(sp, 0, sizeof *sp);
    sp->max_line = DEFAULT_MAX_LINE;
    size_t len;
    char *buf = read_whole_file(path, &len, err, errlen);
    if (!buf)
        return -1;
    char *p = buf, *end = buf + len; /* buf[len] == '\0' */
    while (p < end) {
        char *rec = p;
        size_t rlen = strlen(rec);
        p += rlen + 1;
        if (rlen == 0)
            continue;
        char *eq = strchr(rec, '=');
        if (!eq) {
            snprintf(err, errlen, "spec: record without '=': \"%.40s\"", rec);
            one_line(err);
            return -1;
        }
        *eq = '\0';
        char *key = rec, *val = eq + 1;
        unsigned long u;
        long l;
        if (!strcmp(key, "arg")) {
            strvec_push(&sp->args, val);
        } else if (!strcmp(key, "env")) {
            strvec_push(&sp->env, val);
        } else if (!strcmp(key, "cwd")) {
            sp->cwd = val;
        } else if (!strcmp(key, "uid")) {
            if (!parse_ulong(val, 0xfffffffeUL, &u))
                goto bad;
            sp->uid = (uid_t)u;
        } else if (!strcmp(key, "gid")) {
            if (!parse_ulong(val, 0xfffffffeUL, &u))
                goto bad;
            sp->gid = (gid_t)u;
        } else if (!strcmp(key, "group")) {
            if (!parse_ulong(val, 0xfffffffeUL, &u))
                goto bad;
            if (sp->ngroups == sp->groups_cap) {
                size_t cap = sp->groups_cap ? sp->groups_cap * 2 : 16;
                gid_t *g = realloc(sp->groups, cap * sizeof *g);
                if (!g) {
                    snprintf(err, errlen, "out of memory");
                    return -1;
                }
                sp->groups = g;
                sp->groups_cap = cap;
            }
            sp->groups[sp->ngroups++] = (gid_t)u;
        } else if (!strcmp(key, "no_new_privs")) {
            if (!parse_bool(val, &sp->no_new_privs))
                goto bad;
        } else if (!strcmp(key, "caps")) {
            char *end = NULL;
            errno = 0;
            unsigned long long m = strtoull(val, &end, 10);
            if (errno || !*val || *end)
                goto bad;
            sp->has_caps = true;
            sp->caps = (uint64_t)m;
        } else if (!strcmp(key, "seccomp")) {
            if (strcmp(val, "runtime-default"))
                goto bad;
            sp->seccomp_default = true;
        } else if (!strcmp(key, "seccomp_filter")) {
            size_t flen;
            char *f = read_whole_file(val, &flen, err, errlen);
            if (!f)
                return -1;
            if (flen == 0 || flen % sizeof(struct sock_filter) || flen / sizeof(struct sock_filter) > BPF_MAXINSNS) {
                snprintf(err, errlen, "spec: seccomp filter %s has %zu bytes, not 1..%d instructions", val, flen,
                         BPF_MAXINSNS);
                free(f);
                return -1;
            }
            sp->filter = (struct sock_filter *)(void *)f;
            sp->filter_len = flen / sizeof(struct sock_filter);
        } else if (!strcmp(key, "seccomp_flags")) {
            if (!parse_ulong(val, 7, &u))
                goto bad;
            sp->filter_flags = (unsigned int)u;
        } else if (!strcmp(key, "masked_path")) {
            strvec_push(&sp->masked, val);
        } else if (!strcmp(key, "readonly_path")) {
            strvec_push(&sp->ro_paths, val);
        } else if (!strcmp(key, "readonly_rootfs")) {
            if (!parse_bool(val, &sp->readonly_rootfs))
                goto bad;
        } else if (!strcmp(key, "oom_score_adj")) {
            if (!parse_long(val, -1000, 1000, &l))
                goto bad;
            sp->has_oom = true;
            sp->oom_score_adj = (int)l;
        } else if (!strcmp(key, "tty")) {
            if (!parse_bool(val, &sp->tty))
                goto bad;
        } else if (!strcmp(key, "stdin")) {
            if (!parse_bool(val, &sp->open_stdin))
                goto bad;
        } else if (!strcmp(key, "log")) {
            sp->log_path = *val ? val : NULL;
        } else if (!strcmp(key, "max_line")) {
            if (!parse_ulong(val, MAX_MAX_LINE, &u) || u == 0)
                goto bad;
            sp->max_line = u;
        } else {
            msg("spec: ignoring unknown key \"%s\"", key);
        }
        continue;
    bad:
        snprintf(err, errlen, "spec: invalid value for %s: \"%.40s\"", key, val);
        one_line(err);
        return -1;
    }
    if (!sp->env.v) { /* execve needs a NULL-terminated (possibly empty) array */
        static char *empty_env[] = { NULL };
        sp->env.v = empty_env;
    }
    return 0;
}

static const char *spec_getenv(const struct spec *sp, const char *name)
{
    size_t nl = strlen(name);
    const char *found = NULL;
    for (size_t i = 0; i < sp->env.n; i++)
        if (!strncmp(sp->env.v[i], name, nl) && sp->env.v[i][nl] == '=')
            found = sp->env.v[i] + nl + 1; /* last one wins */
    return found;
}

/* ------------------------------------------------------------------ */
/* starting a process: the child side                                  */

enum step {
    ST_NONE = 0,
    ST_SETSID,
    ST_STDIO,
    ST_CTTY,
    ST_MKDIR_CWD,
    ST_CHDIR,
    ST_SETGROUPS,
    ST_SETGID,
    ST_SETUID,
    ST_NNP,
    ST_CAPS,
    ST_SECCOMP,
    ST_LOOKPATH, /* not found in $PATH */
    ST_STAT,     /* path with '/' does not exist */
    ST_EXEC,
};

struct child_err {
    int step;
    int err;
};

static int exit_code_for(const struct child_err *ce)
{
    if (ce->step == ST_LOOKPATH || ce->step == ST_STAT || ce->step == ST_EXEC) {
        if (ce->err == ENOENT)
            return 127;
        if (ce->err == EACCES || ce->err == ENOEXEC)
            return 126;
    }
    return EXIT_INTERNAL;
}

static void format_child_err(char *buf, size_t len, const struct child_err *ce,
                             const struct spec *sp, const char *argv0)
{
    char e[128];
    const char *cwd = sp->cwd ? sp->cwd : "/";
    errstr(ce->err, e, sizeof e);
    switch (ce->step) {
    case ST_SETSID: snprintf(buf, len, "setsid: %s", e); break;
    case ST_STDIO: snprintf(buf, len, "setting up stdio: %s", e); break;
    case ST_CTTY: snprintf(buf, len, "setting controlling terminal: %s", e); break;
    case ST_MKDIR_CWD: snprintf(buf, len, "mkdir cwd (\"%s\") set in config: %s", cwd, e); break;
    case ST_CHDIR: snprintf(buf, len, "chdir to cwd (\"%s\") set in config: %s", cwd, e); break;
    case ST_SETGROUPS: snprintf(buf, len, "setgroups: %s", e); break;
    case ST_SETGID: snprintf(buf, len, "setgid %u: %s", (unsigned)sp->gid, e); break;
    case ST_SETUID: snprintf(buf, len, "setuid %u: %s", (unsigned)sp->uid, e); break;
    case ST_NNP: snprintf(buf, len, "prctl(PR_SET_NO_NEW_PRIVS): %s", e); break;
    case ST_CAPS: snprintf(buf, len, "setting capabilities: %s", e); break;
    case ST_SECCOMP: snprintf(buf, len, "installing the seccomp filter: %s", e); break;
    case ST_LOOKPATH:
        snprintf(buf, len, "exec: \"%s\": executable file not found in $PATH", argv0);
        break;
    case ST_STAT: snprintf(buf, len, "exec: \"%s\": stat %s: %s", argv0, argv0, e); break;
    case ST_EXEC: snprintf(buf, len, "exec: \"%s\": %s", argv0, e); break;
    default: snprintf(buf, len, "starting process: %s", e); break;
    }
    one_line(buf);
}

static __attribute__((noreturn)) void child_fail(int errfd, int step, int err)
{
    struct child_err ce = { .step = step, .err = err };
    (void)write_all(errfd, &ce, sizeof ce);
    _exit(exit_code_for(&ce));
}

static int mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -1;
            *p = c;
            if (c == '\0')
                break;
        }
    }
    return 0;
}

static void mark_fds_cloexec(int keep)
{
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int dfd = dirfd(d);
        struct dirent *de;
        while ((de = readdir(d))) {
            long fd;
            if (!parse_long(de->d_name, 0, INT_MAX, &fd) || fd < 3 || fd == dfd || fd == keep)
                continue;
            fcntl((int)fd, F_SETFD, FD_CLOEXEC);
        }
        closedir(d);
        return;
    }
    for (int fd = 3; fd < 1024; fd++)
        if (fd != keep)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static bool is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode) && access(path, X_OK) == 0;
}

/* Highest capability number the kernel knows. */
static int cap_last(void)
{
    int last = 40;
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
    if (f) {
        if (fscanf(f, "%d", &last) != 1)
            last = 40;
        fclose(f);
    }
    return last;
}

/* Bounding set: drop every capability outside sp->caps (needs CAP_SETPCAP, so before setuid). */
static int caps_drop_bounding(const struct spec *sp)
{
    int last = cap_last();
    for (int c = 0; c <= last && c < 64; c++) {
        if (!(sp->caps & ((uint64_t)1 << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
            return -1;
    }
    return prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
}

/* Permitted and effective = sp->caps (within what is left), inheritable empty. */
static int caps_set(const struct spec *sp)
{
    struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &hdr, data) < 0)
        return -1;
    uint32_t lo = (uint32_t)sp->caps, hi = (uint32_t)(sp->caps >> 32);
    data[0].permitted &= lo;
    data[1].permitted &= hi;
    data[0].effective = data[0].permitted;
    data[1].effective = data[1].permitted;
    data[0].inheritable = 0;
    data[1].inheritable = 0;
    return (int)syscall(SYS_capset, &hdr, data);
}

/* The seccomp filter the spec asks for, if any; -1 with errno on failure. */
static int install_seccomp(const struct spec *sp)
{
    if (sp->seccomp_default)
        return seccomp_runtime_default(sp->caps, sp->has_caps);
    if (sp->filter)
        return seccomp_install(sp->filter, sp->filter_len, sp->filter_flags);
    return 0;
}

/*
 * Apply cwd, identity, no_new_privs, default signals; look argv[0] up in the
 * spec's PATH and execve.  Never returns; failures go to errfd.
 * pdeath_parent > 0: set PR_SET_PDEATHSIG=SIGKILL (after the uid change,
 * which would clear it) and die if that parent is already gone.
 */
static __attribute__((noreturn)) void child_exec(const struct spec *sp, char *const argv[],
                                                 int errfd, pid_t pdeath_parent)
{
    const char *cwd = (sp->cwd && *sp->cwd) ? sp->cwd : "/";
    bool cwd_done = false;

    mark_fds_cloexec(errfd);

    if (chdir(cwd) == 0) {
        cwd_done = true;
    } else if (errno == ENOENT) {
        if (mkdir_p(cwd, 0755) < 0)
            child_fail(errfd, ST_MKDIR_CWD, errno);
        if (chdir(cwd) == 0)
            cwd_done = true;
        else if (errno != EACCES && errno != EPERM)
            child_fail(errfd, ST_CHDIR, errno);
    } else if (errno != EACCES && errno != EPERM) {
        child_fail(errfd, ST_CHDIR, errno);
    }

    /* Unprivileged and nothing to change (tests as non-root): skip. */
    bool skip_ids = geteuid() != 0 && sp->uid == getuid() && sp->uid == geteuid() &&
                    sp->gid == getgid() && sp->gid == getegid() && sp->ngroups == 0;
    /* Installed while still root with CAP_SYS_ADMIN (as runc does); without it the kernel
     * requires no_new_privs first. A Localhost profile may deny calls made below (setgroups,
     * setuid, capset, prctl): with no_new_privs it is installed last, right before exec, as runc
     * does; without, it must come now, while the filter can still be installed. */
    bool seccomp_late = sp->no_new_privs && sp->filter;
    if (!seccomp_late && install_seccomp(sp) < 0) {
        if (errno != EACCES || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || install_seccomp(sp) < 0)
            child_fail(errfd, ST_SECCOMP, errno);
    }
    if (sp->has_caps && geteuid() == 0 && caps_drop_bounding(sp) < 0)
        child_fail(errfd, ST_CAPS, errno);
    if (!skip_ids) {
        if (setgroups(sp->ngroups, sp->groups) < 0)
            child_fail(errfd, ST_SETGROUPS, errno);
        if (setgid(sp->gid) < 0)
            child_fail(errfd, ST_SETGID, errno);
        if (setuid(sp->uid) < 0)
            child_fail(errfd, ST_SETUID, errno);
    }
    if (!cwd_done && chdir(cwd) < 0)
        child_fail(errfd, ST_CHDIR, errno);
    if (sp->has_caps && caps_set(sp) < 0 && errno != EPERM)
        child_fail(errfd, ST_CAPS, errno);

    if (sp->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(errfd, ST_NNP, errno);

    if (pdeath_parent > 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != pdeath_parent)
            _exit(EXIT_INTERNAL);
    }

    /* Default dispositions and an empty mask (ignored signals survive exec). */
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        (void)sigaction(sig, &sa, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (seccomp_late && install_seccomp(sp) < 0)
        child_fail(errfd, ST_SECCOMP, errno);

    const char *name = argv[0];
    char *const *envp = sp->env.v;
    if (strchr(name, '/')) {
        struct stat st;
        if (stat(name, &st) < 0)
            child_fail(errfd, ST_STAT, errno);
        if (S_ISDIR(st.st_mode))
            child_fail(errfd, ST_EXEC, EACCES);
        execve(name, argv, envp);
        child_fail(errfd, ST_EXEC, errno);
    }
    if (!*name)
        child_fail(errfd, ST_LOOKPATH, ENOENT);
    const char *path = spec_getenv(sp, "PATH");
    if (!path)
        path = DEFAULT_PATH;
    char cand[PATH_MAX];
    const char *p = path;
    for (;;) {
        const char *colon = strchr(p, ':');
        size_t dl = colon ? (size_t)(colon - p) : strlen(p);
        int n;
        if (dl == 0)
            n = snprintf(cand, sizeof cand, "./%s", name);
        else
            n = snprintf(cand, sizeof cand, "%.*s/%s", (int)dl, p, name);
        if (n > 0 && n < (int)sizeof cand && is_executable(cand)) {
            execve(cand, argv, envp);
            child_fail(errfd, ST_EXEC, errno);
        }
        if (!colon)
            break;
        p = colon + 1;
    }
    child_fail(errfd, ST_LOOKPATH, ENOENT);
}

/* Read the CLOEXEC error pipe: 0 = exec succeeded, 1 = *ce filled in. */
static int read_child_err(int fd, struct child_err *ce)
{
    size_t got = 0;
    char *p = (char *)ce;
    while (got < sizeof *ce) {
        ssize_t n = read(fd, p + got, sizeof *ce - got);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got == 0)
        return 0;
    if (got < sizeof *ce) {
        ce->step = ST_NONE;
        ce->err = EIO;
    }
    return 1;
}

/* Block every signal that we handle through the signalfd. */
static int setup_signalfd(void)
{
    sigset_t set;
    sigfillset(&set);
    /* synchronous faults stay deliverable; job-control tty signals and
     * SIGPIPE are ignored rather than forwarded */
    int keep[] = { SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS,
                   SIGTTIN, SIGTTOU, SIGPIPE, SIGKILL, SIGSTOP };
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        sigdelset(&set, keep[i]);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        msg("sigprocmask: %s", strerror(errno));
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0)
        msg("signalfd: %s", strerror(errno));
    return sfd;
}

static void attach_broadcast(int type, const void *data, size_t len);

/* ------------------------------------------------------------------ */
/* CRI log writer                                                      */

struct logger {
    const char *path;
    int dirfd;        /* O_PATH fd of the log directory, kept after its mount is detached */
    const char *name; /* file name inside dirfd */
    int fd;
    size_t max_line;
    char *rec; /* record buffer: header + max_line + '\n' */
    int64_t last_err_ms;
};

struct stream {
    int fd;
    const char *name; /* "stdout" / "stderr" */
    int at_type;      /* attach frame type of this output */
    char *buf;        /* pending bytes of the current line */
    size_t len, cap;
};

/*
 * The log lives in kubelet's directory, bind-mounted at the log path's directory. The shim
 * keeps an O_PATH fd of that directory and detaches the mount before the main process starts,
 * so no process of the container can reach kubelet's files (e.g. swap the log for a symlink
 * that kubelet would follow); reopen works through the fd. O_NOFOLLOW refuses a symlinked log.
 */
static void log_attach_dir(struct logger *lg)
{
    if (!lg->path)
        return;
    static char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", lg->path);
    char *slash = strrchr(dir, '/');
    if (!slash || !slash[1]) {
        lg->dirfd = AT_FDCWD;
        lg->name = lg->path;
        return;
    }
    lg->name = lg->path + (slash - dir) + 1;
    *slash = '\0';
    lg->dirfd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (lg->dirfd < 0) {
        msg("cannot open log directory %s: %s", dir, strerror(errno));
        lg->dirfd = AT_FDCWD;
        lg->name = lg->path;
        return;
    }
    if (getpid() == 1 && umount2(dir, MNT_DETACH) < 0 && errno != EINVAL)
        msg("detaching the log mount %s: %s", dir, strerror(errno));
}

static void log_open(struct logger *lg)
{
    if (!lg->path)
        return;
    lg->fd = openat(lg->dirfd, lg->name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (lg->fd < 0)
        msg("cannot open log %s: %s (output is discarded until reopen)", lg->path,
            strerror(errno));
}

static void log_record(struct logger *lg, const char *stream, char tag, const char *data,
                       size_t n)
{
    if (lg->fd < 0)
        return;
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int h = snprintf(lg->rec, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ %s %c ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (long)ts.tv_nsec, stream, tag);
    memcpy(lg->rec + h, data, n);
    lg->rec[(size_t)h + n] = '\n';
    if (write_all(lg->fd, lg->rec, (size_t)h + n + 1) < 0) {
        int64_t now = mono_ms();
        if (now - lg->last_err_ms > 10000) { /* rate-limited */
            msg("writing log %s: %s", lg->path, strerror(errno));
            lg->last_err_ms = now;
        }
    }
}

/* Feed bytes (no '\n' among them) into the pending line; emit P records
 * while more than max_line bytes are pending.  A single trailing '\r' beyond
 * max_line is held back: it may be part of a "\r\n" line end. */
static void stream_append(struct logger *lg, struct stream *s, const char *p, size_t n)
{
    size_t max = lg->max_line;
    while (n > 0) {
        size_t c = s->cap - s->len;
        if (c > n)
            c = n;
        memcpy(s->buf + s->len, p, c);
        s->len += c;
        p += c;
        n -= c;
        while (s->len > max && !(s->len == max + 1 && s->buf[max] == '\r')) {
            log_record(lg, s->name, 'P', s->buf, max);
            memmove(s->buf, s->buf + max, s->len - max);
            s->len -= max;
        }
    }
}

static void stream_data(struct logger *lg, struct stream *s, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t take = nl ? (size_t)(nl - p) : n;
        stream_append(lg, s, p, take);
        if (!nl)
            break;
        size_t len = s->len;
        if (len > 0 && s->buf[len - 1] == '\r')
            len--;
        log_record(lg, s->name, 'F', s->buf, len);
        s->len = 0;
        p += take + 1;
        n -= take + 1;
    }
}

/* At EOF a pending fragment without newline is a partial record (containerd). */
static void stream_flush(struct logger *lg, struct stream *s)
{
    if (s->len > 0)
        log_record(lg, s->name, 'P', s->buf, s->len);
    s->len = 0;
}

static void stream_close(struct logger *lg, struct stream *s)
{
    stream_flush(lg, s);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* Read once from the stream; on EOF (or EIO from a pty master) close it. */
static void stream_read(struct logger *lg, struct stream *s, char *chunk)
{
    ssize_t n = read(s->fd, chunk, READ_CHUNK);
    if (n > 0) {
        stream_data(lg, s, chunk, (size_t)n);
        attach_broadcast(s->at_type, chunk, (size_t)n);
        return;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n < 0 && errno != EIO)
        msg("reading %s: %s", s->name, strerror(errno));
    stream_close(lg, s);
}

/* ------------------------------------------------------------------ */
/* process bookkeeping                                                 */

static int code_from_wait(int st, int *sig)
{
    if (WIFSIGNALED(st)) {
        *sig = WTERMSIG(st);
        return 128 + *sig;
    }
    *sig = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_INTERNAL;
}

static void write_status(int code, int sig, int64_t finished, const char *reason,
                         const char *error)
{
    char buf[2048];
    int n = snprintf(buf, sizeof buf, "exit_code=%d\nsignal=%d\nfinished_at=%lld\nreason=%s\n",
                     code, sig, (long long)finished, reason);
    if (error && n < (int)sizeof buf)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "error=%s\n", error);
    if (n >= (int)sizeof buf)
        n = sizeof buf - 1;
    (void)write_file_atomic(path_status, buf, (size_t)n);
}

/* Kill direct children found in /proc (non-PID-1 mode only). */
static void kill_children_by_proc(pid_t self)
{
    DIR *d = opendir("/proc");
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        long pid;
        if (!parse_long(de->d_name, 1, INT_MAX, &pid))
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        char *rp = strrchr(buf, ')');
        int ppid;
        char state;
        if (rp && sscanf(rp + 1, " %c %d", &state, &ppid) == 2 && ppid == self && state != 'Z')
            kill((pid_t)pid, SIGKILL);
    }
    closedir(d);
}

/* SIGKILL everything that is left and reap it (bounded). */
static void kill_and_reap_all(bool pid1, pid_t main_pid)
{
    int64_t deadline = mono_ms() + REAP_TIMEOUT_MS;
    pid_t self = getpid();
    if (main_pid > 0)
        kill(-main_pid, SIGKILL); /* its session/process group */
    for (;;) {
        if (pid1)
            kill(-1, SIGKILL);
        else
            kill_children_by_proc(self);
        int st;
        pid_t p;
        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
            ;
        if (p < 0 && errno == ECHILD)
            return;
        if (mono_ms() >= deadline) {
            msg("some processes did not go away after SIGKILL");
            return;
        }
        sleep_ms(10);
    }
}

/* ------------------------------------------------------------------ */
/* main mode                                                           */

struct ctl {
    int fd;
    char buf[CTL_BUF];
    size_t len;
    bool discarding; /* inside an over-long line */
};

static void ctl_command(char *line, struct logger *lg, pid_t main_pid, bool main_done)
{
    size_t l = strlen(line);
    while (l > 0 && (line[l - 1] == '\r' || line[l - 1] == ' ' || line[l - 1] == '\t'))
        line[--l] = '\0';
    while (*line == ' ' || *line == '\t')
        line++;
    if (!*line)
        return;
    if (!strcmp(line, "reopen")) {
        if (lg->fd >= 0)
            close(lg->fd);
        lg->fd = -1;
        log_open(lg);
        return;
    }
    if (!strcmp(line, "kill")) {
        if (!main_done)
            kill(main_pid, SIGKILL);
        return;
    }
    if (!strncmp(line, "signal ", 7)) {
        const char *a = line + 7;
        while (*a == ' ')
            a++;
        long sig;
        if (!parse_long(a, 1, NSIG - 1, &sig)) {
            msg("ctl: bad signal number in \"%s\"", line);
            return;
        }
        if (!main_done && kill(main_pid, (int)sig) < 0)
            msg("ctl: kill(%d, %ld): %s", (int)main_pid, sig, strerror(errno));
        return;
    }
    one_line(line);
    msg("ctl: ignoring unknown command \"%.100s\"", line);
}

static void ctl_read(struct ctl *c, struct logger *lg, pid_t main_pid, bool main_done)
{
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN */
        }
        if (n == 0)
            return; /* cannot happen with O_RDWR, but be safe */
        c->len += (size_t)n;
        char *start = c->buf, *end = c->buf + c->len, *nl;
        while ((nl = memchr(start, '\n', (size_t)(end - start)))) {
            *nl = '\0';
            if (!c->discarding)
                ctl_command(start, lg, main_pid, main_done);
            c->discarding = false;
            start = nl + 1;
        }
        c->len = (size_t)(end - start);
        memmove(c->buf, start, c->len);
        if (c->len == sizeof c->buf - 1) { /* line too long: drop it */
            msg("ctl: command too long, ignored");
            c->len = 0;
            c->discarding = true;
        }
    }
}

static int setup_pty(int *master, int *slave)
{
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        m = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return -1;
    int unlock = 0;
    if (ioctl(m, TIOCSPTLCK, &unlock) < 0)
        goto fail;
    int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        unsigned int ptn;
        char name[64];
        if (ioctl(m, TIOCGPTN, &ptn) < 0)
            goto fail;
        snprintf(name, sizeof name, "/dev/pts/%u", ptn);
        s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (s < 0)
            goto fail;
    }
    *master = m;
    *slave = s;
    return 0;
fail:;
    int e = errno;
    close(m);
    errno = e;
    return -1;
}

/* ------------------------------------------------------------------ */
/* attach socket                                                       */

/* Frame types, both directions: 1 byte type, 4 bytes payload length (big
 * endian), payload.  See docs/shim.md. */
enum {
    AT_STDIN = 0,       /* client -> shim: bytes for the main process's stdin */
    AT_STDOUT = 1,      /* shim -> client: output (tty: all of it) */
    AT_STDERR = 2,      /* shim -> client */
    AT_EXIT = 3,        /* shim -> client: decimal exit code; the shim then closes */
    AT_RESIZE = 4,      /* client -> shim: u16 columns, u16 rows (big endian) */
    AT_CLOSE_STDIN = 5, /* client -> shim: end of stdin (tty: sends VEOF) */
    AT_HELLO = 6,       /* shim -> client, first frame: "version=1 tty=T stdin=S" */
};

struct aclient {
    int fd;
    char *out;          /* frames not yet sent */
    size_t out_len, out_cap;
    unsigned char *in;  /* partial frame(s) read */
    size_t in_len;
    bool blocked;       /* a stdin frame waits for room in the stdin buffer */
};

struct attach {
    int lfd;
    struct aclient c[ATTACH_MAX_CLIENTS];
    bool tty;
    int master;         /* tty: the pty master (resize target) */
    int stdin_fd;       /* where stdin frames go, -1: dropped */
    bool stdin_owned;   /* stdin_fd is ours to close (the stdin pipe) */
    bool stdin_close;   /* close stdin_fd once the buffer is empty */
    char *sbuf;
    size_t slen;
};

static struct attach g_at = { .lfd = -1, .master = -1, .stdin_fd = -1 };

static int attach_listen(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int dfd = -1;
    if (strlen(path) < sizeof sa.sun_path) {
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    } else {
        /* long path (tests): bind through /proc/self/fd/N of the directory */
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (!slash)
            goto fail;
        *slash = '\0';
        dfd = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            goto fail;
        int n = snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dfd, slash + 1);
        if (n < 0 || (size_t)n >= sizeof sa.sun_path) {
            errno = ENAMETOOLONG;
            goto fail;
        }
    }
    unlink(path);
    mode_t old = umask(0177); /* the socket file is 0600 from the start */
    int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r < 0 || listen(fd, 8) < 0)
        goto fail;
    if (dfd >= 0)
        close(dfd);
    return fd;
fail:;
    int e = errno;
    if (dfd >= 0)
        close(dfd);
    close(fd);
    errno = e;
    return -1;
}

static void attach_drop(struct aclient *c, const char *why)
{
    if (why)
        msg("attach: client dropped: %s", why);
    close(c->fd);
    free(c->out);
    free(c->in);
    *c = (struct aclient){ .fd = -1 };
}

/* Send what is pending without blocking; a broken client is dropped. */
static void attach_flush(struct aclient *c)
{
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t n = send(c->fd, c->out + off, c->out_len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                break;
            attach_drop(c, NULL); /* the client went away */
            return;
        }
        off += (size_t)n;
    }
    memmove(c->out, c->out + off, c->out_len - off);
    c->out_len -= off;
}

/* Queue one frame for a client.  A client that is more than ATTACH_OUT_MAX
 * behind is dropped: a slow attach must never hold up the log. */
static void attach_queue(struct aclient *c, int type, const void *data, size_t len)
{
    if (c->fd < 0)
        return;
    size_t need = c->out_len + 5 + len;
    if (need > ATTACH_OUT_MAX) {
        attach_drop(c, "more than 1 MiB of output not read (too slow)");
        return;
    }
    if (need > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 65536;
        while (cap < need)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p) {
            attach_drop(c, "out of memory");
            return;
        }
        c->out = p;
        c->out_cap = cap;
    }
    unsigned char h[5] = { (unsigned char)type, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                           (unsigned char)(len >> 8), (unsigned char)len };
    memcpy(c->out + c->out_len, h, 5);
    if (len)
        memcpy(c->out + c->out_len + 5, data, len);
    c->out_len += 5 + len;
    attach_flush(c);
}

static void attach_broadcast(int type, const void *data, size_t len)
{
    for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
        if (g_at.c[i].fd >= 0)
            attach_queue(&g_at.c[i], type, data, len);
}

static void attach_accept(void)
{
    for (;;) {
        int fd = accept4(g_at.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or a client that gave up */
        int i = 0;
        while (i < ATTACH_MAX_CLIENTS && g_at.c[i].fd >= 0)
            i++;
        unsigned char *in = i < ATTACH_MAX_CLIENTS ? malloc(5 + ATTACH_IN_MAX) : NULL;
        if (!in) {
            msg("attach: refusing a client (%d attached)", ATTACH_MAX_CLIENTS);
            close(fd);
            continue;
        }
        g_at.c[i] = (struct aclient){ .fd = fd, .in = in };
        char hello[64];
        int n = snprintf(hello, sizeof hello, "version=1 tty=%d stdin=%d", g_at.tty ? 1 : 0,
                         g_at.stdin_fd >= 0 ? 1 : 0);
        attach_queue(&g_at.c[i], AT_HELLO, hello, (size_t)n);
    }
}

/* Write buffered stdin without blocking; close it when asked and drained. */
static void attach_stdin_flush(void)
{
    while (g_at.slen > 0 && g_at.stdin_fd >= 0) {
        ssize_t n = write(g_at.stdin_fd, g_at.sbuf, g_at.slen);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            /* the process closed its stdin (EPIPE) or the pty is gone */
            g_at.slen = 0;
            if (g_at.stdin_owned)
                close(g_at.stdin_fd);
            g_at.stdin_fd = -1;
            break;
        }
        memmove(g_at.sbuf, g_at.sbuf + n, g_at.slen - (size_t)n);
        g_at.slen -= (size_t)n;
    }
    if (g_at.slen == 0 && g_at.stdin_close && g_at.stdin_fd >= 0 && g_at.stdin_owned) {
        close(g_at.stdin_fd);
        g_at.stdin_fd = -1;
    }
}

/* Handle the complete frames a client sent.  Returns false if it was dropped. */
static bool attach_frames(struct aclient *c)
{
    size_t off = 0;
    c->blocked = false;
    while (c->in_len - off >= 5) {
        unsigned char *h = c->in + off;
        size_t len = ((size_t)h[1] << 24) | ((size_t)h[2] << 16) | ((size_t)h[3] << 8) | h[4];
        if (len > ATTACH_IN_MAX) {
            attach_drop(c, "frame too large");
            return false;
        }
        if (c->in_len - off < 5 + len)
            break;
        const unsigned char *p = h + 5;
        switch (h[0]) {
        case AT_STDIN:
            if (g_at.stdin_fd < 0 || g_at.stdin_close)
                break; /* no stdin: dropped */
            if (g_at.slen + len > ATTACH_STDIN_BUF) {
                c->blocked = true;
                goto out;
            }
            memcpy(g_at.sbuf + g_at.slen, p, len);
            g_at.slen += len;
            break;
        case AT_RESIZE:
            if (len == 4 && g_at.tty && g_at.master >= 0) {
                struct winsize ws = { .ws_col = (unsigned short)((p[0] << 8) | p[1]),
                                      .ws_row = (unsigned short)((p[2] << 8) | p[3]) };
                if (ws.ws_col > 0 && ws.ws_row > 0 && ioctl(g_at.master, TIOCSWINSZ, &ws) < 0)
                    msg("attach: resize: %s", strerror(errno));
            }
            break;
        case AT_CLOSE_STDIN:
            if (g_at.stdin_fd < 0 || g_at.stdin_close)
                break;
            if (g_at.tty) {
                if (g_at.slen < ATTACH_STDIN_BUF)
                    g_at.sbuf[g_at.slen++] = 0x04; /* VEOF: the terminal's end of input */
            } else {
                g_at.stdin_close = true;
            }
            break;
        default:
            break; /* unknown frames are ignored (newer clients) */
        }
        off += 5 + len;
    }
out:
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    attach_stdin_flush();
    return true;
}

static void attach_read(struct aclient *c, short revents)
{
    if (c->blocked || c->in_len >= 5 + ATTACH_IN_MAX) {
        /* held back until stdin drains; a hang-up now drops what it sent */
        if (revents & (POLLHUP | POLLERR))
            attach_drop(c, NULL);
        return;
    }
    ssize_t n = read(c->fd, c->in + c->in_len, 5 + ATTACH_IN_MAX - c->in_len);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        attach_drop(c, NULL); /* detached */
        return;
    }
    if (n > 0) {
        c->in_len += (size_t)n;
        attach_frames(c);
    }
}

/* The main process has exited and its output is drained: tell the clients
 * the exit code, give them a moment to take the last output, close. */
static void attach_finish(int code)
{
    if (g_at.lfd >= 0) {
        close(g_at.lfd);
        g_at.lfd = -1;
        unlink(path_attach);
    }
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%d", code);
    attach_broadcast(AT_EXIT, buf, (size_t)n);
    int64_t deadline = mono_ms() + ATTACH_FLUSH_MS;
    for (;;) {
        struct pollfd pfd[ATTACH_MAX_CLIENTS];
        int np = 0;
        for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
            if (g_at.c[i].fd >= 0 && g_at.c[i].out_len > 0)
                pfd[np++] = (struct pollfd){ .fd = g_at.c[i].fd, .events = POLLOUT };
        int64_t left = deadline - mono_ms();
        if (np == 0 || left <= 0)
            break;
        if (poll(pfd, (nfds_t)np, (int)left) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
            if (g_at.c[i].fd >= 0 && g_at.c[i].out_len > 0)
                attach_flush(&g_at.c[i]);
    }
    for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
        if (g_at.c[i].fd >= 0)
            attach_drop(&g_at.c[i], NULL);
    if (g_at.stdin_owned && g_at.stdin_fd >= 0)
        close(g_at.stdin_fd);
    g_at.stdin_fd = -1;
}

static int main_mode(const char *spec_file)
{
    bool pid1 = getpid() == 1;
    /* LXC may leave a parent-death signal: the container must outlive the
     * lxc-start monitor (and the daemon). */
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (!pid1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
        msg("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));

    int sfd = setup_signalfd();

    unlink(path_started);
    unlink(path_status);

    struct spec sp;
    char err[1024];
    int bad = parse_spec(spec_file, &sp, err, sizeof err);
    if (bad == 0 && sp.args.n == 0) {
        snprintf(err, sizeof err, "spec: no command (arg=) given");
        bad = -1;
    }
    if (bad < 0) {
        msg("%s", err);
        write_status(EXIT_INTERNAL, 0, now_ns(), "StartError", err);
        return EXIT_INTERNAL;
    }

    /* Read-only rootfs: LXC has done its mounts (/.pve-cri, volumes, /dev, /proc are mounts of
     * their own and stay as they are); only the root mount becomes read-only. */
    /* Masked and read-only paths (kubelet's defaults for /proc, or what the pod asks). */
    for (size_t i = 0; i < sp.masked.n; i++) {
        if (mask_path(sp.masked.v[i]) < 0) {
            snprintf(err, sizeof err, "masking %s: %s", sp.masked.v[i], strerror(errno));
            msg("%s", err);
            write_status(EXIT_INTERNAL, 0, now_ns(), "StartError", err);
            return EXIT_INTERNAL;
        }
    }
    for (size_t i = 0; i < sp.ro_paths.n; i++) {
        if (readonly_path(sp.ro_paths.v[i]) < 0) {
            snprintf(err, sizeof err, "making %s read-only: %s", sp.ro_paths.v[i], strerror(errno));
            msg("%s", err);
            write_status(EXIT_INTERNAL, 0, now_ns(), "StartError", err);
            return EXIT_INTERNAL;
        }
    }
    if (sp.readonly_rootfs && mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
        snprintf(err, sizeof err, "remounting the root filesystem read-only: %s", strerror(errno));
        msg("%s", err);
        write_status(EXIT_INTERNAL, 0, now_ns(), "StartError", err);
        return EXIT_INTERNAL;
    }

    /* control FIFO */
    struct ctl ctl = { .fd = -1 };
    unlink(path_ctl);
    if (mkfifo(path_ctl, 0600) < 0)
        msg("mkfifo %s: %s", path_ctl, strerror(errno));
    else if ((ctl.fd = open(path_ctl, O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0)
        msg("open %s: %s", path_ctl, strerror(errno));

    /* log */
    struct logger lg = { .path = sp.log_path, .dirfd = AT_FDCWD, .name = sp.log_path, .fd = -1, .max_line = sp.max_line };
    lg.rec = malloc(sp.max_line + 128);
    char *chunk = malloc(READ_CHUNK);
    struct stream out = { .fd = -1, .name = "stdout", .at_type = 1, .cap = sp.max_line + 2 };
    struct stream errs = { .fd = -1, .name = "stderr", .at_type = 2, .cap = sp.max_line + 2 };
    out.buf = malloc(out.cap);
    errs.buf = malloc(errs.cap);
    if (!lg.rec || !chunk || !out.buf || !errs.buf) {
        msg("out of memory");
        return EXIT_INTERNAL;
    }
    log_attach_dir(&lg);
    log_open(&lg);

    /* attach socket (before the fork, so it exists once `started` does) */
    for (int i = 0; i < ATTACH_MAX_CLIENTS; i++)
        g_at.c[i].fd = -1;
    g_at.tty = sp.tty;
    g_at.sbuf = malloc(ATTACH_STDIN_BUF);
    if (!g_at.sbuf || (g_at.lfd = attach_listen(path_attach)) < 0)
        msg("attach socket %s: %s (attach is not available)", path_attach, strerror(errno));

    /* stdio */
    int child_in = -1, child_out = -1, child_err = -1, keep_stdin_w = -1;
    int master = -1, slave = -1;
    char e[128];
    if (sp.tty) {
        if (setup_pty(&master, &slave) < 0) {
            snprintf(err, sizeof err, "allocating pty: %s", errstr(errno, e, sizeof e));
            goto start_error;
        }
        out.fd = master;
    } else {
        int po[2], pe[2];
        if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
            snprintf(err, sizeof err, "creating pipes: %s", errstr(errno, e, sizeof e));
            goto start_error;
        }
        out.fd = po[0];
        child_out = po[1];
        errs.fd = pe[0];
        child_err = pe[1];
        if (sp.open_stdin) {
            int pi[2];
            if (pipe2(pi, O_CLOEXEC) < 0) {
                snprintf(err, sizeof err, "creating pipes: %s", errstr(errno, e, sizeof e));
                goto start_error;
            }
            child_in = pi[0];
            keep_stdin_w = pi[1]; /* held open for a future attach */
        } else if ((child_in = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
            int pi[2]; /* no /dev/null: an empty pipe gives EOF too */
            if (pipe2(pi, O_CLOEXEC) < 0) {
                snprintf(err, sizeof err, "creating pipes: %s", errstr(errno, e, sizeof e));
                goto start_error;
            }
            child_in = pi[0];
            close(pi[1]);
        }
    }
    if (out.fd >= 0)
        fcntl(out.fd, F_SETFL, fcntl(out.fd, F_GETFL) | O_NONBLOCK);
    if (errs.fd >= 0)
        fcntl(errs.fd, F_SETFL, fcntl(errs.fd, F_GETFL) | O_NONBLOCK);

    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) {
        snprintf(err, sizeof err, "creating pipe: %s", errstr(errno, e, sizeof e));
        goto start_error;
    }

    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, sizeof err, "fork: %s", errstr(errno, e, sizeof e));
        goto start_error;
    }
    if (pid == 0) {
        close(ep[0]);
        if (setsid() < 0)
            child_fail(ep[1], ST_SETSID, errno);
        if (sp.tty) {
            if (ioctl(slave, TIOCSCTTY, 0) < 0)
                child_fail(ep[1], ST_CTTY, errno);
            if (dup2(slave, 0) < 0 || dup2(slave, 1) < 0 || dup2(slave, 2) < 0)
                child_fail(ep[1], ST_STDIO, errno);
        } else {
            if (dup2(child_in, 0) < 0 || dup2(child_out, 1) < 0 || dup2(child_err, 2) < 0)
                child_fail(ep[1], ST_STDIO, errno);
        }
        if (sp.has_oom) {
            int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
            if (fd >= 0) {
                char v[16];
                int n = snprintf(v, sizeof v, "%d", sp.oom_score_adj);
                /* EACCES/EPERM (lowering without CAP_SYS_RESOURCE): keep the
                 * current value, like containerd's restrict_oom_score_adj */
                (void)!write(fd, v, (size_t)n);
                close(fd);
            }
        }
        child_exec(&sp, sp.args.v, ep[1], 0);
    }

    close(ep[1]);
    if (slave >= 0)
        close(slave);
    if (child_in >= 0)
        close(child_in);
    if (child_out >= 0)
        close(child_out);
    if (child_err >= 0)
        close(child_err);

    struct child_err ce;
    if (read_child_err(ep[0], &ce)) {
        close(ep[0]);
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        format_child_err(err, sizeof err, &ce, &sp, sp.args.v[0]);
        msg("%s", err);
        unlink(path_ctl);
        if (g_at.lfd >= 0) {
            close(g_at.lfd);
            unlink(path_attach);
        }
        int code = exit_code_for(&ce);
        write_status(code, 0, now_ns(), "StartError", err);
        return code;
    }
    close(ep[0]);

    char started[128];
    int sn = snprintf(started, sizeof started, "pid=%d\nstarted_at=%lld\n", (int)pid,
                      (long long)now_ns());
    (void)write_file_atomic(path_started, started, (size_t)sn);

    /* attach clients write stdin to the pty (tty) or the stdin pipe */
    if (sp.tty) {
        g_at.master = master;
        if (sp.open_stdin)
            g_at.stdin_fd = master;
    } else if (keep_stdin_w >= 0) {
        fcntl(keep_stdin_w, F_SETFL, fcntl(keep_stdin_w, F_GETFL) | O_NONBLOCK);
        g_at.stdin_fd = keep_stdin_w;
        g_at.stdin_owned = true;
        keep_stdin_w = -1;
    }

    /* supervise */
    bool main_done = false;
    int main_code = 0, main_sig = 0;
    int64_t finished_at = 0, deadline = 0;
    for (;;) {
        if (main_done && ((out.fd < 0 && errs.fd < 0) || mono_ms() >= deadline))
            break;
        struct pollfd pfd[6 + ATTACH_MAX_CLIENTS];
        int np = 0, i_sig = -1, i_ctl = -1, i_out = -1, i_err = -1, i_lis = -1, i_in = -1;
        int i_cl[ATTACH_MAX_CLIENTS];
        if (sfd >= 0) {
            i_sig = np;
            pfd[np++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
        }
        if (ctl.fd >= 0) {
            i_ctl = np;
            pfd[np++] = (struct pollfd){ .fd = ctl.fd, .events = POLLIN };
        }
        if (out.fd >= 0) {
            i_out = np;
            pfd[np++] = (struct pollfd){ .fd = out.fd, .events = POLLIN };
        }
        if (errs.fd >= 0) {
            i_err = np;
            pfd[np++] = (struct pollfd){ .fd = errs.fd, .events = POLLIN };
        }
        if (sp.tty && out.fd < 0)
            g_at.stdin_fd = g_at.master = -1; /* the pty is closed */
        if (g_at.lfd >= 0 && !main_done) {
            i_lis = np;
            pfd[np++] = (struct pollfd){ .fd = g_at.lfd, .events = POLLIN };
        }
        if (g_at.stdin_fd >= 0 && g_at.slen > 0) {
            i_in = np;
            pfd[np++] = (struct pollfd){ .fd = g_at.stdin_fd, .events = POLLOUT };
        }
        for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
            struct aclient *c = &g_at.c[i];
            i_cl[i] = -1;
            if (c->fd < 0)
                continue;
            short ev = (short)((c->out_len > 0 ? POLLOUT : 0) |
                               (!c->blocked && c->in_len < 5 + ATTACH_IN_MAX ? POLLIN : 0));
            i_cl[i] = np;
            pfd[np++] = (struct pollfd){ .fd = c->fd, .events = ev };
        }
        int timeout = -1;
        if (main_done) {
            int64_t left = deadline - mono_ms();
            timeout = left < 0 ? 0 : (int)left;
        } else if (sfd < 0) {
            timeout = 100; /* no signalfd: poll for the child */
        }
        int r = poll(pfd, (nfds_t)np, timeout);
        if (r < 0) {
            if (errno != EINTR) {
                msg("poll: %s", strerror(errno));
                sleep_ms(10);
            }
            continue;
        }

        bool check_children = sfd < 0;
        if (i_sig >= 0 && pfd[i_sig].revents) {
            struct signalfd_siginfo si;
            ssize_t n;
            while ((n = read(sfd, &si, sizeof si)) == (ssize_t)sizeof si) {
                int sig = (int)si.ssi_signo;
                if (sig == SIGCHLD)
                    check_children = true;
                else if (!main_done)
                    kill(pid, sig);
            }
        }
        if (check_children) {
            int st;
            pid_t p;
            while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                if (p == pid && !main_done) {
                    main_done = true;
                    main_code = code_from_wait(st, &main_sig);
                    finished_at = now_ns();
                    deadline = mono_ms() + DRAIN_TIMEOUT_MS;
                }
            }
        }
        if (i_ctl >= 0 && pfd[i_ctl].revents)
            ctl_read(&ctl, &lg, pid, main_done);
        if (i_out >= 0 && pfd[i_out].revents)
            stream_read(&lg, &out, chunk);
        if (i_err >= 0 && pfd[i_err].revents)
            stream_read(&lg, &errs, chunk);
        if (i_lis >= 0 && pfd[i_lis].revents)
            attach_accept();
        if (i_in >= 0 && pfd[i_in].revents && g_at.stdin_fd == pfd[i_in].fd) {
            attach_stdin_flush();
            for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) /* room again for held frames */
                if (g_at.c[i].fd >= 0 && g_at.c[i].blocked)
                    attach_frames(&g_at.c[i]);
        }
        for (int i = 0; i < ATTACH_MAX_CLIENTS; i++) {
            struct aclient *c = &g_at.c[i];
            int k = i_cl[i];
            if (k < 0 || c->fd != pfd[k].fd || !pfd[k].revents)
                continue;
            if (pfd[k].revents & POLLOUT)
                attach_flush(c);
            if (c->fd >= 0 && (pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
                attach_read(c, pfd[k].revents);
        }
    }

    /* drained (or gave up waiting): flush fragments, record the exit */
    stream_close(&lg, &out);
    stream_close(&lg, &errs);
    if (lg.fd >= 0)
        close(lg.fd);
    if (ctl.fd >= 0)
        close(ctl.fd);
    unlink(path_ctl); /* a writer must not block on a FIFO nobody reads */
    write_status(main_code, main_sig, finished_at, main_code == 0 ? "Completed" : "Error", NULL);
    attach_finish(main_code);
    if (keep_stdin_w >= 0)
        close(keep_stdin_w);
    kill_and_reap_all(pid1, pid);
    return main_code;

start_error:
    one_line(err);
    msg("%s", err);
    unlink(path_ctl);
    if (g_at.lfd >= 0) {
        close(g_at.lfd);
        unlink(path_attach);
    }
    write_status(EXIT_INTERNAL, 0, now_ns(), "StartError", err);
    return EXIT_INTERNAL;
}

/* ------------------------------------------------------------------ */
/* exec mode                                                           */

static int usage(void)
{
    msg("usage: " PROG " SPECFILE | " PROG " exec [--timeout SECONDS] [--tty] -- CMD [ARG...] | "
        PROG " tty-exec PTY -- CMD [ARG...]");
    return EXIT_INTERNAL;
}

static int exec_mode(int argc, char **argv)
{
    double timeout = 0;
    const char *timeout_str = NULL;
    bool want_tty = false;
    const char *spec_file = path_spec;
    int i = 0;
    while (i < argc) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-')
            break;
        if (!strcmp(a, "--tty") || !strcmp(a, "-t")) {
            want_tty = true;
            i++;
        } else if (!strcmp(a, "--timeout") || !strncmp(a, "--timeout=", 10) ||
                   !strcmp(a, "--spec") || !strncmp(a, "--spec=", 7)) {
            bool is_t = !strncmp(a, "--timeout", 9);
            const char *v = strchr(a, '=');
            if (v) {
                v++;
                i++;
            } else {
                if (i + 1 >= argc)
                    return usage();
                v = argv[i + 1];
                i += 2;
            }
            if (is_t) {
                char *end;
                errno = 0;
                timeout = strtod(v, &end);
                if (errno || end == v || *end || timeout < 0 || timeout > 1e9) {
                    msg("exec: invalid --timeout \"%s\"", v);
                    return EXIT_INTERNAL;
                }
                timeout_str = v;
            } else {
                spec_file = v;
            }
        } else {
            return usage();
        }
    }
    if (i >= argc)
        return usage();
    char **cmd = argv + i;

    /* If whoever started us (lxc-attach) dies, so do we, and through our own
     * parent-death signal the command: a dropped exec session leaves nothing
     * behind in the container. */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);

    struct spec sp;
    char err[1024];
    if (parse_spec(spec_file, &sp, err, sizeof err) < 0) {
        msg("exec: %s", err);
        return EXIT_INTERNAL;
    }

    int sfd = setup_signalfd();
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) {
        msg("exec: pipe: %s", strerror(errno));
        return EXIT_INTERNAL;
    }
    pid_t parent = getpid();
    bool stdin_tty = isatty(STDIN_FILENO);
    /* tcgetpgrp works only on our controlling terminal */
    bool ctty_ours = stdin_tty && tcgetpgrp(STDIN_FILENO) >= 0;
    bool take_ctty = want_tty && stdin_tty && !ctty_ours;
    pid_t pid = fork();
    if (pid < 0) {
        msg("exec: fork: %s", strerror(errno));
        return EXIT_INTERNAL;
    }
    if (pid == 0) {
        close(ep[0]);
        /* own process group, so a timeout kills everything it started;
         * on a terminal it becomes the foreground job (SIGTTOU is ignored) */
        if (take_ctty) {
            /* --tty, and stdin is a terminal that is not ours: new session
             * with that terminal as controlling tty */
            if (setsid() < 0 || ioctl(STDIN_FILENO, TIOCSCTTY, 0) < 0)
                child_fail(ep[1], ST_CTTY, errno);
        } else {
            setpgid(0, 0);
            if (ctty_ours)
                (void)tcsetpgrp(STDIN_FILENO, getpid());
        }
        child_exec(&sp, cmd, ep[1], parent);
    }
    if (!take_ctty)
        setpgid(pid, pid); /* avoid the race with the child's own setpgid */
    close(ep[1]);
    struct child_err ce;
    if (read_child_err(ep[0], &ce)) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        format_child_err(err, sizeof err, &ce, &sp, cmd[0]);
        msg("%s", err);
        return exit_code_for(&ce);
    }
    close(ep[0]);

    int64_t deadline = timeout > 0 ? mono_ms() + (int64_t)(timeout * 1000.0 + 0.5) : -1;
    int code = -1;
    while (code < 0) {
        int st, sig;
        pid_t p = waitpid(pid, &st, WNOHANG);
        if (p == pid) {
            code = code_from_wait(st, &sig);
            break;
        }
        if (p < 0 && errno != EINTR) {
            msg("exec: waitpid: %s", strerror(errno));
            code = EXIT_INTERNAL;
            break;
        }
        int to = -1;
        if (deadline >= 0) {
            int64_t left = deadline - mono_ms();
            if (left <= 0) {
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
                while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                    ;
                msg("exec timed out after %s s", timeout_str);
                code = 137;
                break;
            }
            to = (int)left;
        }
        if (sfd < 0 && (to < 0 || to > 100))
            to = 100;
        struct pollfd pfd = { .fd = sfd, .events = POLLIN };
        int r = poll(&pfd, sfd >= 0 ? 1 : 0, to);
        if (r > 0) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                if (si.ssi_signo != SIGCHLD)
                    kill(pid, (int)si.ssi_signo);
            }
        }
    }
    if (stdin_tty && tcgetpgrp(STDIN_FILENO) == pid)
        tcsetpgrp(STDIN_FILENO, getpgrp());
    return code;
}

/* ------------------------------------------------------------------ */
/* tty-exec mode (host side)                                           */

/* Used by the daemon for an interactive exec: it holds the master of a pty
 * and runs `pve-cri-init tty-exec /dev/pts/N -- lxc-attach ...`.  We start a
 * new session, make PTY its controlling terminal and stdio, and exec CMD.  So
 * a resize of the master reaches CMD (lxc-attach) as SIGWINCH, and the JVM
 * never opens the slave itself (it could become its controlling tty). */
static int tty_exec_mode(int argc, char **argv)
{
    if (argc < 3 || strcmp(argv[1], "--") != 0)
        return usage();
    const char *pty = argv[0];
    if (setsid() < 0) {
        msg("tty-exec: setsid: %s", strerror(errno));
        return EXIT_INTERNAL;
    }
    int fd = open(pty, O_RDWR);
    if (fd < 0) {
        msg("tty-exec: open %s: %s", pty, strerror(errno));
        return EXIT_INTERNAL;
    }
    if (ioctl(fd, TIOCSCTTY, 0) < 0) {
        msg("tty-exec: TIOCSCTTY %s: %s", pty, strerror(errno));
        return EXIT_INTERNAL;
    }
    if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
        msg("tty-exec: dup2: %s", strerror(errno));
        return EXIT_INTERNAL;
    }
    if (fd > 2)
        close(fd);
    execvp(argv[2], argv + 2);
    int e = errno;
    msg("tty-exec: exec %s: %s", argv[2], strerror(e));
    return e == ENOENT ? 127 : e == EACCES || e == ENOEXEC ? 126 : EXIT_INTERNAL;
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    ensure_std_fds();
    const char *dir = getenv("PVE_CRI_SHIM_DIR");
    if (!dir || !*dir)
        dir = DEFAULT_SHIM_DIR;
    if (strlen(dir) > PATH_MAX - 32) {
        msg("PVE_CRI_SHIM_DIR too long");
        return EXIT_INTERNAL;
    }
    snprintf(path_started, sizeof path_started, "%s/started", dir);
    snprintf(path_status, sizeof path_status, "%s/status", dir);
    snprintf(path_ctl, sizeof path_ctl, "%s/ctl", dir);
    snprintf(path_spec, sizeof path_spec, "%s/spec", dir);
    snprintf(path_attach, sizeof path_attach, "%s/attach.sock", dir);

    if (argc >= 2 && !strcmp(argv[1], "exec"))
        return exec_mode(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "tty-exec"))
        return tty_exec_mode(argc - 2, argv + 2);
    if (argc == 1)
        return main_mode(path_spec);
    if (argc == 2 && argv[1][0] != '-')
        return main_mode(argv[1]);
    return usage();
}
