package io.pvecri.daemon.pod;

import io.pvecri.daemon.util.Command;
import io.pvecri.daemon.util.FileTrees;
import io.pvecri.daemon.util.Log;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The namespaces a pod's containers share: network, IPC and UTS, each kept alive without a
 * process by a bind mount of its nsfs file under {@code <stateDir>/ns/<podId>/}, plus the pod's
 * /dev/shm tmpfs. Containers join them through LXC's {@code lxc.namespace.share.*} keys.
 */
public final class PodNamespaces {
    private static final Log LOG = Log.get(PodNamespaces.class);
    private static final Duration TIMEOUT = Duration.ofSeconds(20);
    static final String SHM_SIZE = "64m";

    private final Path root;

    public PodNamespaces(Path root) {
        this.root = root;
    }

    /** Where a pod's namespace files live. */
    public record Paths(Path dir, Path net, Path ipc, Path uts, Path shm) {}

    public Paths paths(String podId) {
        Path dir = root.resolve(podId);
        return new Paths(dir, dir.resolve("net"), dir.resolve("ipc"), dir.resolve("uts"), dir.resolve("shm"));
    }

    /** Makes the root usable for nsfs bind mounts; call once at start. */
    public void prepare() throws IOException {
        Files.createDirectories(root);
        MountTable.ensurePrivate(root);
    }

    /**
     * Creates the pod's namespaces. {@code ownNet}/{@code ownIpc}/{@code ownUts} say which ones the
     * pod gets for itself (the others are the host's). On failure everything made is undone.
     */
    public Paths create(String podId, String hostname, boolean ownNet, boolean ownIpc, boolean ownUts,
                        java.util.Map<String, String> sysctls) throws IOException {
        Paths p = paths(podId);
        Files.createDirectories(p.dir());
        try {
            List<String> argv = new ArrayList<>(List.of("unshare"));
            if (ownNet) {
                Files.createFile(p.net());
                argv.add("--net=" + p.net());
            }
            if (ownIpc) {
                Files.createFile(p.ipc());
                argv.add("--ipc=" + p.ipc());
            }
            if (ownUts) {
                Files.createFile(p.uts());
                argv.add("--uts=" + p.uts());
            }
            if (argv.size() > 1) {
                // One process creates them all; it brings loopback up, sets the hostname and the
                // pod's sysctls (which apply to the namespaces it is in). Values travel as
                // arguments, never inside the script text.
                StringBuilder script = new StringBuilder();
                if (ownNet) {
                    script.append("ip link set lo up && ");
                }
                if (ownUts) {
                    script.append("hostname \"$0\" && ");
                }
                List<String> args = new ArrayList<>(List.of(hostname));
                for (var e : sysctls.entrySet()) {
                    int k = args.size();
                    args.add(e.getKey().replace('.', '/'));
                    args.add(e.getValue());
                    script.append("printf %s \"$").append(k + 1).append("\" > \"/proc/sys/$").append(k).append("\" && ");
                }
                script.append("true");
                argv.addAll(List.of("--", "/bin/sh", "-c", script.toString()));
                argv.addAll(args);
                check(Command.run(argv, TIMEOUT));
            }
            if (ownIpc) {
                Files.createDirectories(p.shm());
                check(Command.run(List.of("mount", "-t", "tmpfs", "-o", "mode=1777,nosuid,nodev,noexec,size=" + SHM_SIZE,
                        "shm", p.shm().toString()), TIMEOUT));
            }
            return p;
        } catch (IOException | RuntimeException e) {
            List<String> errors = release(podId);
            if (!errors.isEmpty()) {
                LOG.warn("pod.namespaces_unwind_failed", "pod", podId, "errors", String.join("; ", errors));
            }
            throw e;
        }
    }

    /** Unmounts and deletes everything of the pod; returns the errors (all steps are tried). */
    public List<String> release(String podId) {
        Paths p = paths(podId);
        List<String> errors = new ArrayList<>();
        for (Path m : List.of(p.shm(), p.net(), p.ipc(), p.uts())) {
            try {
                if (MountTable.isMountPoint(m)) {
                    Command.Result r = Command.run(List.of("umount", "-l", m.toString()), TIMEOUT);
                    if (!r.ok()) {
                        errors.add(r.describe());
                    }
                }
            } catch (IOException e) {
                errors.add("umount " + m + ": " + e.getMessage());
            }
        }
        try {
            FileTrees.delete(p.dir());
        } catch (IOException e) {
            errors.add("delete " + p.dir() + ": " + e.getMessage());
        }
        return errors;
    }

    /** True when the pod's network namespace is still held (false after a node reboot). */
    public boolean netAlive(String podId) {
        return MountTable.isMountPoint(paths(podId).net());
    }

    /** Pod ids that have a namespace directory (for orphan detection at start). */
    public List<String> podIdsOnDisk() throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (var s = Files.list(root)) {
            return s.filter(Files::isDirectory).map(d -> d.getFileName().toString()).toList();
        }
    }

    private static void check(Command.Result r) throws IOException {
        if (!r.ok()) {
            throw new IOException(r.describe());
        }
    }
}
