package io.pvecri.image;

import io.pvecri.image.testing.TestImages;
import io.pvecri.image.testing.TestImages.ImageConfigJson;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile layers. The store lives in {@code tmp/a/b/c/store} so that {@code ..} chains have room
 * to land in {@code tmp}; a sentinel directory next to it must stay empty, and nothing new may
 * appear anywhere in {@code tmp} outside the store.
 */
class LayerSecurityTest {

    @TempDir
    Path tmp;
    Path sentinel;
    Path secret;
    ImageStore store;

    @BeforeEach
    void setUp() throws Exception {
        sentinel = Files.createDirectories(tmp.resolve("sentinel"));
        secret = Files.writeString(tmp.resolve("secret"), "do not touch");
        store = ImageStore.open(tmp.resolve("a/b/c/store"));
    }

    @AfterEach
    void tearDown() throws Exception {
        store.close();
        assertEquals(List.of(), StoreAssertions.children(sentinel), "sentinel directory must stay empty");
        assertEquals("do not touch", Files.readString(secret));
        try (var s = Files.walk(tmp)) {
            List<String> outside = s.filter(p -> !p.startsWith(tmp.resolve("a/b/c/store")))
                    .filter(p -> !p.startsWith(tmp.resolve("layouts")))
                    .map(p -> tmp.relativize(p).toString())
                    .filter(n -> !n.isEmpty() && !List.of("a", "a/b", "a/b/c", "sentinel", "secret", "layouts").contains(n))
                    .toList();
            assertEquals(List.of(), outside, "files written outside the store");
        }
    }

    private Path layout(byte[]... layers) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("layouts")).resolve("l" + System.nanoTime());
        return TestImages.layout(dir, "hostile:1", List.of(layers), ImageConfigJson.defaults());
    }

    private InvalidImageException rejected(byte[]... layers) throws Exception {
        Path l = layout(layers);
        InvalidImageException e = assertThrows(InvalidImageException.class, () -> store.importImage(l, Optional.empty()));
        StoreAssertions.assertNothingStored(store);
        return e;
    }

    private Path imported(byte[]... layers) throws Exception {
        ImageRecord r = store.importImage(layout(layers), Optional.empty()).getFirst();
        return store.rootfs(r.id());
    }

    @Test
    void dotDotTraversalIsRejected() throws Exception {
        InvalidImageException e = rejected(TestImages.tar().file("../../../../../sentinel/evil", "x").build());
        assertTrue(e.getMessage().contains("climbs out"), e.getMessage());
        rejected(TestImages.tar().file("ok/../../../../../../sentinel/evil", "x").build());
        rejected(TestImages.tar().dir("../../../../../sentinel/evildir/").build());
    }

    @Test
    void dotDotInsideTheTreeIsAllowed() throws Exception {
        Path rootfs = imported(TestImages.tar().dir("a/").dir("b/").file("a/../b/f", "inside").build());
        assertEquals("inside", Files.readString(rootfs.resolve("b/f")));
    }

    @Test
    void absoluteNamesAreRelativeToTheRootfs() throws Exception {
        Path rootfs = imported(TestImages.tar().file(sentinel.resolve("abs").toString(), "inside").build());
        assertEquals("inside", Files.readString(rootfs.resolve(tmp.getRoot().relativize(sentinel)).resolve("abs")));
    }

    /** The path of the sentinel as seen inside the rootfs (an absolute link target is rootfs-relative). */
    private Path inRootfs(Path rootfs, Path hostPath) {
        return rootfs.resolve(hostPath.getRoot().relativize(hostPath).toString());
    }

    @Test
    void writingThroughAbsoluteSymlinkStaysInsideTheRootfs() throws Exception {
        Path rootfs = imported(TestImages.tar()
                .symlink("evil", sentinel.toString())
                .file("evil/pwned", "x")
                .build());
        assertEquals("x", Files.readString(inRootfs(rootfs, sentinel).resolve("pwned")));
        assertTrue(Files.isSymbolicLink(rootfs.resolve("evil")));
    }

    @Test
    void writingThroughRelativeSymlinkStaysInsideTheRootfs() throws Exception {
        Path rootfs = imported(TestImages.tar()
                .symlink("up", "../../../../../sentinel")
                .file("up/pwned", "x")
                .build());
        assertEquals("x", Files.readString(rootfs.resolve("sentinel/pwned")), "'..' stops at the rootfs root");
        rootfs = imported(TestImages.tar()
                .dir("etc/")
                .symlink("etc/conf", "/etc")
                .file("etc/conf/passwd", "root::0:0::/:/bin/sh")
                .build());
        assertEquals("root::0:0::/:/bin/sh", Files.readString(rootfs.resolve("etc/passwd")));
    }

    @Test
    void symlinkedParentInsideTheRootfsIsResolvedAsContainerdDoes() throws Exception {
        // usrmerge: /bin -> usr/bin in the base layer; a later layer writes bin/tool and deletes bin/old
        byte[] base = TestImages.tar().dir("usr/").dir("usr/bin/").file("usr/bin/old", "old")
                .symlink("bin", "usr/bin").build();
        byte[] upper = TestImages.tar().file("bin/tool", "tool").whiteout("bin", "old").build();
        Path rootfs = imported(base, upper);
        assertTrue(Files.isSymbolicLink(rootfs.resolve("bin")), "the symlink stays a symlink");
        assertEquals("tool", Files.readString(rootfs.resolve("usr/bin/tool")));
        assertFalse(Files.exists(rootfs.resolve("usr/bin/old")), "the whiteout went through the symlink too");
    }

    @Test
    void symlinkLoopInAParentIsRejected() throws Exception {
        InvalidImageException e = rejected(TestImages.tar()
                .symlink("a", "b").symlink("b", "a").file("a/f", "x").build());
        assertTrue(e.getMessage().contains("symlink loop"), e.getMessage());
    }

    @Test
    void symlinkPlantedInLowerLayerIsResolvedInsideTheRootfs() throws Exception {
        byte[] lower = TestImages.tar().symlink("evil", sentinel.toString()).build();
        byte[] upper = TestImages.tar().dir("evil/sub/").file("evil/sub/pwned", "x").build();
        // the dir entry "evil/" is not in upper, but "evil/sub/" has "evil" as a parent: resolved in the rootfs
        Path rootfs = imported(lower, upper);
        assertEquals("x", Files.readString(inRootfs(rootfs, sentinel).resolve("sub/pwned")));
    }

    @Test
    void directoryEntryReplacesSymlinkInsteadOfFollowingIt() throws Exception {
        byte[] lower = TestImages.tar().symlink("evil", sentinel.toString()).build();
        byte[] upper = TestImages.tar().dir("evil/").file("evil/inside", "x").build();
        Path rootfs = imported(lower, upper);
        assertTrue(Files.isDirectory(rootfs.resolve("evil"), java.nio.file.LinkOption.NOFOLLOW_LINKS));
        assertEquals("x", Files.readString(rootfs.resolve("evil/inside")));
    }

    @Test
    void fileReplacesSymlinkInsteadOfWritingThroughIt() throws Exception {
        Path target = sentinel.resolve("target");
        byte[] tar = TestImages.tar()
                .symlink("f", target.toString())
                .file("f", "replaced")
                .build();
        Path rootfs = imported(tar);
        assertFalse(Files.isSymbolicLink(rootfs.resolve("f")));
        assertEquals("replaced", Files.readString(rootfs.resolve("f")));
        assertFalse(Files.exists(target));
    }

    @Test
    void symlinksAreCreatedVerbatim() throws Exception {
        Path rootfs = imported(TestImages.tar()
                .symlink("abs", "/etc/shadow")
                .symlink("rel", "../../../../../../etc")
                .build());
        assertEquals(Path.of("/etc/shadow"), Files.readSymbolicLink(rootfs.resolve("abs")));
        assertEquals(Path.of("../../../../../../etc"), Files.readSymbolicLink(rootfs.resolve("rel")));
    }

    @Test
    void hardlinkEscapesAreRejected() throws Exception {
        InvalidImageException e = rejected(TestImages.tar().hardlink("h", "../../../../../secret").build());
        assertTrue(e.getMessage().contains("climbs out"), e.getMessage());
        e = rejected(TestImages.tar().hardlink("h", "/etc/shadow").build());
        assertTrue(e.getMessage().contains("does not exist in the image"), e.getMessage());
        e = rejected(TestImages.tar().hardlink("h", secret.toString()).build());
        assertTrue(e.getMessage().contains("does not exist in the image"), e.getMessage());
        e = rejected(TestImages.tar()
                .symlink("outside", tmp.toString())
                .hardlink("h", "outside/secret")
                .build());
        assertTrue(e.getMessage().contains("a symlink"), e.getMessage());
        e = rejected(TestImages.tar().dir("d/").hardlink("h", "d").build());
        assertTrue(e.getMessage().contains("is a directory"), e.getMessage());
    }

    @Test
    void hardlinksInsideTheTreeWork() throws Exception {
        Path rootfs = imported(TestImages.tar()
                .dir("etc/")
                .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")
                .hardlink("etc/passwd-", "/etc/passwd")
                .symlink("link", "etc/passwd")
                .hardlink("link2", "link")
                .build());
        assertEquals(Files.getAttribute(rootfs.resolve("etc/passwd"), "unix:ino"),
                Files.getAttribute(rootfs.resolve("etc/passwd-"), "unix:ino"));
        assertEquals(2, (int) Files.getAttribute(rootfs.resolve("etc/passwd"), "unix:nlink"));
        assertTrue(Files.isSymbolicLink(rootfs.resolve("link2")), "hardlink to a symlink links the symlink itself");
    }

    @Test
    void overlongNamesAreRejected() throws Exception {
        String longName = "d/".repeat(2100) + "f";
        InvalidImageException e = rejected(TestImages.tar().file(longName, "x").build());
        assertTrue(e.getMessage().contains("longer than 4096"), e.getMessage());
        TarArchiveEntry sym = new TarArchiveEntry("s", TarConstants.LF_SYMLINK, true);
        sym.setLinkName("t".repeat(5000));
        rejected(TestImages.tar().raw(sym, null).build());
    }

    @Test
    void oversizedPaxHeaderIsRejected() throws Exception {
        byte[] header = paxRecord("comment", "x".repeat(2 * 1024 * 1024));
        TarArchiveEntry pax = new TarArchiveEntry("PaxHeaders/f", TarConstants.LF_PAX_EXTENDED_HEADER_LC, true);
        pax.setSize(header.length);
        byte[] tar = TestImages.tar().raw(pax, header).file("f", "x").build();
        InvalidImageException e = rejected(tar);
        assertTrue(e.getMessage().contains("larger than"), e.getMessage());
    }

    @Test
    void longChainOfPaxHeadersIsRejected() throws Exception {
        TestImages.TarBuilder t = TestImages.tar();
        for (int i = 0; i < 50; i++) {
            byte[] header = paxRecord("comment", "c" + i);
            TarArchiveEntry pax = new TarArchiveEntry("PaxHeaders/" + i, TarConstants.LF_PAX_EXTENDED_HEADER_LC, true);
            pax.setSize(header.length);
            t.raw(pax, header);
        }
        InvalidImageException e = rejected(t.file("f", "x").build());
        assertTrue(e.getMessage().contains("consecutive"), e.getMessage());
    }

    @Test
    void truncatedLayerIsRejected() throws Exception {
        byte[] tar = TestImages.tar().file("f", "x".repeat(10_000)).build();
        rejected(java.util.Arrays.copyOf(tar, 3000));
    }

    @Test
    void nonDirectoryParentIsRejected() throws Exception {
        InvalidImageException e = rejected(TestImages.tar().file("f", "x").file("f/g", "y").build());
        assertTrue(e.getMessage().contains("not a directory"), e.getMessage());
    }

    @Test
    void whiteoutThroughSymlinkNeverTouchesTheHost() throws Exception {
        Files.writeString(sentinel.resolve("keep"), "k");
        try {
            byte[] lower = TestImages.tar().symlink("evil", sentinel.toString()).build();
            byte[] upper = TestImages.tar().whiteout("evil", "keep").build();
            imported(lower, upper);
            byte[] opaque = TestImages.tar().opaque("evil").build();
            imported(lower, opaque);
            assertTrue(Files.exists(sentinel.resolve("keep")));
        } finally {
            Files.delete(sentinel.resolve("keep"));
        }
    }

    private static byte[] paxRecord(String key, String value) {
        String body = " " + key + "=" + value + "\n";
        int len = body.length();
        int digits = Integer.toString(len).length();
        while (Integer.toString(len + digits).length() != digits) {
            digits++;
        }
        return ((len + digits) + body).getBytes(StandardCharsets.UTF_8);
    }
}
