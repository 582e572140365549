package io.pvecri.daemon.proxmox;

import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.cgroup.Resources;
import io.pvecri.proxmox.node.CtConfigFile;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NodeConfigEditsTest {
    private static final Path INCLUDE = Path.of("/var/lib/pve-cri/proxmox/lxc/c0ffee.conf");

    private static LaunchSpec spec(List<LaunchSpec.BindMount> mounts, List<LaunchSpec.Device> devices) {
        return new LaunchSpec("c0ffee", "web", "sha256:" + "a".repeat(64), Path.of("/img"),
                new LaunchSpec.Rootfs.Overlay(Path.of("/img"), Path.of("/upper")), Path.of("/state/containers/c0ffee/shim"),
                Path.of("/var/log/pods/ns_web_uid/app"), Path.of("/state/ns/p1/shm"),
                new LaunchSpec.Namespaces(new LaunchSpec.Ns.Shared(Path.of("/state/ns/p1/net")),
                        new LaunchSpec.Ns.Shared(Path.of("/state/ns/p1/ipc")), new LaunchSpec.Ns.Shared(Path.of("/state/ns/p1/uts")),
                        new LaunchSpec.Ns.Private()),
                mounts, devices, false, List.of(),
                new LaunchSpec.Meta("p1".repeat(8), "web", "default", "app", 15, Resources.none()));
    }

    @Test
    void directoryVolumesBecomeMountPointsAndTheRestRawEntries() {
        CtConfigFile c = CtConfigFile.parse("arch: amd64\nmemory: 512\nrootfs: local-zfs:basevol-900-disk-0/subvol-901-disk-0,size=8G\n");
        List<String> include = NodeConfigEdits.apply(c, spec(List.of(
                new LaunchSpec.BindMount(Path.of("/var/lib/kubelet/pods/u/volumes/data"), "/data", false, LaunchSpec.Propagation.PRIVATE, true),
                new LaunchSpec.BindMount(Path.of("/var/lib/kubelet/pods/u/etc-hosts"), "/etc/hosts", true, LaunchSpec.Propagation.PRIVATE, false),
                new LaunchSpec.BindMount(Path.of("/mnt/shared"), "/shared", false, LaunchSpec.Propagation.HOST_TO_CONTAINER, true)),
                List.of(new LaunchSpec.Device(Path.of("/dev/nvidia0"), "/dev/nvidia0", 'c', 195, 0, "rwm"),
                        new LaunchSpec.Device(Path.of("/dev/fuse"), "/dev/myfuse", 'c', 10, 229, "rw"))), INCLUDE);

        assertEquals("/var/lib/kubelet/pods/u/volumes/data,mp=/data,backup=0", c.get("mp0").orElseThrow());
        assertEquals("/dev/nvidia0,mode=0666", c.get("dev0").orElseThrow());
        // PVE keeps lxc.include (and drops lxc.namespace.*): the config file names the include, nothing else raw.
        assertEquals(List.of(Map.entry("lxc.include", INCLUDE.toString())), c.rawLxc());
        assertEquals("lxc.init.cmd = /.pve-cri/init /.pve-cri/spec", include.get(1));
        assertTrue(include.contains("lxc.namespace.share.net = /state/ns/p1/net"));
        assertTrue(include.contains("lxc.mount.entry = /var/lib/kubelet/pods/u/etc-hosts etc/hosts none rbind,create=file,ro,rprivate 0 0"));
        assertTrue(include.contains("lxc.mount.entry = /mnt/shared shared none rbind,create=dir,rslave 0 0"));
        assertTrue(include.contains("lxc.mount.entry = /dev/fuse dev/myfuse none bind,create=file 0 0"));
        assertTrue(include.contains("lxc.signal.halt = 15"));
        assertTrue(include.contains("lxc.seccomp.profile = "), "LXC's default filter is cleared; the shim applies the CRI's");
        // The auto mounts are reset before being set: a pod netns owned by the host forbids sysfs.
        int reset = include.indexOf("lxc.mount.auto = ");
        assertTrue(reset >= 0 && include.get(reset + 1).equals("lxc.mount.auto = proc:rw cgroup:mixed"));
        assertFalse(include.stream().anyMatch(l -> l.startsWith("lxc.namespace.share.pid")));
    }

    @Test
    void reapplyingReplacesEarlierEntriesInsteadOfPilingUp() {
        CtConfigFile c = CtConfigFile.parse("memory: 512\n");
        LaunchSpec s = spec(List.of(new LaunchSpec.BindMount(Path.of("/a"), "/a", false, LaunchSpec.Propagation.PRIVATE, true)), List.of());
        NodeConfigEdits.apply(c, s, INCLUDE);
        String once = c.render();
        NodeConfigEdits.apply(c, s, INCLUDE);
        assertEquals(once, c.render());
    }

    @Test
    void pathsPveCannotParseStayOutOfMountPoints() {
        CtConfigFile c = CtConfigFile.parse("memory: 512\n");
        List<String> include = NodeConfigEdits.apply(c, spec(List.of(
                new LaunchSpec.BindMount(Path.of("/data/a,b"), "/x", false, LaunchSpec.Propagation.PRIVATE, true),
                new LaunchSpec.BindMount(Path.of("/data/with space"), "/y", false, LaunchSpec.Propagation.PRIVATE, true)), List.of()), INCLUDE);
        assertTrue(c.get("mp0").isEmpty());
        assertTrue(include.contains("lxc.mount.entry = /data/with\\040space y none rbind,create=dir,rprivate 0 0"));
    }
}
