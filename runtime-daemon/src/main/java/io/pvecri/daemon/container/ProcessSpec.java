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
 */
public record ProcessSpec(List<String> argv, List<String> env, String cwd, long uid, long gid, List<Long> groups,
                          boolean tty, boolean stdin, boolean noNewPrivs, long oomScoreAdj,
                          long capabilities, boolean readonlyRootfs, String logFile) {

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
