package io.pvecri.daemon.rootfs;

import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.util.FileTrees;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

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

/** The zfs format for real, on a pool in a sparse file served by zfs-fuse (deploy/setup-host.sh starts it). */
class ZfsFormatTest {
    @RegisterExtension
    static final ZfsPool zfs = new ZfsPool();

    private static final String HEX = "ab".repeat(32);
    private static final String IMAGE = "sha256:" + HEX;

    private Path work;
    private Path tree;
    private String root;
    private ZfsFormat format;

    @BeforeEach
    void setUp() throws Exception {
        work = Files.createTempDirectory(Path.of("/tmp"), "pvecri-zfs-");
        tree = SampleTree.write(work.resolve("tree"));
        root = zfs.pool() + "/t" + Long.toHexString(System.nanoTime());
        format = ZfsFormat.open(root, work.resolve("mnt"), RootfsFormat.Observer.NONE);
    }

    @AfterEach
    void tearDown() throws Exception {
        try {
            format.recover(Map.of(), Map.of());
            ZfsPool.zfs("destroy", "-r", root);
        } finally {
            for (Path m : Mounts.under(work)) {
                SampleTree.run("umount", "-l", m.toString());
            }
            FileTrees.delete(work);
        }
    }

    @Test
    void openCreatesTheDatasetsAndRefusesAMissingPool() {
        assertEquals(List.of(root, root + "/containers", root + "/images"), zfs.list(root));
        RootfsException e = assertThrows(RootfsException.class,
                () -> ZfsFormat.open("nopool" + System.nanoTime() + "/x", work.resolve("m2"), RootfsFormat.Observer.NONE));
        assertTrue(e.getMessage().contains("is not available"), e::getMessage);
    }

    @Test
    void eachContainerGetsAWritableCloneOfTheImageSnapshot() throws Exception {
        String a = id(1);
        String b = id(2);
        LaunchSpec.Rootfs.Directory ra = assertInstanceOf(LaunchSpec.Rootfs.Directory.class, format.prepare(a, IMAGE, tree));
        LaunchSpec.Rootfs.Directory rb = assertInstanceOf(LaunchSpec.Rootfs.Directory.class, format.prepare(b, IMAGE, tree));

        assertEquals(work.resolve("mnt/containers").resolve(a), ra.path());
        assertTrue(Mounts.isMounted(ra.path()));
        assertEquals(SampleTree.describe(tree), SampleTree.describe(ra.path()), "the clone holds exactly the tree");
        assertEquals("/" + root + "/images/" + HEX + "@base",
                "/" + ZfsPool.zfs("get", "-H", "-o", "value", "origin", root + "/containers/" + a).strip());
        assertFalse(Mounts.isMounted(work.resolve("mnt/images").resolve(HEX)), "the image dataset is not kept mounted");

        Files.writeString(ra.path().resolve("etc/hostname"), "changed\n");
        Files.write(ra.path().resolve("new-file"), new byte[200_000]);
        assertEquals("sample\n", Files.readString(rb.path().resolve("etc/hostname")), "clones are independent");
        assertEquals("sample\n", Files.readString(tree.resolve("etc/hostname")));

        format.release(a);
        assertFalse(zfs.exists(root + "/containers/" + a));
        assertFalse(Mounts.isMounted(ra.path()));
        assertFalse(Files.exists(ra.path()));
        format.release(a); // idempotent

        RootfsException busy = assertThrows(RootfsException.class, () -> format.imageRemoved(IMAGE));
        assertEquals(RootfsException.Reason.IN_USE, busy.reason(), busy::getMessage);
        format.release(b);
        format.imageRemoved(IMAGE);
        assertEquals(List.of(root, root + "/containers", root + "/images"), zfs.list(root));
        format.imageRemoved(IMAGE); // idempotent
    }

    @Test
    void writableUsageCountsTheClonesOwnBytesAndInodes() throws Exception {
        String a = id(3);
        Path mnt = ((LaunchSpec.Rootfs.Directory) format.prepare(a, IMAGE, tree)).path();
        FileTrees.Usage fresh = format.writableUsage(a);
        assertEquals(0, fresh.inodes(), () -> "a fresh clone has written nothing: " + fresh);

        Files.createDirectories(mnt.resolve("data"));
        byte[] noise = new byte[1 << 20];
        new java.util.Random(1).nextBytes(noise);
        Files.write(mnt.resolve("data/blob"), noise);
        ZfsPool.zfs("snapshot", root + "/containers/" + a + "@sync"); // commits the transaction group
        ZfsPool.zfs("destroy", root + "/containers/" + a + "@sync");

        FileTrees.Usage written = format.writableUsage(a);
        assertTrue(written.bytes() >= 1 << 20, () -> "used " + written);
        assertEquals(2, written.inodes(), () -> "a directory and a file: " + written);
        assertTrue(format.imageUsage().bytes() > 300_000, () -> "image " + format.imageUsage());
        assertTrue(format.imageUsage().inodes() >= SampleTree.describe(tree).size() - 1, () -> "image " + format.imageUsage());
        assertTrue(format.layersOutsideContainersDir().bytes() >= 1 << 20);
        format.release(a);
    }

    @Test
    void recoveryDestroysOrphansAndInterruptedImagesAndRemountsClones() throws Exception {
        String kept = id(4);
        String orphan = id(5);
        Path keptMnt = ((LaunchSpec.Rootfs.Directory) format.prepare(kept, IMAGE, tree)).path();
        format.prepare(orphan, IMAGE, tree);
        String other = "cd".repeat(32);
        // An interrupted image build: the dataset without its @base snapshot.
        ZfsPool.zfs("create", "-o", "mountpoint=none", root + "/images/" + other);
        ZfsPool.zfs("umount", root + "/containers/" + kept);

        ZfsFormat restarted = ZfsFormat.open(root, work.resolve("mnt"), RootfsFormat.Observer.NONE);
        restarted.recover(Map.of(kept, IMAGE), Map.of(IMAGE, tree));

        assertEquals(List.of(root, root + "/containers", root + "/containers/" + kept, root + "/images",
                root + "/images/" + HEX, root + "/images/" + HEX + "@base"), zfs.list(root));
        assertTrue(Mounts.isMounted(keptMnt), "the kept clone is mounted again");
        assertFalse(Files.exists(work.resolve("mnt/containers").resolve(orphan)));

        restarted.recover(Map.of(), Map.of());
        assertEquals(List.of(root, root + "/containers", root + "/images"), zfs.list(root), "nothing known: everything goes");
    }

    private static String id(int n) {
        return HexFormat.of().formatHex(new byte[31]) + String.format("%02x", n);
    }
}
