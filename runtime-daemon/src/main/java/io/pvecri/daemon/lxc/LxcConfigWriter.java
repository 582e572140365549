package io.pvecri.daemon.lxc;

import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.backend.LaunchSpec.Ns;
import io.pvecri.daemon.util.Fstab;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Turns a {@link LaunchSpec} into an LXC config file (lxc.container.conf(5)). */
final class LxcConfigWriter {
    private final boolean apparmorInKernel;

    LxcConfigWriter(boolean apparmorInKernel) {
        this.apparmorInKernel = apparmorInKernel;
    }

    List<String> lines(LaunchSpec s) {
        List<String> c = new ArrayList<>();
        c.add("# Written by pve-cri for container " + s.id() + "; do not edit, it is rewritten on create.");
        c.add("lxc.rootfs.path = " + switch (s.rootfs()) {
            case LaunchSpec.Rootfs.Overlay o -> "overlay:" + o.lower() + ":" + o.upper();
            case LaunchSpec.Rootfs.Directory d -> "dir:" + d.path();
        });
        namespace(c, "net", s.namespaces().net());
        namespace(c, "ipc", s.namespaces().ipc());
        namespace(c, "uts", s.namespaces().uts());
        namespace(c, "pid", s.namespaces().pid());
        if (s.namespaces().uts() instanceof Ns.Private) {
            c.add("lxc.uts.name = " + s.hostname());
        }
        c.add("lxc.mount.auto = " + (s.privileged() ? "proc:rw sys:rw cgroup:rw" : "proc:mixed sys:mixed cgroup:mixed"));
        c.add("lxc.autodev = 1");
        c.add("lxc.cgroup.relative = 1");
        c.add("lxc.console.path = none");
        c.add("lxc.tty.max = 0");
        c.add("lxc.pty.max = 1024");
        // A plain lxc-stop then means a graceful stop: the shim forwards it to the main process.
        c.add("lxc.signal.halt = SIGTERM");
        c.add("lxc.apparmor.profile = " + (apparmorInKernel && !s.privileged() ? "generated" : "unconfined"));
        c.add("lxc.mount.entry = " + Fstab.escape(s.shimDir()) + " .pve-cri none bind,create=dir 0 0");
        if (s.logDir() != null) {
            c.add("lxc.mount.entry = " + Fstab.escape(s.logDir()) + " .pve-cri/log none bind,create=dir 0 0");
        }
        if (s.shmDir() != null) {
            c.add("lxc.mount.entry = " + Fstab.escape(s.shmDir()) + " dev/shm none bind,create=dir 0 0");
        }
        for (LaunchSpec.BindMount m : s.mounts()) {
            String opts = "rbind,create=" + (m.directory() ? "dir" : "file")
                    + (m.readonly() ? ",ro" : "")
                    + switch (m.propagation()) {
                        case PRIVATE -> ",rprivate";
                        case HOST_TO_CONTAINER -> ",rslave";
                        case BIDIRECTIONAL -> ",rshared";
                    };
            c.add("lxc.mount.entry = " + Fstab.escape(m.hostPath()) + " " + Fstab.escape(Path.of(m.containerPath().substring(1))) + " none " + opts + " 0 0");
        }
        if (s.privileged()) {
            c.add("lxc.cgroup.devices.allow = a");
            c.add("lxc.cgroup2.devices.allow = a");
        }
        for (LaunchSpec.Device d : s.devices()) {
            c.add("lxc.mount.entry = " + Fstab.escape(d.hostPath()) + " " + Fstab.escape(Path.of(d.containerPath().substring(1))) + " none bind,create=file 0 0");
            String rule = d.type() + " " + d.major() + ":" + d.minor() + " " + d.permissions();
            c.add((Files.isDirectory(Path.of("/sys/fs/cgroup/devices")) ? "lxc.cgroup.devices.allow = " : "lxc.cgroup2.devices.allow = ") + rule);
        }
        c.addAll(s.cgroupLines());
        c.add("lxc.init.cmd = /.pve-cri/init /.pve-cri/spec");
        return c;
    }

    private static void namespace(List<String> c, String kind, Ns ns) {
        switch (ns) {
            case Ns.Shared shared -> c.add("lxc.namespace.share." + kind + " = " + shared.path());
            // The host's namespace, joined through the daemon's own (lxc.namespace.keep breaks
            // LXC's overlay rootfs mount, and /proc/1/ns may be unreadable in a VM sandbox).
            case Ns.Host ignored -> c.add("lxc.namespace.share." + kind + " = /proc/" + ProcessHandle.current().pid() + "/ns/" + kind);
            case Ns.Private ignored -> {
                if (kind.equals("net")) {
                    c.add("lxc.net.0.type = empty");
                }
            }
        }
    }
}
