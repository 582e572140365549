package io.pvecri.proxmox.emulator;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The LXC config generated from a PVE CT config ({@code update_lxc_config}), without LXC. */
class LxcConfigGeneratorTest {

    private static final HostCgroups HYBRID = new HostCgroups(Map.of("memory", Path.of("/sys/fs/cgroup/memory"),
            "cpu", Path.of("/sys/fs/cgroup/cpu"), "cpuset", Path.of("/sys/fs/cgroup/cpuset"), "devices", Path.of("/sys/fs/cgroup/devices")),
            List.of(), Optional.of(Path.of("/sys/fs/cgroup/unified")), true, false, List.of(0, 1, 2, 3));
    private static final HostCgroups V2 = new HostCgroups(Map.of(), List.of("cpuset", "cpu", "io", "memory", "pids"),
            Optional.of(Path.of("/sys/fs/cgroup")), false, true, List.of(0, 1, 2, 3));

    private static List<String> generate(Map<String, String> conf, List<Map.Entry<String, String>> raw, HostCgroups host) {
        Map<String, String> c = new TreeMap<>(Map.of("arch", "amd64", "ostype", "unmanaged", "hostname", "web",
                "memory", "256", "swap", "128", "unprivileged", "1", "rootfs", "local-zfs:subvol-100-disk-0,size=4G"));
        c.putAll(conf);
        return LxcConfigGenerator.generate(new LxcConfigGenerator.Inputs(100, c, raw, Path.of("/s/var/lib/lxc/100"), host,
                v -> new LxcConfigGenerator.MountSource(Path.of("/s/storage/local-zfs").resolve(v.substring(v.indexOf(':') + 1)), false),
                p -> new LxcConfigGenerator.DeviceNumber('c', 1, 3), new Random(1)));
    }

    @Test
    void unprivilegedDefaultsAndLimitsInTheHostsCgroupSyntax() {
        List<String> v1 = generate(Map.of("cpulimit", "1.5", "cpuunits", "200", "cores", "2"), List.of(), HYBRID);
        assertTrue(v1.contains("lxc.idmap = u 0 100000 65536"));
        assertTrue(v1.contains("lxc.idmap = g 0 100000 65536"));
        assertTrue(v1.contains("lxc.uts.name = web"));
        assertTrue(v1.contains("lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed"));
        assertTrue(v1.contains("lxc.apparmor.profile = unconfined"), "no AppArmor in this kernel");
        assertTrue(v1.contains("lxc.cgroup.memory.limit_in_bytes = 268435456"));
        assertTrue(v1.contains("lxc.cgroup.memory.memsw.limit_in_bytes = 402653184"));
        assertTrue(v1.contains("lxc.cgroup.cpu.cfs_quota_us = 150000"));
        assertTrue(v1.contains("lxc.cgroup.cpu.shares = 200"));
        assertTrue(v1.stream().anyMatch(l -> l.matches("lxc\\.cgroup\\.cpuset\\.cpus = \\d[-,]\\d")), v1.toString());
        assertTrue(v1.contains("lxc.rootfs.path = /s/var/lib/lxc/100/rootfs"));
        assertTrue(v1.contains("lxc.tty.max = 2"));

        List<String> v2 = generate(Map.of("cpulimit", "1.5", "cpuunits", "20000"), List.of(), V2);
        assertTrue(v2.contains("lxc.cgroup2.memory.max = 268435456"));
        assertTrue(v2.contains("lxc.cgroup2.memory.high = " + 256L * 1024 * 1016));
        assertTrue(v2.contains("lxc.cgroup2.memory.swap.max = 134217728"));
        assertTrue(v2.contains("lxc.cgroup2.cpu.max = 150000 100000"));
        assertTrue(v2.contains("lxc.cgroup2.cpu.weight = 10000"), "clamped as on cgroup v2");
        assertTrue(v2.contains("lxc.apparmor.profile = generated"));
        assertTrue(v2.contains("lxc.cgroup2.devices.allow = a"), "unprivileged CTs get a deny-list");
    }

    @Test
    void rawEntriesComeLastInTheirOrderSoTheyOverrideDefaults() {
        List<String> lines = generate(Map.of("entrypoint", "/sbin/init"), List.of(Map.entry("lxc.mount.auto", ""),
                Map.entry("lxc.mount.auto", "proc:rw cgroup:mixed"), Map.entry("lxc.init.cmd", "/.pve-cri/init /spec")), HYBRID);
        int defaults = lines.indexOf("lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed");
        int reset = lines.indexOf("lxc.mount.auto = ");
        assertTrue(defaults >= 0 && reset > defaults);
        assertEquals("lxc.mount.auto = proc:rw cgroup:mixed", lines.get(reset + 1));
        assertTrue(lines.indexOf("lxc.init.cmd = /sbin/init") < lines.indexOf("lxc.init.cmd = /.pve-cri/init /spec"));
    }

    @Test
    void mountPointsDevicesAndEnvironment() {
        List<String> lines = generate(Map.of("mp0", "/srv/my data,mp=/data,ro=1", "mp1", "local-zfs:subvol-100-disk-1,mp=/var/lib/x",
                "dev0", "/dev/null,mode=0666,deny-write=1", "env", "A=1\0B=2", "features", "fuse=1"), List.of(), HYBRID);
        assertTrue(lines.contains("lxc.mount.entry = /srv/my\\040data data none bind,create=dir,ro 0 0"), lines.toString());
        assertTrue(lines.contains("lxc.mount.entry = /s/storage/local-zfs/subvol-100-disk-1 var/lib/x none bind,create=dir 0 0"));
        assertTrue(lines.contains("lxc.cgroup.devices.allow = c 1:3 r"));
        assertTrue(lines.contains("lxc.cgroup.devices.deny = c 1:3 w"));
        assertTrue(lines.contains("lxc.mount.entry = /s/var/lib/lxc/100/passthrough/dev/null dev/null none bind,create=file 0 0"));
        assertTrue(lines.contains("lxc.environment.runtime = A=1"));
        assertTrue(lines.contains("lxc.environment.runtime = B=2"));
        assertTrue(lines.contains("lxc.mount.entry = /dev/fuse dev/fuse none bind,create=file 0 0"));
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("lxc.net.")), "netN is not wired");
    }

    @Test
    void privilegedCtsGetTheDeviceAllowListAndNoIdmap() {
        List<String> lines = generate(Map.of("unprivileged", "0"), List.of(), HYBRID);
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("lxc.idmap")));
        assertTrue(lines.contains("lxc.cgroup.devices.deny = a"));
        assertTrue(lines.contains("lxc.cgroup.devices.allow = c 136:* rwm"));
        assertTrue(lines.contains("lxc.cap.drop = mac_admin mac_override sys_time sys_module sys_rawio"));
    }

    @Test
    void helpers() {
        assertEquals("0-2,5,7-8", LxcConfigGenerator.cpuList(List.of(8, 0, 1, 2, 5, 7)));
        assertEquals(Map.of("path", "/dev/null", "mode", "0666"), LxcConfigGenerator.propertyString("/dev/null,mode=0666", "path"));
        assertThrows(PveError.class, () -> generate(Map.of("mp0", "/dev/sdb,mp=/x"), List.of(), HYBRID));
        assertTrue(RawLxcKeys.rejection(100, "lxc.init.cmd", "/x").isEmpty());
        assertTrue(RawLxcKeys.rejection(100, "lxc.cgroup2.memory.max", "1").isEmpty());
        assertEquals("vm 100 - unable to parse config: lxc.namespace.share.net: /run/netns/x",
                RawLxcKeys.rejection(100, "lxc.namespace.share.net", "/run/netns/x").orElseThrow());
        assertEquals("vm 100 - lxc.rootfs.path: lxc.rootfs.path is auto generated from rootfs",
                RawLxcKeys.rejection(100, "lxc.rootfs.path", "/").orElseThrow());
    }
}
