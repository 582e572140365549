#!/bin/bash
# Smoke test of the pve-cri init shim as PID 1 of a real LXC container
# (busybox rootfs), driven the way the daemon drives it.
#
# usage: lxc-smoke.sh PATH/TO/pve-cri-init
# exit:  0 passed, 1 failed, 2 usage, 77 skipped (not root, no lxc-start or
#        no static /bin/busybox).  ~10 s.  Cleans up its containers, cgroups
#        and /tmp/pve-cri-lxc-smoke.* directory.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 PATH/TO/pve-cri-init" >&2
    exit 2
fi
BIN=$(readlink -f "$1")
if [ "$(id -u)" != 0 ] || ! command -v lxc-start >/dev/null || [ ! -x /bin/busybox ] ||
    ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then
    echo "skip - needs root, lxc-start and a static /bin/busybox"
    exit 77
fi

W=$(mktemp -d /tmp/pve-cri-lxc-smoke.XXXXXX)
N=pcs$$
P=(-n "$N" -P "$W/lxc")
PASS=0
FAIL=0
CASE=setup

ok() { echo "ok - $CASE: $1"; PASS=$((PASS + 1)); }
bad() { echo "not ok - $CASE: $1"; FAIL=$((FAIL + 1)); }
check() {
    local d=$1
    shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}
wait_for() { # wait_for SECS COMMAND...
    local n=$(($1 * 10)) i
    shift
    for ((i = 0; i < n; i++)); do "$@" && return 0; sleep 0.1; done
    return 1
}
has_line() { sed 's/^[^ ]* //' "$2" 2>/dev/null | grep -qxF -- "$1"; }
alive() { local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -n "$s" ] && [ "$s" != Z ]; }

cleanup_container() {
    lxc-stop "${P[@]}" -k >/dev/null 2>&1
    [ -n "${INIT:-}" ] && alive "$INIT" && kill -9 "$INIT" 2>/dev/null
    sleep 0.2
    local d
    for d in $(find /sys/fs/cgroup -maxdepth 6 -type d \( -name "lxc.payload.$N*" -o -name "lxc.monitor.$N*" \) 2>/dev/null); do
        find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
}
cleanup() {
    cleanup_container
    rm -rf "$W"
}
trap cleanup EXIT

# rootfs: busybox + applet links
R=$W/rootfs
mkdir -p "$R"/{bin,proc,sys,dev,tmp,etc,root,home/app} "$W/shim" "$W/logs" "$W/lxc/$N"
cp /bin/busybox "$R/bin/"
for a in $(/bin/busybox --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
cp "$BIN" "$W/shim/init"
S=$W/shim
LOG=$W/logs/c.log

cat >"$W/lxc/$N/config" <<EOF
lxc.uts.name = $N
lxc.rootfs.path = dir:$R
lxc.mount.auto = proc:mixed sys:mixed
lxc.autodev = 1
lxc.cgroup.relative = 1
lxc.apparmor.profile = unconfined
lxc.mount.entry = $S .pve-cri none bind,create=dir 0 0
lxc.mount.entry = $W/logs .pve-cri/log none bind,create=dir 0 0
lxc.init.cmd = /.pve-cri/init /.pve-cri/spec
lxc.console.path = none
lxc.tty.max = 0
# needed for tty=1: LXC mounts a private devpts (/dev/pts, /dev/ptmx) only with it
lxc.pty.max = 16
lxc.signal.halt = SIGTERM
lxc.log.file = $W/lxc/$N/lxc.log
lxc.log.level = WARN
EOF

start_container() { # start_container SPEC-RECORDS...
    rm -f "$S/status" "$S/started" "$LOG"
    printf '%s\0' "$@" >"$S/spec"
    lxc-start "${P[@]}" -d
    INIT=$(lxc-info "${P[@]}" -pH 2>/dev/null)
}

# ------------------------------------------------------------------ run 1
CASE=lxc-main
start_container arg=sh arg=-c \
    'arg=echo err-line >&2; trap "echo got-term; exit 0" TERM; i=0; while :; do i=$((i+1)); echo beat$i; sleep 0.1; done' \
    env=PATH=/bin env=HOME=/home/app cwd=/home/app uid=1000 gid=1000 group=10 \
    log=/.pve-cri/log/c.log
check "container is running" [ -n "$INIT" ]
check "started file appears on the host" wait_for 5 test -s "$S/started"
check "main process is pid 2 in the container" grep -qx 'pid=2' "$S/started"
check "stdout logged" wait_for 5 has_line "stdout F beat1" "$LOG"
check "stderr logged" has_line "stderr F err-line" "$LOG"

CASE=lxc-exec
out=$(lxc-attach "${P[@]}" -- /.pve-cri/init exec -- sh -c 'echo hi; exit 3')
rc=$?
check "exec exit code 3" [ $rc = 3 ]
check "exec output" [ "$out" = hi ]
out=$(lxc-attach "${P[@]}" -- /.pve-cri/init exec -- sh -c 'id -u; id -g; id -G; pwd; echo $HOME')
check "exec gets the main process's identity, cwd and env" \
    [ "$out" = "$(printf '1000\n1000\n1000 10\n/home/app\n/home/app')" ]
lxc-attach "${P[@]}" -- /.pve-cri/init exec --timeout 1 -- sleep 10 2>/dev/null
check "exec timeout: 137" [ $? = 137 ]
lxc-attach "${P[@]}" -- /.pve-cri/init exec -- nope 2>"$W/err"
check "exec not found: 127" [ $? = 127 ]
check "exec not found: message" grep -qF 'exec: "nope": executable file not found in $PATH' "$W/err"

CASE=lxc-reopen
mv "$LOG" "$LOG.1"
echo reopen >"$S/ctl"
check "reopen creates a new log file" wait_for 5 test -s "$LOG"

CASE=lxc-monitor-killed
MON=$(pgrep -f "lxc monitor.*$N")
check "found the lxc-start monitor" [ -n "$MON" ]
[ -n "$MON" ] && kill -9 "$MON"
sleep 1
check "container init survives kill -9 of the monitor" alive "$INIT"
n1=$(wc -l <"$LOG")
sleep 0.5
check "main process keeps logging" [ "$(wc -l <"$LOG")" -gt "$n1" ]
echo "signal 15" >"$S/ctl"
check "status appears after ctl 'signal 15'" wait_for 5 test -s "$S/status"
check "status exit_code=0" grep -qx exit_code=0 "$S/status"
check "TERM handler output logged" has_line "stdout F got-term" "$LOG"
check "container init exits" wait_for 5 bash -c "! awk '{print \$3}' /proc/$INIT/stat 2>/dev/null | grep -qv Z"
cleanup_container

# ------------------------------------------------------------------ run 2: tty, exit code
CASE=lxc-tty
start_container arg=sh arg=-c 'arg=tty; echo t-ok; echo t-err >&2; exit 4' env=PATH=/bin tty=1 \
    log=/.pve-cri/log/c.log
check "status appears" wait_for 5 test -s "$S/status"
check "status exit_code=4" grep -qx exit_code=4 "$S/status" || { cat "$S/status"; false; }
check "pty inside the container" bash -c "sed 's/^[^ ]* //' '$LOG' | grep -Eqx 'stdout F /dev/pts/[0-9]+'"
check "stderr on the tty stream" has_line "stdout F t-err" "$LOG"
check "container stops by itself" wait_for 5 bash -c "lxc-info ${P[*]} -sH | grep -qx STOPPED"
cleanup_container

# ------------------------------------------------------------------ run 3: lxc-stop, exec failure
CASE=lxc-stop
start_container arg=sh arg=-c 'arg=trap "echo stopping; exit 0" TERM; while :; do sleep 0.1; done' \
    env=PATH=/bin log=/.pve-cri/log/c.log
wait_for 5 test -s "$S/started"
lxc-stop "${P[@]}" -t 10
check "lxc-stop with lxc.signal.halt=SIGTERM: graceful, status Completed" grep -qx reason=Completed "$S/status"
check "handler output logged" has_line "stdout F stopping" "$LOG"
cleanup_container

CASE=lxc-start-error
start_container arg=no-such-binary env=PATH=/bin log=/.pve-cri/log/c.log
check "status appears" wait_for 5 test -s "$S/status"
check "status exit_code=127" grep -qx exit_code=127 "$S/status"
check "status error" grep -qxF 'error=exec: "no-such-binary": executable file not found in $PATH' "$S/status"
cleanup_container

echo "# passed $PASS, failed $FAIL"
[ $FAIL = 0 ]
