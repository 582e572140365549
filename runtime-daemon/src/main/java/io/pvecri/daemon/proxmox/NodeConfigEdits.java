package io.pvecri.daemon.proxmox;

import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.backend.LaunchSpec.Ns;
import io.pvecri.proxmox.node.CtConfigFile;

import io.pvecri.daemon.util.Fstab;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What pve-cri writes into a CT's config file on the node itself, because an API token may not set it
 * (reference §7): bind mount points ({@code mpN}) for the CRI's directory volumes, device passthrough
 * ({@code devN}), and one raw {@code lxc.include} naming a file of pve-cri's own with the LXC keys
 * that make the CT a pve-cri container: the init shim as init, the pod's namespaces, the shim/log/shm
 * mounts, the stop signal. PVE drops raw keys it does not know when it parses a CT config
 * ({@code lxc.namespace.*} among them) but keeps {@code lxc.include}, which LXC reads in place, after
 * PVE's generated keys. The config file is edited under the CT's flock.
 *
 * <p>The CT is unprivileged and joins namespaces owned by the host's user namespace, where the kernel
 * refuses a fresh sysfs mount; so the auto mounts are reset to {@code proc:rw cgroup:mixed} and the
 * host's {@code /sys} is bind-mounted read-only instead. LXC's default seccomp profile (PVE's
 * common.conf) is cleared: the shim installs the filter the CRI asks for.
 */
final class NodeConfigEdits {

    private NodeConfigEdits() {}

    /**
     * Applies the container's mount points and devices to {@code c} and points it at {@code include},
     * replacing earlier ones of ours; returns the lines of the include file.
     */
    static List<String> apply(CtConfigFile c, LaunchSpec s, Path include) {
        c.options().keySet().stream().filter(k -> k.matches("(mp|dev)\\d+")).toList().forEach(c::remove);
        c.removeRaw((k, v) -> k.equals("lxc.include") && v.equals(include.toString()));
        int mp = 0;
        int dev = 0;
        List<Map.Entry<String, String>> raw = new ArrayList<>();
        raw.add(Map.entry("lxc.init.cmd", "/.pve-cri/init /.pve-cri/spec"));
        namespace(raw, "net", s.namespaces().net());
        namespace(raw, "ipc", s.namespaces().ipc());
        namespace(raw, "uts", s.namespaces().uts());
        namespace(raw, "pid", s.namespaces().pid());
        raw.add(Map.entry("lxc.mount.auto", ""));
        raw.add(Map.entry("lxc.mount.auto", "proc:rw cgroup:mixed"));
        raw.add(Map.entry("lxc.mount.entry", "/sys sys none rbind,ro,create=dir 0 0"));
        raw.add(Map.entry("lxc.signal.halt", Integer.toString(s.meta().stopSignal())));
        raw.add(Map.entry("lxc.console.path", "none"));
        raw.add(Map.entry("lxc.seccomp.profile", ""));
        raw.add(Map.entry("lxc.mount.entry", Fstab.escape(s.shimDir()) + " .pve-cri none bind,create=dir 0 0"));
        if (s.logDir() != null) {
            raw.add(Map.entry("lxc.mount.entry", Fstab.escape(s.logDir()) + " .pve-cri/log none bind,create=dir 0 0"));
        }
        if (s.shmDir() != null) {
            raw.add(Map.entry("lxc.mount.entry", Fstab.escape(s.shmDir()) + " dev/shm none bind,create=dir 0 0"));
        }
        for (LaunchSpec.BindMount m : s.mounts()) {
            if (m.directory() && m.propagation() == LaunchSpec.Propagation.PRIVATE && plainPath(m.hostPath().toString())
                    && plainPath(m.containerPath())) {
                // A PVE bind mount point: shows in the PVE UI as mpN, excluded from backups.
                c.set("mp" + mp++, m.hostPath() + ",mp=" + m.containerPath() + (m.readonly() ? ",ro=1" : "") + ",backup=0");
            } else {
                // Files (kubelet's /etc/hosts, termination log) and propagation modes PVE mount points lack.
                String opts = "rbind,create=" + (m.directory() ? "dir" : "file") + (m.readonly() ? ",ro" : "")
                        + switch (m.propagation()) {
                            case PRIVATE -> ",rprivate";
                            case HOST_TO_CONTAINER -> ",rslave";
                            case BIDIRECTIONAL -> ",rshared";
                        };
                raw.add(Map.entry("lxc.mount.entry", Fstab.escape(m.hostPath()) + " " + Fstab.escape(Path.of(m.containerPath().substring(1)))
                        + " none " + opts + " 0 0"));
            }
        }
        for (LaunchSpec.Device d : s.devices()) {
            if (d.hostPath().toString().equals(d.containerPath()) && plainPath(d.containerPath())) {
                // PVE device passthrough: the node creates the node inside and allows it in the cgroup.
                c.set("dev" + dev++, d.hostPath() + ",mode=0" + (d.permissions().contains("w") ? "666" : "444"));
            } else {
                raw.add(Map.entry("lxc.mount.entry", Fstab.escape(d.hostPath()) + " " + Fstab.escape(Path.of(d.containerPath().substring(1)))
                        + " none bind,create=file 0 0"));
                raw.add(Map.entry(cgroupDevicesKey(), d.type() + " " + d.major() + ":" + d.minor() + " " + d.permissions()));
            }
        }
        c.addRaw("lxc.include", include.toString());
        List<String> lines = new ArrayList<>();
        lines.add("# Written by pve-cri for container " + s.id() + "; included by the CT's config (lxc.include).");
        raw.forEach(e -> lines.add(e.getKey() + " = " + e.getValue()));
        return lines;
    }

    private static void namespace(List<Map.Entry<String, String>> raw, String kind, Ns ns) {
        switch (ns) {
            case Ns.Shared shared -> raw.add(Map.entry("lxc.namespace.share." + kind, shared.path().toString()));
            case Ns.Host ignored -> raw.add(Map.entry("lxc.namespace.share." + kind, "/proc/" + ProcessHandle.current().pid() + "/ns/" + kind));
            case Ns.Private ignored -> {
                if (kind.equals("net")) {
                    raw.add(Map.entry("lxc.net.0.type", "empty"));
                }
            }
        }
    }

    private static String cgroupDevicesKey() {
        return java.nio.file.Files.isDirectory(Path.of("/sys/fs/cgroup/devices")) ? "lxc.cgroup.devices.allow" : "lxc.cgroup2.devices.allow";
    }

    /** A path PVE's property-string syntax can carry (no separators it would split on). */
    private static boolean plainPath(String p) {
        return p.startsWith("/") && !p.contains(",") && !p.contains("=") && !p.contains(";") && p.chars().noneMatch(ch -> ch <= ' ');
    }
}
