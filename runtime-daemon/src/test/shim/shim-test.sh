#!/bin/bash
# Tests for the pve-cri init shim (src/main/c/pve-cri-init.c), run on the host
# (not as PID 1: the shim then uses PR_SET_CHILD_SUBREAPER).
#
# usage: shim-test.sh PATH/TO/pve-cri-init
# exit:  0 all passed (some may be skipped when not root), 1 a test failed,
#        2 usage error.  One line per check: "ok - ...", "not ok - ...", "skip - ...".
# Needs: bash, sh, coreutils (head tr timeout sleep id), grep, awk; python3 for
# the attach framing checks (skipped without it). ~15 s.
set -u

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
    echo "usage: $0 PATH/TO/pve-cri-init" >&2
    exit 2
fi
BIN=$(readlink -f "$1")
T=$(mktemp -d /tmp/pve-cri-shim-test.XXXXXX)
chmod 755 "$T"
PASS=0
FAIL=0
SKIP=0
IS_ROOT=0
[ "$(id -u)" = 0 ] && IS_ROOT=1
SHIM_PID=
RC=

cleanup() {
    [ -n "$SHIM_PID" ] && kill -9 "$SHIM_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok - $CASE: $1"; PASS=$((PASS + 1)); }
bad() { echo "not ok - $CASE: $1"; FAIL=$((FAIL + 1)); }
skip() { echo "skip - $1"; SKIP=$((SKIP + 1)); }
check() { # check DESCRIPTION COMMAND...
    local d=$1
    shift
    if "$@"; then ok "$d"; else bad "$d"; fi
}

# newcase NAME: fresh shim dir $D, log file $L
newcase() {
    CASE=$1
    D=$T/$1
    L=$D/log/c.log
    mkdir -p "$D/log"
}
# spec KEY=VALUE...: write $D/spec (NUL-terminated records); log= is added
# (not root: run as ourselves; the spec's default identity is 0/0)
IDS=()
[ $IS_ROOT = 1 ] || IDS=("uid=$(id -u)" "gid=$(id -g)")
spec() { printf '%s\0' "${IDS[@]}" "$@" >"$D/spec"; }
spec_log() { printf '%s\0' "${IDS[@]}" "$@" "log=$L" >"$D/spec"; }
# ctl CMD: write a command to the control FIFO (never block if nobody reads)
ctl() { timeout 5 sh -c 'printf "%s\n" "$1" >"$2"' sh "$1" "$D/ctl" || bad "writing \"$1\" to ctl"; }
# start: run the shim in the background
start() {
    PVE_CRI_SHIM_DIR=$D "$BIN" "$D/spec" 2>"$D/shim.err" &
    SHIM_PID=$!
}
# wait_shim [SECS]: wait for the shim to exit, RC = its exit code
wait_shim() {
    local limit=$(( ${1:-10} * 20 )) i=0
    while kill -0 "$SHIM_PID" 2>/dev/null; do
        # a zombie still counts as alive for kill -0: wait reaps it below
        [ "$(awk '{print $3}' /proc/"$SHIM_PID"/stat 2>/dev/null)" = Z ] && break
        i=$((i + 1))
        if [ $i -gt $limit ]; then
            bad "shim did not exit within ${1:-10}s"
            kill -9 "$SHIM_PID" 2>/dev/null
            # do not leave the main process running (it has its own session)
            local mp
            mp=$(sed -n 's/^pid=//p' "$D/started" 2>/dev/null)
            [ -n "$mp" ] && kill -9 -- "-$mp" "$mp" 2>/dev/null
            break
        fi
        sleep 0.05
    done
    wait "$SHIM_PID"
    RC=$?
    SHIM_PID=
}
# wait_for COMMAND...: poll up to 5 s
wait_for() {
    local i
    for i in $(seq 100); do "$@" && return 0; sleep 0.05; done
    return 1
}
# body: log records without timestamps
body() { sed 's/^[^ ]* //' "${1:-$L}" 2>/dev/null; }
has_line() { body "${2:-$L}" | grep -qxF -- "$1"; }
# dead PID: gone, or a zombie waiting for some other reaper
dead() { local st; st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -z "$st" ] || [ "$st" = Z ]; }
status_is() { grep -qxF -- "$1" "$D/status" 2>/dev/null; }
log_format_ok() {
    [ -s "${1:-$L}" ] &&
        ! grep -Evq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}Z (stdout|stderr) [PF] ' "${1:-$L}"
}
status_complete() {
    grep -Eq '^finished_at=[0-9]{19}$' "$D/status" && grep -Eq '^signal=[0-9]+$' "$D/status" &&
        grep -Eq '^reason=' "$D/status"
}

# ---------------------------------------------------------------- basic logging
newcase basic
spec_log arg=sh arg=-c 'arg=echo out1; echo err1 >&2; printf "a\r\nb\n\n"; printf tail' env=PATH=/usr/bin:/bin
start
wait_shim
check "exit code 0" [ "$RC" = 0 ]
check "log lines in CRI format" log_format_ok
check "stdout line" has_line "stdout F out1"
check "stderr line" has_line "stderr F err1"
check "CRLF stripped" has_line "stdout F a"
check "line after CRLF" has_line "stdout F b"
check "empty line is an empty F record" has_line "stdout F "
check "fragment at EOF is a P record" has_line "stdout P tail"
check "no stray CR" bash -c "! grep -q \$'\r' '$L'"
check "status exit_code=0" status_is exit_code=0
check "status signal=0" status_is signal=0
check "status reason=Completed" status_is reason=Completed
check "status has finished_at" status_complete
check "started has pid" grep -Eq '^pid=[0-9]+$' "$D/started"
check "started has started_at" grep -Eq '^started_at=[0-9]{19}$' "$D/started"
check "started_at <= finished_at" bash -c "[ \$(sed -n 's/^started_at=//p' '$D/started') -le \$(sed -n 's/^finished_at=//p' '$D/status') ]"
check "ctl FIFO removed after exit" [ ! -e "$D/ctl" ]
check "no tmp files left" bash -c "! ls '$D' | grep -q tmp"
check "log file mode 0640" [ "$(stat -c %a "$L")" = 640 ]

# ---------------------------------------------------------------- long lines
newcase longline
spec_log arg=sh arg=-c 'arg=head -c 40000 /dev/zero | tr "\0" x; echo; echo short'
start
wait_shim
check "exit code 0" [ "$RC" = 0 ]
check "40000-byte line is P,P,F (16384,16384,7232)" \
    [ "$(body | awk '{print $1, $2, length($3)}' | tr '\n' ,)" = "stdout P 16384,stdout P 16384,stdout F 7232,stdout F 5," ]
check "log lines in CRI format" log_format_ok

newcase maxline
spec_log arg=sh arg=-c 'arg=printf "0123456789\nabcdefghijklmnopqrstu\n0123456789\r\nABCDEFGHIJKLM"' max_line=10
start
wait_shim
check "max_line=10 splitting" \
    [ "$(body | tr '\n' ,)" = "stdout F 0123456789,stdout P abcdefghij,stdout P klmnopqrst,stdout F u,stdout F 0123456789,stdout P ABCDEFGHIJ,stdout P KLM," ]

# ---------------------------------------------------------------- exit codes
newcase exitcode
spec_log arg=sh arg=-c 'arg=echo bye; exit 7'
start
wait_shim
check "shim exits with the main process's code" [ "$RC" = 7 ]
check "status exit_code=7" status_is exit_code=7
check "status reason=Error" status_is reason=Error
check "status complete" status_complete

newcase notfound
spec_log arg=no-such-cmd-xyz env=PATH=/usr/bin:/bin
start
wait_shim
check "exit code 127" [ "$RC" = 127 ]
check "status exit_code=127" status_is exit_code=127
check "status reason=StartError" status_is reason=StartError
check "status error message" status_is 'error=exec: "no-such-cmd-xyz": executable file not found in $PATH'
check "no started file" [ ! -e "$D/started" ]
check "ctl FIFO removed after a start error" [ ! -e "$D/ctl" ]

newcase notexec
spec_log arg=/etc/passwd
start
wait_shim
check "exit code 126" [ "$RC" = 126 ]
check "status error message" status_is 'error=exec: "/etc/passwd": permission denied'

newcase nopath
spec_log arg=/no/such/bin
start
wait_shim
check "exit code 127" [ "$RC" = 127 ]
check "status error message" status_is 'error=exec: "/no/such/bin": stat /no/such/bin: no such file or directory'

newcase mkcwd
spec_log arg=pwd "cwd=$D/new/a/b"
start
wait_shim
check "exit code 0" [ "$RC" = 0 ]
check "missing cwd is created and used" has_line "stdout F $D/new/a/b"
check "created cwd has mode 0755" [ "$(stat -c %a "$D/new/a")" = 755 ]

newcase cwdfile
spec_log arg=pwd cwd=/etc/passwd
start
wait_shim
check "exit code 128" [ "$RC" = 128 ]
check "status error message" status_is 'error=chdir to cwd ("/etc/passwd") set in config: not a directory'
check "status reason=StartError" status_is reason=StartError

newcase badspec
spec env=A=b
start
wait_shim
check "spec without arg= fails with 128" [ "$RC" = 128 ]
check "status error" grep -q '^error=spec: no command' "$D/status"

# seccomp_filter=FILE: a compiled Localhost profile (struct sock_filter[]), here chmod, fchmodat
# and fchmodat2 -> EPERM, everything else allowed.
newcase seccomp-filter
printf '\x20\x00\x00\x00\x00\x00\x00\x00\x15\x00\x03\x00\x5a\x00\x00\x00\x15\x00\x02\x00\x0c\x01\x00\x00\x15\x00\x01\x00\xc4\x01\x00\x00\x06\x00\x00\x00\x00\x00\xff\x7f\x06\x00\x00\x00\x01\x00\x05\x00' >"$D/filter.bpf"
touch "$D/target"
spec_log arg=sh arg=-c "arg=chmod 600 $D/target || echo denied; grep Seccomp: /proc/self/status" \
    "seccomp_filter=$D/filter.bpf" env=PATH=/usr/bin:/bin
start
wait_shim
check "exit code 0" [ "$RC" = 0 ]
check "the filter denies chmod" has_line "stdout F denied"
check "the process runs under a filter" has_line $'stdout F Seccomp:\t2'

newcase seccomp-filter-bad
printf 'x%.0s' 1 2 3 4 5 6 7 >"$D/filter.bpf"
spec_log arg=true "seccomp_filter=$D/filter.bpf"
start
wait_shim
check "a filter that is not whole instructions fails with 128" [ "$RC" = 128 ]
check "status error names the file" grep -q "^error=spec: seccomp filter $D/filter.bpf has 7 bytes" "$D/status"

newcase odd-values
spec_log arg=sh arg=-c $'arg=echo "$X"\necho second line' 'env=X=a=b c' env=PATH=/usr/bin:/bin
start
wait_shim
check "value with '=' and space" has_line "stdout F a=b c"
check "value with newline" has_line "stdout F second line"

# ---------------------------------------------------------------- signals
newcase sigterm-trap
spec_log arg=sh arg=-c 'arg=trap "echo got-term; exit 42" TERM; echo ready; while :; do sleep 0.05; done'
start
wait_for has_line "stdout F ready"
kill -TERM "$SHIM_PID"
wait_shim
check "TERM forwarded, handler exit code" [ "$RC" = 42 ]
check "handler output logged" has_line "stdout F got-term"
check "status exit_code=42" status_is exit_code=42

newcase sigterm-default
spec_log arg=sleep arg=100
start
wait_for test -e "$D/started"
sleep 0.1
kill -TERM "$SHIM_PID"
wait_shim
check "killed by TERM: exit code 143" [ "$RC" = 143 ]
check "status exit_code=143" status_is exit_code=143
check "status signal=15" status_is signal=15

# ---------------------------------------------------------------- ctl FIFO
newcase reopen
spec_log arg=sh arg=-c 'arg=i=0; while :; do i=$((i+1)); echo line$i; sleep 0.02; done'
start
wait_for has_line "stdout F line5"
check "ctl is a FIFO" [ -p "$D/ctl" ]
mv "$L" "$L.1"
sleep 0.1
ctl reopen
wait_for test -s "$L"
sleep 0.2
ctl kill
wait_shim
check "reopen created a new log file" test -s "$L"
check "old file kept the earlier lines" has_line "stdout F line1" "$L.1"
check "new file is in CRI format" log_format_ok "$L"
check "no line lost or duplicated across the rotation" bash -c \
    "cat '$L.1' '$L' | sed 's/.* line//' | awk '\$1 != NR { bad = 1 } END { exit bad || NR < 10 }'"
check "kill via ctl: exit code 137" [ "$RC" = 137 ]
check "status signal=9" status_is signal=9

newcase ctl-signal
spec_log arg=sh arg=-c 'arg=trap "echo usr1; exit 5" USR1; echo ready; while :; do sleep 0.05; done'
start
wait_for has_line "stdout F ready"
ctl "bogus command"
ctl "signal 10"
wait_shim
check "signal N via ctl reaches the process" [ "$RC" = 5 ]
check "handler output logged" has_line "stdout F usr1"
check "unknown command reported on shim stderr" grep -q 'unknown command "bogus command"' "$D/shim.err"

# ---------------------------------------------------------------- reaping
newcase zombies
spec_log arg=sh arg=-c "arg=sh -c 'sleep 0.2 & echo \$! > $D/gc.pid'; sleep 1.5; echo done"
start
sleep 1
zombies=$(awk -v p="$SHIM_PID" '$4 == p && $3 == "Z"' /proc/[0-9]*/stat 2>/dev/null | wc -l)
check "orphaned grandchild was reparented and reaped" [ "$zombies" = 0 ] && [ -s "$D/gc.pid" ]
wait_shim
check "exit code 0" [ "$RC" = 0 ]
check "output after orphan exit logged" has_line "stdout F done"

newcase leftovers
spec_log arg=sh arg=-c "arg=sleep 60 & echo \$! > $D/bg.pid; echo bye"
t0=$(date +%s%N)
start
wait_shim 10
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
check "exit code 0" [ "$RC" = 0 ]
check "output logged" has_line "stdout F bye"
check "drain of a pipe held by a leftover process is bounded (${ms} ms)" [ $ms -ge 1500 ] && [ $ms -lt 6000 ]
bg=$(cat "$D/bg.pid")
check "leftover process killed at exit" dead "$bg"

# ---------------------------------------------------------------- tty / stdin / no log
newcase tty
spec_log arg=sh arg=-c 'arg=tty; echo hello; echo oops >&2' tty=1
start
wait_shim
check "exit code 0" [ "$RC" = 0 ]
check "process has a pty" bash -c "sed 's/^[^ ]* //' '$L' | grep -Eqx 'stdout F /dev/pts/[0-9]+'"
check "stdout line" has_line "stdout F hello"
check "stderr goes to the same stream" has_line "stdout F oops"
check "no stderr records" bash -c "! grep -q ' stderr ' '$L'"
check "no CR in log" bash -c "! grep -q \$'\r' '$L'"

newcase stdin-null
spec_log arg=sh arg=-c 'arg=cat; echo done'
start
wait_shim 5
check "stdin is /dev/null by default" has_line "stdout F done"

newcase stdin-open
spec_log arg=sh arg=-c 'arg=timeout 0.5 cat; echo rc=$?' stdin=1 env=PATH=/usr/bin:/bin
start
wait_shim 5
check "stdin=1 keeps a pipe open" has_line "stdout F rc=124"

newcase nolog
spec arg=sh arg=-c 'arg=echo x; echo y >&2; exit 3'
start
wait_shim
check "no log: exit code still recorded" [ "$RC" = 3 ] && status_is exit_code=3
check "no log file created" [ -z "$(ls "$D/log")" ]

if [ $IS_ROOT = 1 ]; then
    newcase privs
    spec_log arg=sh arg=-c 'arg=grep NoNewPrivs /proc/self/status; cat /proc/self/oom_score_adj; id -u; id -g; id -G' \
        no_new_privs=1 oom_score_adj=500 uid=1000 gid=1001 group=44 group=45 env=PATH=/usr/bin:/bin
    start
    wait_shim
    check "exit code 0" [ "$RC" = 0 ]
    check "no_new_privs set" has_line "stdout F NoNewPrivs:	1"
    check "oom_score_adj set" has_line "stdout F 500"
    check "uid" has_line "stdout F 1000"
    check "gid and groups" has_line "stdout F 1001 44 45"
else
    skip "privs (needs root)"
fi

# ---------------------------------------------------------------- exec mode
newcase exec
if [ $IS_ROOT = 1 ]; then
    spec arg=true env=PATH=/usr/bin:/bin env=FOO=bar cwd=/tmp uid=65534 gid=65534 group=100
    out=$(LEAK=1 PVE_CRI_SHIM_DIR=$D "$BIN" exec -- sh -c 'id -u; id -g; id -G; pwd; echo "$FOO ${LEAK:-none}"; exit 3')
    RC=$?
    check "exit code of the command" [ "$RC" = 3 ]
    check "identity, cwd and env from the spec" [ "$out" = "$(printf '65534\n65534\n65534 100\n/tmp\nbar none')" ]
else
    spec arg=true env=PATH=/usr/bin:/bin env=FOO=bar cwd=/tmp
    out=$(LEAK=1 PVE_CRI_SHIM_DIR=$D "$BIN" exec -- sh -c 'pwd; echo "$FOO ${LEAK:-none}"; exit 3')
    RC=$?
    check "exit code of the command" [ "$RC" = 3 ]
    check "cwd and env from the spec" [ "$out" = "$(printf '/tmp\nbar none')" ]
    skip "exec uid/gid (needs root)"
fi
spec arg=true env=PATH=/usr/bin:/bin
t0=$(date +%s%N)
PVE_CRI_SHIM_DIR=$D "$BIN" exec --timeout 1 -- sh -c "sleep 30 & echo \$! > $D/ex.pid; sleep 30" >/dev/null 2>"$D/exec.err"
RC=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "timeout: exit code 137" [ "$RC" = 137 ]
check "timeout: message" grep -qxF "pve-cri-init: exec timed out after 1 s" "$D/exec.err"
check "timeout: took ${ms} ms" [ $ms -ge 900 ] && [ $ms -lt 4000 ]
check "timeout: process group killed" wait_for dead "$(cat "$D/ex.pid")"
PVE_CRI_SHIM_DIR=$D "$BIN" exec -- no-such-cmd-xyz 2>"$D/exec.err"
RC=$?
check "not found: exit code 127" [ "$RC" = 127 ]
check "not found: message" grep -qF 'exec: "no-such-cmd-xyz": executable file not found in $PATH' "$D/exec.err"
PVE_CRI_SHIM_DIR=$D "$BIN" exec -- /etc/passwd 2>/dev/null
check "not executable: exit code 126" [ $? = 126 ]
PVE_CRI_SHIM_DIR=$D "$BIN" exec -- sh -c 'kill -TERM $$'
check "signalled: exit code 143" [ $? = 143 ]
out=$(echo piped | PVE_CRI_SHIM_DIR=$D "$BIN" exec --timeout 5 -- cat)
check "stdin/stdout inherited" [ "$out" = piped ]
PVE_CRI_SHIM_DIR=$T/nonexistent "$BIN" exec -- true 2>/dev/null
check "missing spec: exit code 128" [ $? = 128 ]

# ---------------------------------------------------------------- attach socket
# A python3 client speaks the framing (docs/shim.md); without python3 only the
# socket's life cycle is checked.
attach_client() { # attach_client SOCKET: stdin "one", "two", close stdin; prints "TYPE payload" lines
    timeout 10 python3 - "$1" <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = lambda t, p=b'': struct.pack('>BI', t, len(p)) + p
s.sendall(f(0, b'one\n') + f(0, b'two\n') + f(5))
buf = b''
while True:
    d = s.recv(65536)
    if not d:
        break
    buf += d
i, streams, order = 0, {}, []
while i + 5 <= len(buf):
    t, n = struct.unpack('>BI', buf[i:i + 5])
    streams[t] = streams.get(t, b'') + buf[i + 5:i + 5 + n]
    order.append(t)
    i += 5 + n
print('first', order[0], streams[order[0]].decode())
print('last', order[-1], streams[order[-1]].decode())
for t in (1, 2):
    print(t, streams.get(t, b'').decode().replace('\n', '|'))
PY
}
newcase attach
spec_log arg=sh arg=-c 'arg=read a; echo got:$a; read b; echo got:$b >&2; read c || echo eof; exit 6' stdin=1 env=PATH=/usr/bin:/bin
start
wait_for [ -e "$D/started" ]
check "socket exists once started" [ -S "$D/attach.sock" ]
check "socket mode 0600" [ "$(stat -c %a "$D/attach.sock")" = 600 ]
if command -v python3 >/dev/null; then
    attach_client "$D/attach.sock" >"$D/frames"
    check "hello frame first" grep -qx 'first 6 version=1 tty=0 stdin=1' "$D/frames"
    check "stdin reaches the process; close-stdin frame gives EOF" grep -qx '1 got:one|eof|' "$D/frames"
    check "stderr frames" grep -qx '2 got:two|' "$D/frames"
    check "exit frame with the code last" grep -qx 'last 3 6' "$D/frames"
else
    skip "attach framing (no python3)"
fi
wait_shim
check "exit code 6" [ "$RC" = 6 ]
check "output still logged" has_line "stdout F got:one"
check "socket removed after exit" [ ! -e "$D/attach.sock" ]
if command -v python3 >/dev/null; then
    newcase attach_slow
    A=$(printf 'a%.0s' $(seq 300))
    spec_log arg=sh arg=-c "arg=sleep 1.5; i=0; while [ \$i -lt 8000 ]; do echo line-\$i-$A; i=\$((i+1)); done" env=PATH=/usr/bin:/bin
    start
    # a client that connects and never reads (2.5 MB of output) must not hold up the log
    wait_for [ -S "$D/attach.sock" ] &&
        python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(8)' "$D/attach.sock" 2>/dev/null &
    SLOW=$!
    wait_shim 10
    check "log complete despite a client that does not read" has_line "stdout F line-7999-$A"
    check "the slow client was dropped" grep -q "attach: client dropped: more than 1 MiB" "$D/shim.err"
    kill "$SLOW" 2>/dev/null
    wait "$SLOW" 2>/dev/null
fi

echo "# passed $PASS, failed $FAIL, skipped $SKIP"
[ $FAIL = 0 ]
