package io.pvecri.image;

import io.pvecri.image.testing.TestImages;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImportFormsTest {

    @TempDir
    Path tmp;
    ImageStore store;
    TestImages.LayoutInfo busybox;

    @BeforeEach
    void open() throws Exception {
        store = ImageStore.open(tmp.resolve("store"));
        busybox = TestImages.busyboxInfo(tmp);
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void importsOciLayoutDirectory() throws Exception {
        Path layout = TestImages.busyboxLayout(tmp.resolve("layout"), "docker.io/library/busybox:test");
        List<ImageRecord> imported = store.importImage(layout, Optional.empty());

        assertEquals(1, imported.size());
        ImageRecord r = imported.getFirst();
        assertEquals(busybox.imageId(), r.id());
        assertEquals(List.of("docker.io/library/busybox:test"), r.repoTags());
        assertEquals(List.of("docker.io/library/busybox@" + busybox.manifestDigest()), r.repoDigests());
        assertEquals("linux/amd64", r.platform());
        assertEquals(List.of("sh"), r.config().cmd());
        assertEquals(List.of(TestImages.DEFAULT_PATH), r.config().env());
        assertEquals(0, r.references());
        long expectedSize = Files.size(TestImages.blobPath(layout, busybox.configDigest()))
                + Files.size(TestImages.blobPath(layout, busybox.layerDigests().getFirst()));
        assertEquals(expectedSize, r.size());
        assertBusyboxRootfs(store.rootfs(r.id()));
        assertTrue(Files.exists(layout.resolve("index.json")), "source layout is left alone");
        assertEquals(List.of(), StoreAssertions.children(store.root().resolve("tmp")));
    }

    @Test
    void importsOciArchive() throws Exception {
        Path tar = TestImages.busyboxOciArchive(tmp.resolve("busybox-oci.tar"), "docker.io/library/busybox:oci");
        ImageRecord r = store.importImage(tar, Optional.empty()).getFirst();
        assertEquals(busybox.imageId(), r.id());
        assertEquals(List.of("docker.io/library/busybox:oci"), r.repoTags());
        assertEquals(List.of("docker.io/library/busybox@" + busybox.manifestDigest()), r.repoDigests());
        assertBusyboxRootfs(store.rootfs(r.id()));
    }

    @Test
    void importsGzippedOciArchive() throws Exception {
        Path tar = TestImages.busyboxOciArchive(tmp.resolve("busybox-oci.tar"), "busybox:gz");
        Path gz = Files.write(tmp.resolve("busybox-oci.tar.gz"), TestImages.gzip(Files.readAllBytes(tar)));
        ImageRecord r = store.importImage(gz, Optional.empty()).getFirst();
        assertEquals(List.of("docker.io/library/busybox:gz"), r.repoTags());
    }

    @Test
    void importsClassicDockerArchive() throws Exception {
        Path tar = TestImages.busyboxDockerArchive(tmp.resolve("busybox-docker.tar"), "busybox:docker");
        ImageRecord r = store.importImage(tar, Optional.empty()).getFirst();
        assertEquals(busybox.imageId(), r.id(), "same config, same image id in every form");
        assertEquals(List.of("docker.io/library/busybox:docker"), r.repoTags());
        assertEquals(1, r.repoDigests().size());
        assertTrue(r.repoDigests().getFirst().startsWith("docker.io/library/busybox@sha256:"));
        assertEquals(TestImages.busyboxLayerTar().length + configSize(), r.size(), "uncompressed layer.tar + config");
        assertBusyboxRootfs(store.rootfs(r.id()));

        // the synthesised manifest is deterministic: a re-import gives the same repo digest
        ImageRecord again = store.importImage(tar, Optional.empty()).getFirst();
        assertEquals(r.repoDigests(), again.repoDigests());
    }

    @Test
    void importsDockerArchiveInOciShape() throws Exception {
        Path tar = TestImages.busyboxDockerArchiveOciStyle(tmp.resolve("busybox-docker25.tar"), "busybox:d25");
        ImageRecord r = store.importImage(tar, Optional.empty()).getFirst();
        assertEquals(busybox.imageId(), r.id());
        assertEquals(List.of("docker.io/library/busybox:d25"), r.repoTags());
        assertBusyboxRootfs(store.rootfs(r.id()));
    }

    @Test
    void allFormsShareOneImageAndRootfs() throws Exception {
        store.importImage(TestImages.busyboxLayout(tmp.resolve("l"), "busybox:a"), Optional.empty());
        store.importImage(TestImages.busyboxOciArchive(tmp.resolve("o.tar"), "busybox:b"), Optional.empty());
        store.importImage(TestImages.busyboxDockerArchive(tmp.resolve("d.tar"), "busybox:c"), Optional.empty());
        assertEquals(1, store.list().size());
        ImageRecord r = store.list().getFirst();
        assertEquals(List.of("docker.io/library/busybox:a", "docker.io/library/busybox:b",
                "docker.io/library/busybox:c"), r.repoTags());
        assertEquals(2, r.repoDigests().size(), "OCI manifest digest and synthesised docker manifest digest");
        assertEquals(List.of(busybox.imageId().substring(7)), StoreAssertions.children(store.root().resolve("images")));
    }

    @Test
    void configFieldsAreMapped() throws Exception {
        TestImages.ImageConfigJson cfg = TestImages.ImageConfigJson.defaults()
                .withEntrypoint(List.of("/bin/sh", "-c"))
                .withCmd(List.of("echo hi"))
                .withEnv(List.of("A=1", "B=2"))
                .withWorkingDir("/srv")
                .withUser("1000:1000")
                .withStopSignal("SIGINT")
                .withLabels(java.util.Map.of("org.example.a", "1", "org.example.b", "2"))
                .withExposedPorts(List.of("8080/tcp", "53/udp"))
                .withVolumes(List.of("/data"));
        Path dir = TestImages.layout(tmp.resolve("cfg"), "cfg:1", List.of(TestImages.tar().dir("srv/").build()), cfg);
        ImageConfig c = store.importImage(dir, Optional.empty()).getFirst().config();
        assertEquals(new ImageConfig(List.of("/bin/sh", "-c"), List.of("echo hi"), List.of("A=1", "B=2"), "/srv",
                "1000:1000", "SIGINT", java.util.Map.of("org.example.a", "1", "org.example.b", "2"),
                List.of("53/udp", "8080/tcp"), List.of("/data")), c);
    }

    @Test
    void usageCountsRootfsAndBlobs() throws Exception {
        FsUsage empty = store.usage();
        store.importImage(TestImages.busyboxLayout(tmp.resolve("l"), "busybox:a"), Optional.empty());
        FsUsage used = store.usage();
        assertEquals(store.root(), used.mountpoint());
        long busyboxBytes = Files.size(Path.of(TestImages.BUSYBOX_BINARY));
        assertTrue(used.usedBytes() > empty.usedBytes() + busyboxBytes, used + " vs " + empty);
        assertTrue(used.inodesUsed() > empty.inodesUsed() + TestImages.busyboxApplets().size(), used.toString());
    }

    private long configSize() throws Exception {
        Path dir = TestImages.busyboxLayout(tmp.resolve("cfg"), null);
        return Files.size(TestImages.blobPath(dir, busybox.configDigest()));
    }

    static void assertBusyboxRootfs(Path rootfs) throws Exception {
        Path bin = rootfs.resolve("bin/busybox");
        assertArrayEquals(Files.readAllBytes(Path.of(TestImages.BUSYBOX_BINARY)), Files.readAllBytes(bin));
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(bin)));
        Path sh = rootfs.resolve("bin/sh");
        assertTrue(Files.isSymbolicLink(sh));
        assertEquals(Path.of("busybox"), Files.readSymbolicLink(sh));
        for (String applet : TestImages.busyboxApplets()) {
            assertTrue(Files.isSymbolicLink(rootfs.resolve("bin").resolve(applet)), applet);
        }
        assertTrue(Files.readString(rootfs.resolve("etc/passwd")).contains("app:x:1000:1000:"));
        assertTrue(Files.isRegularFile(rootfs.resolve("etc/group")));
        assertEquals(01777, (int) Files.getAttribute(rootfs.resolve("tmp"), "unix:mode") & 07777);
        assertEquals(0700, (int) Files.getAttribute(rootfs.resolve("root"), "unix:mode") & 07777);
        assertEquals(1000, (int) Files.getAttribute(rootfs.resolve("home/app"), "unix:uid"));
        assertEquals(TestImages.TIMESTAMP, Files.getLastModifiedTime(rootfs.resolve("etc")).toInstant());
        assertEquals(TestImages.TIMESTAMP,
                Files.getLastModifiedTime(sh, LinkOption.NOFOLLOW_LINKS).toInstant());
        assertFalse(Files.exists(rootfs.resolve(".wh..wh..opq")));
    }
}
