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
 * @param seccompDefault the RuntimeDefault seccomp filter (applied by the shim)
 * @param maskedPaths  paths hidden from the container (tmpfs or /dev/null over them)
 * @param readonlyPaths paths made read-only inside the container
 */
public record ProcessSpec(List<String> argv, List<String> env, String cwd, long uid, long gid, List<Long> groups,
                          boolean tty, boolean stdin, boolean noNewPrivs, long oomScoreAdj,
                          long capabilities, boolean readonlyRootfs, String logFile,
                          boolean seccompDefault, List<String> maskedPaths, List<String> readonlyPaths) {

    ProcessSpec withEnv(List<String> newEnv) {
        return new ProcessSpec(argv, List.copyOf(newEnv), cwd, uid, gid, groups, tty, stdin, noNewPrivs, oomScoreAdj,
                capabilities, readonlyRootfs, logFile, seccompDefault, maskedPaths, readonlyPaths);
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
        if (seccompDefault) {
            rec(out, "seccomp", "runtime-default");
        }
        maskedPaths.forEach(m -> rec(out, "masked_path", m));
        readonlyPaths.forEach(r -> rec(out, "readonly_path", r));
        return out.toByteArray();
    }

    void writeTo(Path file) throws IOException {
        io.pvecri.daemon.util.AtomicFiles.write(file, encode());
    }

    private static void rec(ByteArrayOutputStream out, String key, String value) {
        out.writeBytes(key.getBytes(StandardCharsets.UTF_8));
        out.write('=');
        out.writeBytes(value.getBytes(StandardCharsets.UTF_8));
        out.write(0);
    }
}
