package io.pvecri.daemon.e2e;

import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.image.testing.TestImages;
import io.pvecri.proto.admin.v1.ImportImageRequest;
import io.pvecri.proto.admin.v1.ImportedImage;
import io.pvecri.proto.cri.v1.ContainerStats;
import io.pvecri.proto.cri.v1.ContainerStatsRequest;
import io.pvecri.proto.cri.v1.ImageFsInfoRequest;
import io.pvecri.proto.cri.v1.ImageFsInfoResponse;
import io.pvecri.proto.cri.v1.ImageSpec;
import io.pvecri.proto.cri.v1.ImageStatusRequest;
import io.pvecri.proto.cri.v1.RemoveImageRequest;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every rootfs format must do through the CRI, with a real daemon: run a container whose
 * root file system the format made (write in it, read back, logs, stats), leave nothing behind
 * when the container is removed, and drop the image's artefact when the image is removed.
 * Subclasses start the daemon with their {@code storage:} section and say how the format's
 * artefacts look on the host. (The {@code dir} format runs every other IT.)
 */
abstract class RootfsFormatContract {
    abstract DaemonExtension extension();

    /** The {@code lxc.rootfs.path} value the daemon must write for container {@code id} of image {@code imageHex}. */
    abstract String expectedRootfsPath(String id, String imageHex);

    /** The host directory where the container's writes land. */
    abstract Path writableLayer(String id);

    /** Host-side assertions while the container runs (datasets, mounts, loop devices). */
    abstract void assertArtefactsWhileRunning(String id, String imageHex);

    /** Nothing of the container is left (no clone, no mount, no loop device, no directory). */
    abstract void assertContainerLeftNothing(String id, String imageHex);

    abstract boolean imageArtefactExists(String imageHex);

    /** Makes the file system account for the container's writes now (ZFS commits them in batches). */
    void commitWrites(String id) {
    }

    final Pods pods() {
        return extension().pods();
    }

    final Daemon daemon() {
        return extension().daemon();
    }

    static String hex(String imageId) {
        return imageId.substring(imageId.indexOf(':') + 1);
    }

    @Test
    void containerRunsOnTheFormatAndLeavesNothingWhenRemoved() throws Exception {
        String image = hex(extension().busybox().getId());
        Pod pod = pods().run("fmt");
        String id = pod.create(pods().shell("app", "echo started; sleep 1000"));
        String config = Files.readString(daemon().lxcPath().resolve(id).resolve("config"));
        assertTrue(config.contains("lxc.rootfs.path = " + expectedRootfsPath(id, image) + "\n"), config);

        pods().start(id);
        CriLog.awaitLine(pod.logFile("app"), "stdout", "started");
        assertArtefactsWhileRunning(id, image);

        pods().execOk(id, "sh", "-c", "mkdir /data && head -c 300000 /bin/busybox > /data/blob && echo hello > /written.txt");
        assertEquals("hello\n", pods().execOk(id, "cat", "/written.txt"));
        assertEquals("hello\n", Files.readString(writableLayer(id).resolve("written.txt")), "the write landed in the writable layer");
        assertTrue(pods().execOk(id, "ls", "/bin/busybox").contains("busybox"), "the image's files are there");

        commitWrites(id);
        ContainerStats stats = Wait.forValue("ContainerStats to count the writes", Wait.STATE_CHANGE,
                () -> pods().runtime().containerStats(ContainerStatsRequest.newBuilder().setContainerId(id).build()).getStats(),
                s -> s.getWritableLayer().getUsedBytes().getValue() >= 300_000 && s.getWritableLayer().getInodesUsed().getValue() >= 3);
        assertEquals(writableLayer(id).toString(), stats.getWritableLayer().getFsId().getMountpoint());
        ImageFsInfoResponse fs = daemon().images().imageFsInfo(ImageFsInfoRequest.getDefaultInstance());
        assertTrue(fs.getContainerFilesystems(0).getUsedBytes().getValue() >= 300_000, fs::toString);

        pods().stop(id, 0);
        pods().remove(id);
        assertContainerLeftNothing(id, image);
        assertFalse(Files.exists(daemon().stateDir().resolve("containers").resolve(id)));
        assertTrue(imageArtefactExists(image), "the image's artefact stays while the image does");
        pod.stop();
        pod.remove();
    }

    @Test
    void removingTheImageDropsItsArtefact() throws Exception {
        ImportedImage variant = importVariant();
        String image = hex(variant.getId());
        Pod pod = pods().run("rmi");
        String id = pod.start(pods().sleeper("app").setImage(ImageSpec.newBuilder().setImage(variant.getId())));
        assertTrue(imageArtefactExists(image));
        assertEquals("rootfs-variant\n", pods().execOk(id, "cat", "/variant"));

        pods().stop(id, 0);
        pods().remove(id);
        pod.stop();
        pod.remove();
        assertTrue(imageArtefactExists(image), "removing the container keeps the image's artefact");

        daemon().images().removeImage(RemoveImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(variant.getId())).build());
        assertFalse(daemon().images().imageStatus(ImageStatusRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(variant.getId())).build()).hasImage());
        assertFalse(imageArtefactExists(image), "RemoveImage drops the format's artefact");
    }

    /** busybox plus a file /variant, under its own name: another image id than busybox's. */
    ImportedImage importVariant() throws Exception {
        Path layout = daemon().root().resolve("variant-oci-" + System.nanoTime());
        byte[] extra = TestImages.tar().file("variant", "rootfs-variant\n").build();
        TestImages.layout(layout, "docker.io/library/busybox:rootfs-variant",
                List.of(TestImages.busyboxLayerTar(), extra), TestImages.ImageConfigJson.defaults().withLabels(Map.of("variant", "1")));
        return daemon().admin().importImage(ImportImageRequest.newBuilder().setPath(layout.toString())
                .setName("docker.io/library/busybox:rootfs-variant").build()).getImages(0);
    }

    /** Output of a host command that must succeed. */
    static String host(String... argv) {
        Host.Result r = Host.run(argv);
        if (r.exitCode() != 0) {
            throw new AssertionError(String.join(" ", argv) + " failed: " + r);
        }
        return r.stdout();
    }
}
