package io.pvecri.proxmox;

import io.pvecri.proxmox.emulator.EmulatedCluster;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The calls a pve-cri backend makes, end to end against the emulator. */
class LxcLifecycleTest {

    private static final Duration T = Duration.ofSeconds(5);

    @Test
    void createStartShutdownDelete() {
        try (Fixture f = new Fixture()) {
            TaskWaiter w = f.client.taskWaiter();
            int vmid = f.client.cluster().nextId();
            assertEquals(100, vmid);
            w.await(f.lxc().create(vmid, PveParams.of().with("ostemplate", Fixture.TEMPLATE).with("storage", "local-zfs")
                    .with("unprivileged", true).with("hostname", "web").with("memory", 256).with("ostype", "unmanaged")
                    .with("net0", "name=eth0,bridge=vmbr0,ip=dhcp").with("tags", "pvecri")), T);
            LxcConfig cfg = f.lxc().config(vmid);
            assertEquals("web", cfg.get("hostname").orElseThrow());
            assertEquals("256", cfg.get("memory").orElseThrow());
            assertEquals("1", cfg.get("unprivileged").orElseThrow());
            assertEquals("local-zfs:subvol-100-disk-0,size=4G", cfg.get("rootfs").orElseThrow());
            assertTrue(cfg.lock().isEmpty());

            LxcStatus stopped = f.lxc().status(vmid);
            assertFalse(stopped.running());
            assertEquals(256L << 20, stopped.maxmem());
            w.await(f.lxc().start(vmid), T);
            LxcStatus running = f.lxc().status(vmid);
            assertTrue(running.running());
            assertTrue(running.pid() > 0);
            assertEquals("web", running.name());
            assertEquals(List.of(vmid), f.lxc().list().stream().map(LxcStatus::vmid).toList());
            var rows = f.client.cluster().guests();
            assertEquals(1, rows.size());
            assertEquals("lxc/100", rows.getFirst().id());
            assertEquals(java.util.Set.of("pvecri"), rows.getFirst().tags());

            w.await(f.lxc().shutdown(vmid, Duration.ofSeconds(10), true), T);
            assertFalse(f.lxc().status(vmid).running());
            w.await(f.lxc().delete(vmid), T);
            assertThrows(PveException.NotFound.class, () -> f.lxc().status(vmid));
            assertTrue(f.client.cluster().isFree(vmid));
            assertTrue(f.client.storage(Fixture.NODE).content("local-zfs", "rootdir").isEmpty(), "disks destroyed");
        }
    }

    @Test
    void shutdownOfAStubbornContainer() {
        try (Fixture f = new Fixture()) {
            f.createCt(100, Map.of());
            f.client.taskWaiter().await(f.lxc().start(100), T);
            f.pve.cluster().ignoreShutdown(100, true);
            var e = assertThrows(PveException.TaskFailed.class,
                    () -> f.client.taskWaiter().await(f.lxc().shutdown(100, Duration.ofSeconds(1), false), T));
            assertEquals("container did not stop", e.exitStatus());
            assertTrue(f.lxc().status(100).running());
            f.client.taskWaiter().await(f.lxc().shutdown(100, Duration.ofSeconds(1), true), T);
            assertFalse(f.lxc().status(100).running());
        }
    }

    @Test
    void templateAndLinkedClone() {
        try (Fixture f = new Fixture()) {
            f.createCt(100, Map.of());
            Upid templating = f.lxc().template(100);
            assertEquals("vztemplate", templating.type());
            f.client.taskWaiter().await(templating, T);
            assertTrue(f.lxc().config(100).template());
            assertEquals("local-zfs:basevol-100-disk-0,size=4G", f.lxc().config(100).get("rootfs").orElseThrow());
            assertEquals("you can't convert a template to a template",
                    assertThrows(PveException.ApiError.class, () -> f.lxc().template(100)).pveMessage());
            // PVE refuses 'storage' with full=0; the client refuses it before sending
            assertThrows(IllegalArgumentException.class, () -> new CloneOptions(false, Optional.empty(), Optional.empty(),
                    Optional.empty(), Optional.of("local-zfs")));

            f.client.taskWaiter().await(f.lxc().clone(100, 101, CloneOptions.linked().withHostname("pod-a")), T);
            LxcConfig clone = f.lxc().config(101);
            assertEquals("pod-a", clone.get("hostname").orElseThrow());
            assertFalse(clone.template());
            var vols = f.client.storage(Fixture.NODE).content("local-zfs", "rootdir");
            assertTrue(vols.stream().anyMatch(v -> v.volid().equals("local-zfs:basevol-100-disk-0/subvol-101-disk-0")
                    && v.parent().equals("local-zfs:basevol-100-disk-0") && v.vmid() == 101), vols.toString());
            assertEquals("you can't start a CT if it's a template", assertThrows(PveException.TaskFailed.class,
                    () -> f.client.taskWaiter().await(f.lxc().start(100), T)).exitStatus());
        }
    }

    @Test
    void linkedCloneOfANonTemplateIsRefused() {
        try (Fixture f = new Fixture()) {
            f.createCt(100, Map.of());
            var e = assertThrows(PveException.ApiError.class, () -> f.lxc().clone(100, 101, CloneOptions.linked()));
            assertEquals("Linked clone feature for 'local-zfs:subvol-100-disk-0' is not available", e.pveMessage());
            assertTrue(f.pve.cluster().guest(100).orElseThrow().lock().isEmpty(), "no lock left behind");
        }
    }

    @Test
    void storageListUploadDeleteAndOciPull() throws Exception {
        try (Fixture f = new Fixture()) {
            StorageApi s = f.client.storage(Fixture.NODE);
            assertEquals(List.of("local", "local-zfs"), s.list().stream().map(StorageInfo::storage).toList());
            assertEquals(List.of("local"), s.listFor("vztmpl").stream().map(StorageInfo::storage).toList());
            assertTrue(s.list().getLast().supports("rootdir"));

            Path file = Files.createTempFile("rootfs", ".tar.zst");
            Files.write(file, "not really zstd".repeat(1000).getBytes());
            String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
            f.client.taskWaiter().await(s.upload("local", "vztmpl", file, "pvecri/alpine 3.20.tar.zst",
                    Optional.of(new StorageApi.Checksum("sha256", sha))), T);
            StorageVolume v = s.content("local", "vztmpl").stream()
                    .filter(x -> x.volid().equals("local:vztmpl/alpine_3.20.tar.zst")).findFirst().orElseThrow();
            assertEquals(15_000, v.size());
            assertEquals("tzst", v.format());

            var bad = assertThrows(PveException.TaskFailed.class, () -> f.client.taskWaiter().await(
                    s.upload("local", "vztmpl", file, "x.tar.zst", Optional.of(new StorageApi.Checksum("sha256", "00"))), T));
            assertTrue(bad.exitStatus().startsWith("checksum mismatch: got '" + sha + "' != expect '00'"), bad.exitStatus());
            var ext = assertThrows(PveException.InvalidParameter.class, () -> s.upload("local", "vztmpl", file, "x.zip", Optional.empty()));
            assertEquals(Map.of("filename", "wrong file extension"), ext.errors());

            Upid del = s.deleteVolume("local", "local:vztmpl/alpine_3.20.tar.zst").orElseThrow();
            assertEquals("imgdel", del.type());
            f.client.taskWaiter().await(del, T);
            assertTrue(s.content("local", "vztmpl").stream().noneMatch(x -> x.volid().equals("local:vztmpl/alpine_3.20.tar.zst")));
            assertThrows(PveException.NotFound.class, () -> s.deleteVolume("local", "local:vztmpl/alpine_3.20.tar.zst"));

            Upid pull = s.pullOciImage("local", "docker.io/library/nginx:1.27", Optional.empty());
            assertEquals("ociregistrypull", pull.type());
            f.client.taskWaiter().await(pull, T);
            assertTrue(f.pve.cluster().volumes("local").stream().map(EmulatedCluster.Volume::volid).toList()
                    .contains("local:vztmpl/nginx_1.27.tar"));
            assertEquals("refusing to override existing file 'nginx_1.27.tar'", assertThrows(PveException.ApiError.class,
                    () -> s.pullOciImage("local", "docker.io/library/nginx:1.27", Optional.empty())).pveMessage());
            assertEquals(Map.of("reference", "value does not match the regex pattern"), assertThrows(PveException.InvalidParameter.class,
                    () -> s.pullOciImage("local", "nginx@sha256:abcd", Optional.empty())).errors());
        }
    }

    @Test
    void versionNodesAndNumbersSentAsStrings() {
        try (Fixture f = new Fixture(e -> e.numbersAsStrings(true).version("8.0.4"), c -> c)) {
            assertEquals(8, f.client.version().major());
            List<NodeInfo> nodes = f.client.nodes();
            assertEquals(List.of("pve1", "pve2"), nodes.stream().map(NodeInfo::node).toList());
            assertTrue(nodes.getFirst().online());
            f.createCt(100, Map.of("memory", "128"));
            f.client.taskWaiter().await(f.lxc().start(100), T);
            LxcStatus st = f.lxc().status(100);
            assertEquals(100, st.vmid());
            assertEquals(128L << 20, st.maxmem());
            assertTrue(st.pid() > 0);
        }
    }
}
