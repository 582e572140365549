package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.daemon.rootfs.ZfsPool;
import io.pvecri.proto.admin.v1.ImportedImage;
import io.pvecri.proto.cri.v1.ImageSpec;
import io.pvecri.proto.cri.v1.RemoveImageRequest;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static io.pvecri.daemon.e2e.GrpcAssertions.assertStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code storage.format: zfs} end to end, on a throwaway pool in a sparse file served by zfs-fuse:
 * a dataset per image, a clone per container mounted as its rootfs.
 */
class ZfsFormatIT extends RootfsFormatContract {
    @RegisterExtension
    @Order(1)
    static final ZfsPool zfs = new ZfsPool();

    @RegisterExtension
    @Order(2)
    static final DaemonExtension daemon = new DaemonExtension(() -> Daemon.start("""
            storage:
              format: zfs
              zfs:
                dataset: %s/pve-cri
            """.formatted(zfs.pool())));

    @Override
    DaemonExtension extension() {
        return daemon;
    }

    private static String dataset() {
        return zfs.pool() + "/pve-cri";
    }

    private Path cloneMount(String id) {
        return daemon().stateDir().resolve("rootfs/zfs/containers").resolve(id);
    }

    @Override
    String expectedRootfsPath(String id, String imageHex) {
        return "dir:" + cloneMount(id);
    }

    @Override
    Path writableLayer(String id) {
        return cloneMount(id);
    }

    @Override
    void assertArtefactsWhileRunning(String id, String imageHex) {
        String clone = dataset() + "/containers/" + id;
        assertTrue(zfs.exists(clone), "the container's clone exists");
        assertEquals(dataset() + "/images/" + imageHex + "@base", ZfsPool.zfs("get", "-H", "-o", "value", "origin", clone).strip());
        String fsType = host("findmnt", "-n", "-o", "FSTYPE", "--mountpoint", cloneMount(id).toString()).strip();
        assertTrue(fsType.equals("fuse.zfs") || fsType.equals("zfs"), () -> "the clone is mounted: " + fsType);
    }

    @Override
    void assertContainerLeftNothing(String id, String imageHex) {
        assertFalse(zfs.exists(dataset() + "/containers/" + id), "the clone is destroyed");
        assertEquals(List.of(), Host.mountsUnder(cloneMount(id)));
        assertFalse(Files.exists(cloneMount(id)));
    }

    /**
     * ZFS accounts space (and objects) when a transaction group commits: within 5 s with kernel
     * ZFS, up to 30 s with zfs-fuse. A snapshot commits one at once.
     */
    @Override
    void commitWrites(String id) {
        String clone = dataset() + "/containers/" + id;
        ZfsPool.zfs("snapshot", clone + "@commit");
        ZfsPool.zfs("destroy", clone + "@commit");
    }

    @Override
    boolean imageArtefactExists(String imageHex) {
        return zfs.exists(dataset() + "/images/" + imageHex);
    }

    @Test
    void aFailedCreationLeavesNoDatasetCloneOrDirectory() throws Exception {
        ImportedImage variant = importVariant();
        String image = hex(variant.getId());
        List<String> before = zfs.list(dataset());
        List<String> containerDirs = list(daemon().stateDir().resolve("containers"));
        List<String> lxc = Host.lxcContainers(daemon().lxcPath());
        Pod pod = pods().run("quota");
        long used = Long.parseLong(ZfsPool.zfs("get", "-Hp", "-o", "value", "used", dataset() + "/images").strip());
        ZfsPool.zfs("set", "quota=" + (used + 256 * 1024), dataset() + "/images"); // the variant needs ~2 MB
        try {
            assertStatus(Status.Code.RESOURCE_EXHAUSTED,
                    () -> pod.create(pods().sleeper("app").setImage(ImageSpec.newBuilder().setImage(variant.getId()))));
        } finally {
            ZfsPool.zfs("set", "quota=none", dataset() + "/images");
        }
        assertEquals(before, zfs.list(dataset()), "no image dataset, no clone");
        assertFalse(imageArtefactExists(image));
        assertEquals(containerDirs, list(daemon().stateDir().resolve("containers")));
        assertEquals(lxc, Host.lxcContainers(daemon().lxcPath()));
        assertEquals(List.of(), Host.mountsUnder(daemon().stateDir().resolve("rootfs/zfs/images")));
        // The container's hold on the image was dropped too: it can be removed.
        daemon().images().removeImage(RemoveImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(variant.getId())).build());
        pod.stop();
        pod.remove();
    }

    private static List<String> list(Path dir) throws Exception {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }
}
