package io.pvecri.image;

import io.pvecri.image.testing.TestImages;
import io.pvecri.image.testing.TestImages.ImageConfigJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.UserDefinedFileAttributeView;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Ownership, modes, times, xattrs and special files; needs root. */
class MetadataTest {

    @TempDir
    Path tmp;
    ImageStore store;

    @BeforeEach
    void open() throws Exception {
        assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0, "needs root");
        store = ImageStore.open(tmp.resolve("store"));
    }

    @AfterEach
    void close() {
        if (store != null) {
            store.close();
        }
    }

    private Path unpack(byte[]... layers) throws Exception {
        Path dir = tmp.resolve("l" + System.nanoTime());
        ImageRecord r = store.importImage(TestImages.layout(dir, null, List.of(layers), ImageConfigJson.defaults()),
                Optional.empty()).getFirst();
        return store.rootfs(r.id());
    }

    private static int mode(Path p) throws Exception {
        return (int) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777;
    }

    private static int uid(Path p) throws Exception {
        return (int) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    private static int gid(Path p) throws Exception {
        return (int) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
    }

    @Test
    void ownershipModesAndTimesArePreserved() throws Exception {
        Instant t1 = Instant.parse("2020-02-03T04:05:06Z");
        byte[] layer = TestImages.tar().mtime(t1)
                .dir("srv/", 0750, 1000, 2000)
                .file("srv/setuid", "x".getBytes(StandardCharsets.UTF_8), 04755, 0, 0)
                .file("srv/setgid", "x".getBytes(StandardCharsets.UTF_8), 02711, 1000, 50)
                .file("srv/private", "x".getBytes(StandardCharsets.UTF_8), 0600, 1234, 5678)
                .dir("srv/shared/", 02775, 1000, 1000)
                .dir("srv/sticky/", 01777, 0, 0)
                .symlink("srv/link", "setuid", 1001, 1002)
                .file("srv/bigid", new byte[0], 0644, 100_000, 4_000_000_000L)
                .build();
        Path srv = unpack(layer).resolve("srv");

        assertEquals(0750, mode(srv));
        assertEquals(1000, uid(srv));
        assertEquals(2000, gid(srv));
        assertEquals(04755, mode(srv.resolve("setuid")), "setuid survives chown");
        assertEquals(02711, mode(srv.resolve("setgid")));
        assertEquals(50, gid(srv.resolve("setgid")));
        assertEquals(0600, mode(srv.resolve("private")));
        assertEquals(1234, uid(srv.resolve("private")));
        assertEquals(5678, gid(srv.resolve("private")));
        assertEquals(02775, mode(srv.resolve("shared")));
        assertEquals(01777, mode(srv.resolve("sticky")));
        assertEquals(1001, uid(srv.resolve("link")), "lchown on the symlink itself");
        assertEquals(1002, gid(srv.resolve("link")));
        assertEquals(0, uid(srv.resolve("setuid")), "symlink target not chowned");
        assertEquals(100_000, uid(srv.resolve("bigid")));
        assertEquals(4_000_000_000L, Integer.toUnsignedLong(gid(srv.resolve("bigid"))));
        for (String f : List.of("", "setuid", "private", "shared", "sticky", "link")) {
            assertEquals(t1, Files.getLastModifiedTime(srv.resolve(f), LinkOption.NOFOLLOW_LINKS).toInstant(), f);
        }
    }

    @Test
    void directoryModeAllowsLaterEntriesAndIsAppliedAtTheEnd() throws Exception {
        byte[] layer = TestImages.tar()
                .dir("ro/", 0555)
                .file("ro/f", "x")
                .build();
        byte[] upper = TestImages.tar().file("ro/g", "y").build();
        Path rootfs = unpack(layer, upper);
        assertEquals(0555, mode(rootfs.resolve("ro")));
        assertEquals("y", Files.readString(rootfs.resolve("ro/g")));
    }

    @Test
    void xattrsAreAppliedWhenSupported() throws Exception {
        Path probe = Files.writeString(tmp.resolve("probe"), "");
        UserDefinedFileAttributeView probeView = Files.getFileAttributeView(probe, UserDefinedFileAttributeView.class);
        boolean supported;
        try {
            probeView.write("probe", java.nio.ByteBuffer.wrap(new byte[]{1}));
            supported = true;
        } catch (java.io.IOException e) {
            supported = false;
        }
        byte[] layer = TestImages.tar()
                .file("f", "x".getBytes(StandardCharsets.UTF_8), 0644, 0, 0, Map.of(
                        "SCHILY.xattr.user.pvecri", "hello",
                        "SCHILY.xattr.trusted.overlay.opaque", "y",
                        "SCHILY.xattr.user.overlay.redirect", "/x"))
                .build();
        Path f = unpack(layer).resolve("f");
        assumeTrue(supported, "file system without user xattrs");
        UserDefinedFileAttributeView view = Files.getFileAttributeView(f, UserDefinedFileAttributeView.class);
        assertEquals(List.of("pvecri"), view.list(), "overlay xattrs are never applied");
        java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(16);
        view.read("pvecri", buf);
        assertEquals("hello", new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8));
    }

    @Test
    void fifosAndDeviceNodesAreCreated() throws Exception {
        byte[] layer = TestImages.tar()
                .dir("dev/")
                .fifo("dev/fifo", 0620)
                .charDevice("dev/null", 0666, 1, 3)
                .build();
        Path dev = unpack(layer).resolve("dev");
        assertTrue((boolean) Files.getAttribute(dev.resolve("fifo"), "unix:isOther", LinkOption.NOFOLLOW_LINKS)
                || Files.exists(dev.resolve("fifo"), LinkOption.NOFOLLOW_LINKS));
        assertEquals(0010000, (int) Files.getAttribute(dev.resolve("fifo"), "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000);
        assertEquals(0620, mode(dev.resolve("fifo")));
        if (Files.exists(dev.resolve("null"), LinkOption.NOFOLLOW_LINKS)) { // mknod of devices may be denied in containers
            assertEquals(0020000, (int) Files.getAttribute(dev.resolve("null"), "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000);
            assertEquals(Posix.makedev(1, 3), ((Number) Files.getAttribute(dev.resolve("null"), "unix:rdev",
                    LinkOption.NOFOLLOW_LINKS)).longValue());
        }
    }
}
