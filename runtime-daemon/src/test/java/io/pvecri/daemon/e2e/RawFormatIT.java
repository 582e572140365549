package io.pvecri.daemon.e2e;

import io.pvecri.daemon.e2e.Pods.Pod;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code storage.format: raw} end to end: an ext4 file per image built with mkfs.ext4 -d,
 * loop-mounted read-only while containers of the image exist, an overlay upper dir per container.
 */
class RawFormatIT extends RootfsFormatContract {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension(() -> Daemon.start("""
            storage:
              format: raw
              raw:
                headroomPercent: 10
            """));

    @Override
    DaemonExtension extension() {
        return daemon;
    }

    private Path rawDir() {
        return daemon().stateDir().resolve("rootfs/raw");
    }

    private Path imageFile(String hex) {
        return rawDir().resolve("images").resolve(hex + ".ext4");
    }

    private Path mountPoint(String hex) {
        return rawDir().resolve("mnt").resolve(hex);
    }

    @Override
    String expectedRootfsPath(String id, String imageHex) {
        return "overlay:" + mountPoint(imageHex) + ":" + writableLayer(id);
    }

    @Override
    Path writableLayer(String id) {
        return daemon().stateDir().resolve("containers").resolve(id).resolve("upper");
    }

    @Override
    void assertArtefactsWhileRunning(String id, String imageHex) {
        assertTrue(Files.isRegularFile(imageFile(imageHex)));
        String[] mount = host("findmnt", "-n", "-o", "FSTYPE,OPTIONS,SOURCE", "--mountpoint", mountPoint(imageHex).toString())
                .strip().split("\\s+");
        assertEquals("ext4", mount[0]);
        assertTrue(mount[1].startsWith("ro,"), () -> "read-only: " + mount[1]);
        assertTrue(mount[2].startsWith("/dev/loop"), () -> "on a loop device: " + mount[2]);
        assertEquals(1, loops(imageHex).size(), () -> "one loop device: " + loops(imageHex));
    }

    @Override
    void assertContainerLeftNothing(String id, String imageHex) {
        assertEquals(List.of(), Host.mountsUnder(rawDir()), "no image stays mounted without containers");
        assertFalse(Files.exists(mountPoint(imageHex)));
        assertEquals(List.of(), loops(imageHex), "no loop device");
        assertFalse(Files.exists(writableLayer(id)));
    }

    @Override
    boolean imageArtefactExists(String imageHex) {
        return Files.exists(imageFile(imageHex));
    }

    private List<String> loops(String imageHex) {
        if (!Files.exists(imageFile(imageHex))) {
            return List.of();
        }
        return host("losetup", "-n", "-O", "NAME", "-j", imageFile(imageHex).toString()).lines().filter(l -> !l.isBlank()).toList();
    }

    @Test
    void containersOfOneImageShareOneMountThatSurvivesADaemonRestart() {
        String image = hex(extension().busybox().getId());
        Pod pod = pods().run("share");
        String a = pod.start(pods().shell("a", "echo a > /mine; sleep 1000"));
        String b = pod.start(pods().shell("b", "echo b > /mine; sleep 1000"));
        assertEquals(1, Host.mountsUnder(rawDir()).size(), () -> "one mount: " + Host.mountsUnder(rawDir()));
        assertEquals(1, loops(image).size());

        daemon().restart();

        assertEquals(1, Host.mountsUnder(rawDir()).size(), "the restart neither unmounted nor mounted twice");
        assertEquals("a\n", Wait.forValue("container a's write", Wait.STATE_CHANGE, () -> pods().exec(a, "cat", "/mine").getStdout().toStringUtf8(), "a\n"::equals));
        assertEquals("b\n", pods().execOk(b, "cat", "/mine"));
        pods().remove(a);
        assertEquals(1, Host.mountsUnder(rawDir()).size(), "still mounted for b");
        pods().remove(b);
        assertContainerLeftNothing(b, image);
        pod.stop();
        pod.remove();
    }
}
