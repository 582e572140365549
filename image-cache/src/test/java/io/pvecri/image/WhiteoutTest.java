package io.pvecri.image;

import io.pvecri.image.testing.TestImages;
import io.pvecri.image.testing.TestImages.ImageConfigJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;

class WhiteoutTest {

    @TempDir
    Path tmp;
    ImageStore store;

    @BeforeEach
    void open() throws Exception {
        store = ImageStore.open(tmp.resolve("store"));
    }

    @AfterEach
    void close() {
        store.close();
    }

    private Path unpack(byte[]... layers) throws Exception {
        Path dir = tmp.resolve("l" + System.nanoTime());
        ImageRecord r = store.importImage(TestImages.layout(dir, null, List.of(layers), ImageConfigJson.defaults()),
                Optional.empty()).getFirst();
        return store.rootfs(r.id());
    }

    private static final byte[] LOWER = TestImages.tar()
            .dir("a/").file("a/keep", "k").file("a/gone", "g").dir("a/gonedir/").file("a/gonedir/x", "x")
            .dir("b/").file("b/old", "o").dir("b/sub/").file("b/sub/deep", "d")
            .dir("c/").file("c/old", "o").dir("c/sub/").file("c/sub/old", "o")
            .file("top", "t")
            .build();

    @Test
    void whiteoutsDeleteLowerEntries() throws Exception {
        byte[] upper = TestImages.tar()
                .whiteout("a", "gone")
                .whiteout("a", "gonedir")
                .whiteout("", "top")
                .whiteout("a", "never-existed")
                .build();
        Path rootfs = unpack(LOWER, upper);
        assertEquals(List.of("a", "a/keep", "b", "b/old", "b/sub", "b/sub/deep", "c", "c/old", "c/sub", "c/sub/old"),
                StoreAssertions.tree(rootfs));
    }

    @Test
    void opaqueDirectoryHidesLowerContentButKeepsThisLayers() throws Exception {
        byte[] upper = TestImages.tar()
                .dir("b/")
                .file("b/new-before-marker", "n")   // same layer, before the marker: kept
                .opaque("b")
                .file("b/new-after-marker", "n")
                .build();
        Path rootfs = unpack(LOWER, upper);
        List<String> tree = StoreAssertions.tree(rootfs).stream().filter(p -> p.startsWith("b")).toList();
        assertEquals(List.of("b", "b/new-after-marker", "b/new-before-marker"), tree);
    }

    @Test
    void opaqueKeepsSubdirectoriesWrittenInTheSameLayerButPrunesTheirLowerContent() throws Exception {
        byte[] upper = TestImages.tar()
                .dir("c/sub/")
                .file("c/sub/new", "n")
                .opaque("c")
                .build();
        Path rootfs = unpack(LOWER, upper);
        List<String> tree = StoreAssertions.tree(rootfs).stream().filter(p -> p.startsWith("c")).toList();
        assertEquals(List.of("c", "c/sub", "c/sub/new"), tree);
    }

    @Test
    void whiteoutOnlyAffectsLowerLayers() throws Exception {
        byte[] upper = TestImages.tar()
                .file("a/fresh", "f")
                .whiteout("a", "fresh")       // same layer: no effect
                .build();
        Path rootfs = unpack(LOWER, upper);
        assertEquals("f", Files.readString(rootfs.resolve("a/fresh")));
    }

    @Test
    void threeLayersReAddAfterWhiteout() throws Exception {
        byte[] second = TestImages.tar().whiteout("a", "keep").opaque("c").build();
        byte[] third = TestImages.tar().file("a/keep", "again").build();
        Path rootfs = unpack(LOWER, second, third);
        assertEquals("again", Files.readString(rootfs.resolve("a/keep")));
        assertEquals(List.of("c"), StoreAssertions.tree(rootfs).stream().filter(p -> p.startsWith("c")).toList());
    }

    @Test
    void fileReplacesDirectoryAndDirectoryReplacesFile() throws Exception {
        byte[] upper = TestImages.tar().file("b", "now a file").dir("top/").file("top/x", "now a dir").build();
        Path rootfs = unpack(LOWER, upper);
        assertEquals("now a file", Files.readString(rootfs.resolve("b")));
        assertEquals("now a dir", Files.readString(rootfs.resolve("top/x")));
    }
}
