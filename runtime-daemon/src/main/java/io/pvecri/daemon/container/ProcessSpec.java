package io.pvecri.daemon.container;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * The container's main process as the init shim runs it, written to {@code /.pve-cri/spec} as
 * NUL-terminated {@code key=value} records (docs/shim.md): LXC's {@code lxc.init.cmd} is split on
 * spaces and cannot carry arguments safely, so everything travels in this file instead.
 *
 * @param capabilities bit mask of the capabilities the process keeps (bounding, permitted,
 *                     effective, inheritable); -1 = all (privileged)
 * @param logFile      path of the CRI log inside the container, or null for none
 * @param seccomp      the seccomp filter (applied by the shim; a Localhost profile's program goes
 *                     to {@code seccomp.bpf} beside the spec)
 * @param maskedPaths  paths hidden from the container (tmpfs or /dev/null over them)
 * @param readonlyPaths paths made read-only inside the container
 */
public record ProcessSpec(List<String> argv, List<String> env, String cwd, long uid, long gid, List<Long> groups,
                          boolean tty, boolean stdin, boolean noNewPrivs, long oomScoreAdj,
                          long capabilities, boolean readonlyRootfs, String logFile,
                          Seccomp seccomp, List<String> maskedPaths, List<String> readonlyPaths) {

    ProcessSpec withEnv(List<String> newEnv) {
        return new ProcessSpec(argv, List.copyOf(newEnv), cwd, uid, gid, groups, tty, stdin, noNewPrivs, oomScoreAdj,
                capabilities, readonlyRootfs, logFile, seccomp, maskedPaths, readonlyPaths);
    }

    byte[] encode() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        argv.forEach(a -> rec(out, "arg", a));
        env.forEach(e -> rec(out, "env", e));
        rec(out, "cwd", cwd);
        rec(out, "uid", Long.toString(uid));
        rec(out, "gid", Long.toString(gid));
        groups.forEach(g -> rec(out, "group", Long.toString(g)));
        if (tty) {
            rec(out, "tty", "1");
        }
        if (stdin) {
            rec(out, "stdin", "1");
        }
        if (noNewPrivs) {
            rec(out, "no_new_privs", "1");
        }
        if (oomScoreAdj != 0) {
            rec(out, "oom_score_adj", Long.toString(oomScoreAdj));
        }
        if (capabilities != -1) {
            rec(out, "caps", Long.toUnsignedString(capabilities));
        }
        if (readonlyRootfs) {
            rec(out, "readonly_rootfs", "1");
        }
        if (logFile != null) {
            rec(out, "log", logFile);
        }
        switch (seccomp) {
            case Seccomp.RuntimeDefault ignored -> rec(out, "seccomp", "runtime-default");
            case Seccomp.Localhost l -> {
                rec(out, "seccomp_filter", "/.pve-cri/" + FILTER_FILE);
                if (l.filter().flags() != 0) {
                    rec(out, "seccomp_flags", Integer.toString(l.filter().flags()));
                }
            }
            case Seccomp.Unconfined ignored -> { }
        }
        maskedPaths.forEach(m -> rec(out, "masked_path", m));
        readonlyPaths.forEach(r -> rec(out, "readonly_path", r));
        return out.toByteArray();
    }

    /** Name of the compiled Localhost profile in the shim directory (/.pve-cri inside). */
    static final String FILTER_FILE = "seccomp.bpf";

    /** Writes the spec to {@code file} and a Localhost profile's program beside it. */
    void writeTo(Path file) throws IOException {
        if (seccomp instanceof Seccomp.Localhost l) {
            io.pvecri.daemon.util.AtomicFiles.write(file.resolveSibling(FILTER_FILE), l.filter().program());
        }
        io.pvecri.daemon.util.AtomicFiles.write(file, encode());
    }

    private static void rec(ByteArrayOutputStream out, String key, String value) {
        out.writeBytes(key.getBytes(StandardCharsets.UTF_8));
        out.write('=');
        out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
        out.write(0);
    }
}
