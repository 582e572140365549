package io.pvecri.proxmox.emulator;

import io.pvecri.proxmox.node.NodeFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;

/**
 * What a state directory makes real: config files ({@link ConfigFiles}), storages as directories
 * ({@link DiskVolumes}), CTs run by local LXC ({@link LxcRunner}), task logs in {@code var/log/pve/tasks}.
 * <pre>
 * &lt;state&gt;/etc/pve/nodes/&lt;node&gt;/lxc/&lt;vmid&gt;.conf   CT configs (etc/pve/lxc → nodes/&lt;first node&gt;/lxc)
 * &lt;state&gt;/run/lock/lxc/pve-config-&lt;vmid&gt;.lock        config flocks
 * &lt;state&gt;/var/lib/lxc/&lt;vmid&gt;/{config,rootfs,lxc.log}  generated LXC config, rootfs mount, LXC log
 * &lt;state&gt;/storage/local/template/cache/              CT templates
 * &lt;state&gt;/storage/local-zfs/subvol-&lt;vmid&gt;-disk-&lt;n&gt;/    CT volumes (basevol-… for templates)
 * &lt;state&gt;/var/log/pve/tasks/&lt;X&gt;/&lt;UPID&gt;                task logs
 * </pre>
 */
final class RealNode {

    final Path root;
    final ConfigFiles files;
    final DiskVolumes volumes;
    final LxcRunner runner;
    final Path taskDir;

    RealNode(Path stateDir, List<String> nodes) {
        this.root = stateDir.toAbsolutePath().normalize();
        this.files = new ConfigFiles(root, nodes);
        this.volumes = new DiskVolumes(root);
        this.runner = new LxcRunner(NodeFiles.under(root).lxcPath(), volumes, HostCgroups.detect());
        this.taskDir = root.resolve("var/log/pve/tasks");
    }

    /** Checks the host and creates the layout; fails with what to do when LXC cannot work here. */
    void prepare() {
        String s = root.toString();
        if (s.matches(".*[\\s,:=\\\\].*")) {
            throw new IllegalArgumentException("state directory " + root
                    + ": its path may not contain whitespace, ',', ':', '=' or '\\' (used in LXC and overlay mount options)");
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("a state directory needs root (mounts, LXC containers); running as "
                    + System.getProperty("user.name"));
        }
        if (!onPath("lxc-start")) {
            throw new IllegalStateException("a state directory needs LXC: lxc-start is not on PATH (apt-get install lxc)");
        }
        try {
            Files.createDirectories(root);
            for (String d : List.of("etc/pve/nodes", "run/lock/lxc", "var/lib/lxc", "var/log/pve/tasks", "storage")) {
                Files.createDirectories(root.resolve(d));
            }
            reachable();
            files.prepare();
            // uploads a crashed emulator was receiving
            Path tmp = root.resolve("var/tmp");
            if (Files.isDirectory(tmp)) {
                try (var ds = Files.newDirectoryStream(tmp, "pveupload-*")) {
                    for (Path p : ds) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare state directory " + root + ": " + e.getMessage(), e);
        }
    }

    /**
     * An unprivileged CT's root (host uid 100000) must be able to walk to its rootfs: the state directory
     * and the directories it creates are made world-searchable; a parent that is not is an error.
     */
    private void reachable() throws IOException {
        for (Path p = root; p != null; p = p.getParent()) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
            if (perms.contains(PosixFilePermission.OTHERS_EXECUTE)) {
                continue;
            }
            if (p.startsWith(root)) {
                perms.add(PosixFilePermission.OTHERS_EXECUTE);
                perms.add(PosixFilePermission.GROUP_EXECUTE);
                Files.setPosixFilePermissions(p, perms);
            } else {
                throw new IllegalStateException("state directory " + root + " is not reachable for unprivileged CTs (uid 100000): "
                        + p + " lacks search permission for others (chmod o+x " + p + ")");
            }
        }
        for (String d : List.of("etc", "etc/pve", "run", "run/lock", "var", "var/lib", "var/lib/lxc", "storage")) {
            Path p = root.resolve(d);
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
    }

    private static boolean onPath(String tool) {
        String path = System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        for (String dir : path.split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    NodeFiles nodeFiles() {
        return NodeFiles.under(root);
    }
}
