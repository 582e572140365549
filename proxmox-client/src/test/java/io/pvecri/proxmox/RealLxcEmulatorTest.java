package io.pvecri.proxmox;

import io.pvecri.proxmox.node.CtConfigFile;
import io.pvecri.proxmox.node.CtConfigLock;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The emulator with a state directory, against real LXC: a busybox template uploaded through the API,
 * an unprivileged CT made from it, turned into a template, linked-cloned, given its init through the
 * config file (edited under the flock, as pve-cri does on a node), started, shut down, stopped and
 * destroyed, with the real process, files and mounts checked on the host. Needs root and LXC; skipped
 * with the reason printed otherwise.
 */
@Timeout(300)
class RealLxcEmulatorTest {

    @BeforeAll
    static void realLxcOnly() {
        RealFixture.assumeRealLxc();
    }

    @Test
    void linkedCloneRunsAsAnUnprivilegedLxcContainer() throws Exception {
        try (RealFixture f = new RealFixture()) {
            f.uploadTemplate();
            assertTrue(Files.isRegularFile(f.state.resolve("storage/local/template/cache/busybox.tar.zst")));
            assertTrue(f.client.storage(RealFixture.NODE).content("local", "vztmpl").stream()
                    .anyMatch(v -> v.volid().equals(RealFixture.TEMPLATE)));

            // create: the template unpacked in the CT's user namespace (ownership shifted by 100000)
            f.createCt(100, Map.of());
            LxcConfig created = f.lxc().config(100);
            assertEquals("local-zfs:subvol-100-disk-0,size=4G", created.get("rootfs").orElseThrow());
            assertEquals("amd64", created.get("arch").orElseThrow());
            assertEquals("unmanaged", created.get("ostype").orElseThrow());
            assertTrue(created.lock().isEmpty());
            Path vol = f.volume("subvol-100-disk-0");
            assertEquals(100_000, Files.getAttribute(vol.resolve("bin/busybox"), "unix:uid"));
            assertEquals(100_000, Files.getAttribute(vol, "unix:uid"));
            assertTrue(Files.isRegularFile(f.files().configFile(100)), "NodeFiles.under(state) finds the config");
            assertTrue(Files.readString(f.state.resolve("etc/pve/nodes/pve1/lxc/100.conf")).contains("unprivileged: 1"));

            // template: the volume becomes a base, the generated LXC config goes
            f.await(f.lxc().template(100));
            LxcConfig tmpl = f.lxc().config(100);
            assertTrue(tmpl.template());
            assertEquals("local-zfs:basevol-100-disk-0,size=4G", tmpl.get("rootfs").orElseThrow());
            assertTrue(Files.isDirectory(f.volume("basevol-100-disk-0")));
            assertFalse(Files.exists(f.volume("subvol-100-disk-0")));
            assertFalse(Files.exists(f.state.resolve("var/lib/lxc/100/config")));

            // linked clone: an overlay over the base
            f.await(f.lxc().clone(100, 101, CloneOptions.linked().withHostname("pod-a")));
            LxcConfig clone = f.lxc().config(101);
            assertEquals("local-zfs:basevol-100-disk-0/subvol-101-disk-0,size=4G", clone.get("rootfs").orElseThrow());
            assertEquals("pod-a", clone.get("hostname").orElseThrow());
            assertTrue(Files.isDirectory(f.volume("subvol-101-disk-0").resolve("upper")));
            assertTrue(Files.isDirectory(f.volume("subvol-101-disk-0").resolve("work")));
            assertTrue(f.client.storage(RealFixture.NODE).content("local-zfs", "rootdir").stream()
                    .anyMatch(v -> v.volid().equals("local-zfs:basevol-100-disk-0/subvol-101-disk-0")
                            && v.parent().equals("local-zfs:basevol-100-disk-0") && v.vmid() == 101));

            // the init goes into the config file under the flock, as pve-cri writes it on a node
            String before = clone.digest();
            f.files().edit(101, c -> c.addRaw("lxc.init.cmd", "/init.sh"));
            LxcConfig edited = f.lxc().config(101);
            assertNotEquals(before, edited.digest());
            assertEquals(List.of(Map.entry("lxc.init.cmd", "/init.sh")), edited.raw());

            // start: a real process, running as host uid 100000, writing files owned by 100000
            f.await(f.lxc().start(101));
            LxcStatus running = f.lxc().status(101);
            assertTrue(running.running());
            assertTrue(running.pid() > 0);
            assertTrue(running.mem() > 0 && running.mem() != 50L << 20, "memory use read from the CT's cgroup: " + running.mem());
            String status = Files.readString(Path.of("/proc", Long.toString(running.pid()), "status"));
            assertTrue(status.lines().anyMatch(l -> l.matches("Uid:\\s+100000\\s.*")), status);
            Path upper = f.volume("subvol-101-disk-0").resolve("upper");
            assertTrue(RealFixture.eventually(() -> Files.exists(upper.resolve("root/uid"))), "the CT's init wrote /root/uid");
            assertEquals("0", Files.readString(upper.resolve("root/uid")).strip(), "root inside the CT");
            assertEquals(100_000, Files.getAttribute(upper.resolve("root/uid"), "unix:uid"));
            assertTrue(f.mounts().contains(f.state.resolve("var/lib/lxc/101/rootfs")));
            assertEquals(List.of(101), f.lxc().list().stream().filter(LxcStatus::running).map(LxcStatus::vmid).toList());
            String lxcConfig = Files.readString(f.state.resolve("var/lib/lxc/101/config"));
            assertTrue(lxcConfig.contains("lxc.idmap = u 0 100000 65536"), lxcConfig);
            assertTrue(lxcConfig.contains("lxc.uts.name = pod-a"), lxcConfig);
            assertTrue(lxcConfig.strip().endsWith("lxc.init.cmd = /init.sh"), "raw entries come last");

            // shutdown: the init traps SIGPWR and exits; the rootfs is unmounted
            f.await(f.lxc().shutdown(101, Duration.ofSeconds(20), false));
            assertFalse(f.lxc().status(101).running());
            assertTrue(Files.readString(upper.resolve("root/log")).contains("stopping"));
            assertTrue(f.mounts().isEmpty(), f.mounts().toString());

            // start again and stop (kill)
            f.await(f.lxc().start(101));
            assertTrue(f.lxc().status(101).running());
            f.await(f.lxc().stop(101));
            assertFalse(f.lxc().status(101).running());
            assertTrue(f.mounts().isEmpty(), f.mounts().toString());

            // the base cannot go while its linked clone exists
            var inUse = assertThrows(PveException.TaskFailed.class, () -> f.await(f.lxc().delete(100)));
            assertEquals("base volume 'basevol-100-disk-0' is still in use by linked clones", inUse.exitStatus());
            assertTrue(f.lxc().config(100).template(), "the template's config is intact");

            // destroy: volumes, generated config, then the config file
            f.await(f.lxc().delete(101));
            f.await(f.lxc().delete(100));
            assertThrows(PveException.NotFound.class, () -> f.lxc().status(101));
            assertTrue(f.mounts().isEmpty(), f.mounts().toString());
            try (var s = Files.list(f.state.resolve("storage/local-zfs"))) {
                assertEquals(List.of(".meta"), s.map(p -> p.getFileName().toString()).toList());
            }
            try (var s = Files.list(f.state.resolve("var/lib/lxc"))) {
                assertEquals(List.of(), s.toList());
            }
            try (var s = Files.list(f.state.resolve("etc/pve/nodes/pve1/lxc"))) {
                assertEquals(List.of(), s.toList());
            }
        }
    }

    @Test
    void outsideEditsUnderTheFlockAreSeenAndSerialized() throws Exception {
        try (RealFixture f = new RealFixture()) {
            f.uploadTemplate();
            f.createCt(100, Map.of());
            String digest = f.lxc().config(100).digest();
            CompletableFuture<Void> put;
            // hold the flock as pct would; the API's change waits for it and then sees the edit
            try (CtConfigLock.Held held = f.files().lock().acquire(100, Duration.ofSeconds(10))) {
                put = CompletableFuture.runAsync(() -> f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("cores", 2))));
                CtConfigFile c = f.files().readConfig(100);
                c.addRaw("lxc.mount.auto", "");
                c.addRaw("lxc.mount.auto", "proc:rw cgroup:mixed");
                c.setDescription("pod web-0: edited on the node");
                f.files().writeConfig(100, c);
            }
            put.get();
            LxcConfig now = f.lxc().config(100);
            assertNotEquals(digest, now.digest());
            assertEquals("2", now.get("cores").orElseThrow());
            assertEquals(List.of(Map.entry("lxc.mount.auto", ""), Map.entry("lxc.mount.auto", "proc:rw cgroup:mixed")), now.raw());
            assertEquals("pod web-0: edited on the node\n", now.get("description").orElseThrow());
            String file = Files.readString(f.files().configFile(100));
            assertTrue(file.startsWith("#pod web-0%3A edited on the node\n"), file);
            assertTrue(file.endsWith("lxc.mount.auto: \nlxc.mount.auto: proc:rw cgroup:mixed\n"), file);
            f.await(f.lxc().delete(100));
        }
    }

    @Test
    void aFailedStartReportsLxcsErrorsAndLeavesNoMount() throws Exception {
        try (RealFixture f = new RealFixture()) {
            f.uploadTemplate();
            f.createCt(100, Map.of());
            f.files().edit(100, c -> {
                c.addRaw("lxc.init.cmd", "/init.sh");
                c.addRaw("lxc.namespace.share.net", "/proc/1/ns/net"); // not a key PVE accepts: dropped with a warning
                c.addRaw("lxc.mount.entry", "/nonexistent-pve-emu-source mnt none bind 0 0");
            });
            assertEquals(List.of("lxc.init.cmd", "lxc.mount.entry"), f.lxc().config(100).raw().stream().map(Map.Entry::getKey).toList());
            Upid start = f.lxc().start(100);
            var e = assertThrows(PveException.TaskFailed.class, () -> f.await(start));
            assertEquals("startup for container '100' failed", e.exitStatus());
            List<String> log = f.client.tasks().log(start, 0, 0).stream().map(TaskLogLine::text).toList();
            assertTrue(log.contains("vm 100 - unable to parse config: lxc.namespace.share.net: /proc/1/ns/net"), log.toString());
            assertTrue(log.stream().anyMatch(l -> l.contains("nonexistent-pve-emu-source") || l.contains("Failed to mount")), log.toString());
            assertTrue(f.mounts().isEmpty(), f.mounts().toString());
            assertFalse(f.lxc().status(100).running());
            assertTrue(Files.readString(f.state.resolve("var/log/pve/tasks").resolve(String.format("%X", start.starttime()).substring(7))
                    .resolve(start.toString())).contains("TASK ERROR: startup for container '100' failed"), "the task log is a file too");
            f.await(f.lxc().delete(100));
        }
    }

    @Test
    void aRestartedEmulatorFindsItsGuestsAndRunningContainers() throws Exception {
        try (RealFixture f = new RealFixture()) {
            f.uploadTemplate();
            f.createCt(100, Map.of("cores", "1", "cpulimit", "0.5", "swap", "0"));
            f.files().edit(100, c -> c.addRaw("lxc.init.cmd", "/init.sh"));
            f.await(f.lxc().start(100));
            long pid = f.lxc().status(100).pid();

            f.stopEmulator();
            f.startEmulator();
            LxcStatus st = f.lxc().status(100);
            assertTrue(st.running());
            assertEquals(pid, st.pid());
            assertEquals("ct100", f.lxc().config(100).get("hostname").orElseThrow());
            assertTrue(f.client.storage(RealFixture.NODE).content("local-zfs", "rootdir").stream()
                    .anyMatch(v -> v.volid().equals("local-zfs:subvol-100-disk-0")));
            assertEquals("you can't convert a CT to template if the CT is running",
                    assertThrows(PveException.ApiError.class, () -> f.lxc().template(100)).pveMessage());
            f.await(f.lxc().stop(100));
            f.await(f.lxc().delete(100));
            assertTrue(f.mounts().isEmpty(), f.mounts().toString());
        }
    }

    @Test
    void injectedFaultsStillApplyAndAFailedCloneLeavesNothing() throws Exception {
        try (RealFixture f = new RealFixture(b -> b.configLockTimeout(Duration.ofSeconds(1)))) {
            f.uploadTemplate();
            f.createCt(100, Map.of());
            f.await(f.lxc().template(100));

            // a clone task that dies: no volume, no config for the new id, no lock left on the template
            f.pve.faults().failTasks("vzclone", 1, "clone failed: injected");
            var e = assertThrows(PveException.TaskFailed.class, () -> f.await(f.lxc().clone(100, 101, CloneOptions.linked())));
            assertEquals("clone failed: injected", e.exitStatus());
            assertFalse(Files.exists(f.volume("subvol-101-disk-0")));
            assertFalse(Files.exists(f.files().configFile(101)));
            assertTrue(f.lxc().config(100).lock().isEmpty());

            // config lock held by someone else: PVE's timeout, from the real flock
            f.pve.cluster().holdConfigFlock(100, Duration.ofSeconds(5));
            var locked = assertThrows(PveException.Locked.class,
                    () -> f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("description", "x"))));
            assertTrue(locked.getMessage().contains("pve-config-100.lock' - got timeout"), locked.getMessage());
            f.files().lock().acquire(100, Duration.ofSeconds(30)).close(); // until the holder lets go

            // a full clone copies the base; nextid answers around it
            f.await(f.lxc().clone(100, 102, CloneOptions.fullCopy()));
            assertEquals("local-zfs:subvol-102-disk-0,size=4G", f.lxc().config(102).get("rootfs").orElseThrow());
            assertEquals(100_000, Files.getAttribute(f.volume("subvol-102-disk-0").resolve("bin/busybox"), "unix:uid"));
            assertEquals(101, f.client.cluster().nextId());
            f.pve.faults().staleNextId(1);
            assertEquals(100, f.client.cluster().nextId(), "a stale answer names a taken id");
            f.await(f.lxc().delete(102));
            assertFalse(Files.exists(f.volume("subvol-102-disk-0")));
        }
    }

    @Test
    void rawKeysOverrideTheDefaultsAndAnIncludedFileJoinsANetworkNamespace() throws Exception {
        String netns = "pve-emu-" + Long.toHexString(System.nanoTime());
        RealFixture.run(List.of("ip", "netns", "add", netns));
        try (RealFixture f = new RealFixture()) {
            f.uploadTemplate();
            f.createCt(100, Map.of());
            // PVE drops lxc.namespace.* from a CT config, but lxc.include is kept: the namespace goes into an included file
            Path include = f.state.resolve("ct100-namespaces.conf");
            Files.writeString(include, "lxc.namespace.share.net = /run/netns/" + netns + "\n");
            f.files().edit(100, c -> {
                c.addRaw("lxc.mount.auto", "");
                c.addRaw("lxc.mount.auto", "proc:rw cgroup:mixed");
                c.addRaw("lxc.mount.entry", "/sys sys none rbind,ro,create=dir 0 0");
                c.addRaw("lxc.include", include.toString());
                c.addRaw("lxc.init.cmd", "/init.sh");
            });
            f.await(f.lxc().start(100));
            long pid = f.lxc().status(100).pid();
            Object netnsInode = Files.getAttribute(Path.of("/run/netns", netns), "unix:ino");
            assertEquals("net:[" + netnsInode + "]", Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns/net")).toString());
            f.await(f.lxc().stop(100));
            f.await(f.lxc().delete(100));
        } finally {
            RealFixture.run(List.of("ip", "netns", "delete", netns));
        }
    }

    @Test
    void largeUploadsAreSpooledToDiskAndChecksummed() throws Exception {
        try (RealFixture f = new RealFixture()) {
            byte[] data = new byte[5 << 20];
            new java.util.Random(7).nextBytes(data);
            Path file = f.state.resolve("big.tar");
            Files.write(file, data);
            String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
            StorageApi s = f.client.storage(RealFixture.NODE);
            f.await(s.upload("local", "vztmpl", file, "big.tar", java.util.Optional.of(new StorageApi.Checksum("sha256", sha))));
            Path stored = f.state.resolve("storage/local/template/cache/big.tar");
            assertEquals(data.length, Files.size(stored));
            assertTrue(java.util.Arrays.equals(data, Files.readAllBytes(stored)));
            var bad = assertThrows(PveException.TaskFailed.class, () -> f.await(s.upload("local", "vztmpl", file, "other.tar",
                    java.util.Optional.of(new StorageApi.Checksum("sha256", "00")))));
            assertTrue(bad.exitStatus().startsWith("checksum mismatch"), bad.exitStatus());
            assertFalse(Files.exists(f.state.resolve("storage/local/template/cache/other.tar")));
            try (var left = Files.list(f.state.resolve("var/tmp"))) {
                assertEquals(List.of(), left.toList(), "no spooled upload left behind");
            }
            f.await(s.deleteVolume("local", "local:vztmpl/big.tar").orElseThrow());
            assertFalse(Files.exists(stored));
        }
    }

    @Test
    void aLocalEmulatorKeepsItsIdentityAcrossRestarts() throws Exception {
        Path state = Files.createTempDirectory("pve-emu-local-");
        try {
            String secret;
            String fingerprint;
            try (var local = io.pvecri.proxmox.emulator.PveEmulator.startLocal(state, "127.0.0.1:0");
                 PveClient c = PveClient.create(PveClientConfig.builder(local.url(), new ApiToken(local.tokenId(), local.secret()),
                         new TlsTrust.Fingerprint(local.fingerprint())).build())) {
                assertEquals("pve-emu", local.node());
                assertEquals("pve-cri@pve!cri", local.tokenId());
                assertTrue(local.fingerprint().matches("([0-9A-F]{2}:){31}[0-9A-F]{2}"), local.fingerprint());
                assertEquals(List.of("pve-emu"), c.nodes().stream().map(NodeInfo::node).toList());
                assertEquals(local.fingerprint(), c.nodes().getFirst().sslFingerprint());
                assertEquals(List.of("local", "local-zfs"), c.storage("pve-emu").list().stream().map(StorageInfo::storage).toList());
                assertEquals(state.resolve("etc/pve/lxc"), local.nodeFiles().configDir());
                assertTrue(Files.readString(local.certificate()).startsWith("-----BEGIN CERTIFICATE-----"));
                secret = local.secret();
                fingerprint = local.fingerprint();
            }
            try (var again = io.pvecri.proxmox.emulator.LocalEmulator.start(state, "127.0.0.1:0")) {
                assertEquals(secret, again.secret());
                assertEquals(fingerprint, again.fingerprint());
            }
        } finally {
            RealFixture.deleteTree(state);
        }
    }
}
