package io.pvecri.proxmox.emulator;

import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Which raw {@code lxc.*} keys PVE takes from a CT config file ({@code PVE::LXC::Config::is_valid_lxc_conf_key}).
 * Everything else is dropped when the file is parsed (with a warning: {@code vm <id> - unable to parse
 * config: <line>}), so it neither shows in {@code GET config} nor reaches the generated LXC config.
 * Notably {@code lxc.namespace.*} is not accepted; {@code lxc.include} is.
 */
final class RawLxcKeys {

    private static final Set<String> VALID = Set.of(
            "lxc.apparmor.profile", "lxc.apparmor.allow_incomplete", "lxc.apparmor.allow_nesting", "lxc.apparmor.raw",
            "lxc.selinux.context", "lxc.include", "lxc.arch", "lxc.uts.name", "lxc.signal.halt", "lxc.signal.reboot",
            "lxc.signal.stop", "lxc.init.cmd", "lxc.init.cwd", "lxc.init.uid", "lxc.init.gid", "lxc.init.groups",
            "lxc.pty.max", "lxc.console.logfile", "lxc.console.path", "lxc.tty.max", "lxc.devtty.dir", "lxc.hook.autodev",
            "lxc.autodev", "lxc.kmsg", "lxc.mount.fstab", "lxc.mount.entry", "lxc.mount.auto", "lxc.rootfs.mount",
            "lxc.cap.drop", "lxc.cap.keep", "lxc.seccomp.profile", "lxc.seccomp.notify.proxy", "lxc.seccomp.notify.cookie",
            "lxc.idmap", "lxc.hook.pre-start", "lxc.hook.pre-mount", "lxc.hook.mount", "lxc.hook.start", "lxc.hook.stop",
            "lxc.hook.post-stop", "lxc.hook.clone", "lxc.hook.destroy", "lxc.hook.version", "lxc.log.level", "lxc.log.file",
            "lxc.start.auto", "lxc.start.delay", "lxc.start.order", "lxc.group", "lxc.environment",
            "lxc.environment.runtime", "lxc.environment.hooks", "lxc.sysctl.fs.mqueue", "lxc.sysctl.kernel.msgmax",
            "lxc.sysctl.kernel.msgmnb", "lxc.sysctl.kernel.msgmni", "lxc.sysctl.kernel.sem", "lxc.sysctl.kernel.shmall",
            "lxc.sysctl.kernel.shmmax", "lxc.sysctl.kernel.shmmni", "lxc.sysctl.kernel.shm_rmid_forced");

    private static final Map<String, String> REFUSED = Map.of(
            "lxc.rootfs.path", "lxc.rootfs.path is auto generated from rootfs",
            "lxc.rootfs.options", "lxc.rootfs.options is not supported, please use mount point options in the \"rootfs\" key");

    private static final Set<String> DEPRECATED = Set.of("lxc.aa_profile", "lxc.aa_allow_incomplete", "lxc.console",
            "lxc.devttydir", "lxc.haltsignal", "lxc.rebootsignal", "lxc.stopsignal", "lxc.id_map", "lxc.init_cmd",
            "lxc.loglevel", "lxc.logfile", "lxc.mount", "lxc.network.type", "lxc.network.flags", "lxc.network.link",
            "lxc.network.mtu", "lxc.network.name", "lxc.network.hwaddr", "lxc.network.ipv4", "lxc.network.ipv4.gateway",
            "lxc.network.ipv6", "lxc.network.ipv6.gateway", "lxc.network.script.up", "lxc.network.script.down", "lxc.pts",
            "lxc.se_context", "lxc.seccomp", "lxc.tty", "lxc.utsname");

    private RawLxcKeys() {
    }

    /** Empty when PVE keeps the entry, else the warning it prints while dropping it. */
    static Optional<String> rejection(int vmid, String key, String value) {
        if (key.startsWith("lxc.limit.") || DEPRECATED.contains(key) || VALID.contains(key)
                || key.startsWith("lxc.cgroup.") || key.startsWith("lxc.cgroup2.") || key.startsWith("lxc.prlimit.")
                || key.startsWith("lxc.net.")) {
            return Optional.empty();
        }
        if (REFUSED.containsKey(key)) {
            return Optional.of("vm " + vmid + " - " + key + ": " + REFUSED.get(key));
        }
        return Optional.of("vm " + vmid + " - unable to parse config: " + key + ": " + value);
    }
}
