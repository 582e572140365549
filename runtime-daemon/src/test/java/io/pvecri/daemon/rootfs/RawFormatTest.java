package io.pvecri.daemon.rootfs;

import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.util.FileTrees;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The raw format for real: mkfs.ext4 -d, loop mounts, reference counting, recovery (needs root). */
class RawFormatTest {
    private static final String IMAGE = "sha256:" + "ab".repeat(32);

    private Path work;
    private Path tree;
    private Path containers;
    private RawFormat raw;

    @BeforeEach
    void setUp() throws Exception {
        work = Files.createTempDirectory(Path.of("/tmp"), "pvecri-raw-");
        tree = SampleTree.write(work.resolve("tree"));
        containers = Files.createDirectories(work.resolve("containers"));
        raw = new RawFormat(work.resolve("raw"), containers, 10, RootfsFormat.Observer.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Path m : Mounts.under(work)) {
            SampleTree.run("umount", "-l", m.toString());
        }
        FileTrees.delete(work);
    }

    @Test
    void containersShareOneReadOnlyLoopMountThatGoesWithTheLastOfThem() throws Exception {
        String a = id(1);
        String b = id(2);
        LaunchSpec.Rootfs ra = raw.prepare(a, IMAGE, tree);
        LaunchSpec.Rootfs rb = raw.prepare(b, IMAGE, tree);

        LaunchSpec.Rootfs.Overlay oa = assertInstanceOf(LaunchSpec.Rootfs.Overlay.class, ra);
        LaunchSpec.Rootfs.Overlay ob = assertInstanceOf(LaunchSpec.Rootfs.Overlay.class, rb);
        Path mnt = raw.mountPoint("ab".repeat(32));
        assertEquals(mnt, oa.lower());
        assertEquals(mnt, ob.lower());
        assertEquals(containers.resolve(a).resolve("upper"), oa.upper());
        assertTrue(Files.isDirectory(oa.upper()));
        assertEquals(1, Mounts.all().stream().filter(mnt::equals).count(), "one mount for both containers");
        assertEquals(SampleTree.describe(tree), SampleTree.describe(mnt), "the ext4 image holds exactly the tree");
        assertFalse(Files.isWritable(mnt) && canWrite(mnt), "the image is mounted read-only");
        List<String> loops = loops();
        assertEquals(1, loops.size(), () -> "one loop device: " + loops);

        raw.release(a);
        assertTrue(Mounts.isMounted(mnt), "still mounted while container b uses it");
        assertFalse(Files.exists(containers.resolve(a).resolve("upper")));

        raw.release(b);
        assertFalse(Mounts.isMounted(mnt));
        assertFalse(Files.exists(mnt));
        assertEquals(List.of(), loops(), "the loop device went with the mount");
        assertTrue(Files.exists(raw.imageFile("ab".repeat(32))), "the image file stays until the image goes");
        raw.release(b); // idempotent
    }

    @Test
    void imageRemovalDeletesTheFileButNotWhileContainersUseIt() throws Exception {
        String a = id(3);
        raw.prepare(a, IMAGE, tree);
        RootfsException busy = assertThrows(RootfsException.class, () -> raw.imageRemoved(IMAGE));
        assertEquals(RootfsException.Reason.IN_USE, busy.reason());

        raw.release(a);
        raw.imageRemoved(IMAGE);
        assertFalse(Files.exists(raw.imageFile("ab".repeat(32))));
        assertEquals(List.of(), Files.list(work.resolve("raw/images")).toList());
        raw.imageRemoved(IMAGE); // idempotent
    }

    @Test
    void recoveryRemountsWhatRecordsUseAndDropsTheRest() throws Exception {
        String kept = id(4);
        String orphan = id(5);
        raw.prepare(kept, IMAGE, tree);
        String other = "sha256:" + "cd".repeat(32);
        raw.prepare(orphan, other, tree);
        // A host reboot unmounts everything.
        SampleTree.run("umount", raw.mountPoint("ab".repeat(32)).toString());
        Files.writeString(work.resolve("raw/images/" + "ef".repeat(32) + ".ext4.tmp-1"), "interrupted build");

        RawFormat restarted = new RawFormat(work.resolve("raw"), containers, 10, RootfsFormat.Observer.NONE);
        restarted.recover(Map.of(kept, IMAGE), Map.of(IMAGE, tree));

        assertTrue(Mounts.isMounted(restarted.mountPoint("ab".repeat(32))), "the kept container's image is mounted again");
        assertFalse(Mounts.isMounted(restarted.mountPoint("cd".repeat(32))), "nothing uses the other image");
        assertFalse(Files.exists(restarted.imageFile("cd".repeat(32))), "an image not in the store loses its file");
        assertEquals(List.of(restarted.imageFile("ab".repeat(32))), Files.list(work.resolve("raw/images")).toList());
        restarted.release(kept);
        assertEquals(List.of(), loops());
    }

    @Test
    void aFullDiskFailsWithNoSpaceAndLeavesNothing() throws Exception {
        Path small = Files.createDirectories(work.resolve("small"));
        SampleTree.run("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", small.toString());
        try {
            RawFormat tiny = new RawFormat(small, containers, 10, RootfsFormat.Observer.NONE);
            RootfsException e = assertThrows(RootfsException.class, () -> tiny.prepare(id(6), IMAGE, tree));
            assertEquals(RootfsException.Reason.NO_SPACE, e.reason(), e::getMessage);
            assertEquals(List.of(), Files.list(small.resolve("images")).toList(), "no partial image file");
            assertEquals(List.of(), Files.list(small.resolve("mnt")).toList());
            assertFalse(Files.exists(containers.resolve(id(6))));
        } finally {
            SampleTree.run("umount", "-R", "-l", small.toString());
        }
    }

    @Test
    void sizeEstimateAddsHeadroomAndMetadata() {
        Ext4Image.Size s = Ext4Image.estimate(new Ext4Image.Need(100L << 20, 1000), 10);
        assertEquals(1000 * 110 / 100 + 64, s.inodes());
        assertTrue(s.bytes() >= (110L << 20) + s.inodes() * 256, () -> "bytes " + s.bytes());
        assertEquals(0, s.bytes() % (1 << 20));
        assertTrue(s.bytes() < (120L << 20), () -> "bytes " + s.bytes());
    }

    private static String id(int n) {
        return HexFormat.of().formatHex(new byte[31]) + String.format("%02x", n);
    }

    private static boolean canWrite(Path dir) {
        try {
            Files.delete(Files.createTempFile(dir, "w", ""));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private List<String> loops() throws IOException {
        Process p = new ProcessBuilder("losetup", "-n", "-O", "NAME", "-j", raw.imageFile("ab".repeat(32)).toString())
                .redirectErrorStream(true).start();
        return new String(p.getInputStream().readAllBytes()).lines().filter(l -> !l.isBlank()).toList();
    }
}
