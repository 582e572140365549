package io.pvecri.image;

import io.pvecri.image.testing.TestImages;
import io.pvecri.image.testing.TestImages.ImageConfigJson;
import io.pvecri.image.testing.TestImages.Layer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class IntegrityTest {

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

    private InvalidImageException rejected(Path source) {
        return assertThrows(InvalidImageException.class, () -> store.importImage(source, Optional.empty()));
    }

    private static void flipByte(Path file, int offsetFromEnd) throws Exception {
        byte[] b = Files.readAllBytes(file);
        b[b.length - offsetFromEnd] ^= 0x01;
        Files.write(file, b);
    }

    @Test
    void corruptLayerBlobIsRejectedAndNothingIsLeft() throws Exception {
        Path layout = TestImages.busyboxLayout(tmp.resolve("bb"), "busybox:corrupt");
        TestImages.LayoutInfo info = TestImages.inspect(layout);
        flipByte(TestImages.blobPath(layout, info.layerDigests().getFirst()), 100);

        InvalidImageException e = rejected(layout);
        assertTrue(e.getMessage().contains("does not match its digest " + info.layerDigests().getFirst()), e.getMessage());
        assertTrue(e.getMessage().contains("layer 1/1"), e.getMessage());
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void corruptBlobInsideOciArchiveIsRejected() throws Exception {
        Path layout = TestImages.busyboxLayout(tmp.resolve("bb"), "busybox:corrupt");
        flipByte(TestImages.blobPath(layout, TestImages.inspect(layout).layerDigests().getFirst()), 5000);
        Path tar = TestImages.ociArchive(tmp.resolve("bb.tar"), layout);
        rejected(tar);
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void corruptDockerArchiveLayerIsRejectedByDiffId() throws Exception {
        Path tar = TestImages.busyboxDockerArchive(tmp.resolve("d.tar"), "busybox:d");
        // flip a byte inside the busybox binary in layer.tar: the archive stays a valid tar
        byte[] b = Files.readAllBytes(tar);
        byte[] needle = Files.readAllBytes(Path.of(TestImages.BUSYBOX_BINARY));
        int at = indexOf(b, java.util.Arrays.copyOfRange(needle, 4096, 4096 + 64));
        assertTrue(at > 0);
        b[at] ^= 0x01;
        Files.write(tar, b);
        InvalidImageException e = rejected(tar);
        assertTrue(e.getMessage().contains("DiffID"), e.getMessage());
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void sizeMismatchIsRejected() throws Exception {
        Path layout = TestImages.busyboxLayout(tmp.resolve("bb"), null);
        Path blob = TestImages.blobPath(layout, TestImages.inspect(layout).layerDigests().getFirst());
        Files.write(blob, new byte[]{1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);
        InvalidImageException e = rejected(layout);
        assertTrue(e.getMessage().contains("size mismatch"), e.getMessage());
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void diffIdMismatchIsRejected() throws Exception {
        byte[] tar = TestImages.tar().file("a", "a").build();
        Layer lying = Layer.gzip(tar).withDiffId(TestImages.sha256("something else".getBytes(StandardCharsets.UTF_8)));
        Path layout = TestImages.layoutWithLayers(tmp.resolve("l"), "x:y", List.of(lying), ImageConfigJson.defaults());
        InvalidImageException e = rejected(layout);
        assertTrue(e.getMessage().contains("rootfs.diff_ids[0]"), e.getMessage());
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void secondLayerFailureRemovesBlobsOfFirstLayer() throws Exception {
        Layer good = Layer.gzip(TestImages.tar().file("a", "a").build());
        Layer bad = Layer.gzip(TestImages.tar().file("../escape", "x").build());
        Path layout = TestImages.layoutWithLayers(tmp.resolve("l"), "x:y", List.of(good, bad), ImageConfigJson.defaults());
        rejected(layout);
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void failedImportKeepsBlobsOfExistingImages() throws Exception {
        byte[] shared = TestImages.tar().file("shared", "s").build();
        store.importImage(TestImages.layout(tmp.resolve("ok"), "ok:1", List.of(shared), ImageConfigJson.defaults()),
                Optional.empty());
        List<String> blobsBefore = StoreAssertions.children(store.root().resolve("blobs/sha256"));
        Layer bad = Layer.gzip(TestImages.tar().file("/../x", "x").build());
        Path layout = TestImages.layoutWithLayers(tmp.resolve("l"), "bad:1", List.of(Layer.gzip(shared), bad),
                ImageConfigJson.defaults().withCmd(List.of("other")));
        rejected(layout);
        assertEquals(blobsBefore, StoreAssertions.children(store.root().resolve("blobs/sha256")));
        assertEquals(1, store.list().size());
        assertEquals(List.of(), StoreAssertions.children(store.root().resolve("tmp")));
    }

    @Test
    void uncompressedLayersAreAccepted() throws Exception {
        byte[] tar = TestImages.tar().dir("d/").file("d/f", "plain").build();
        Path layout = TestImages.layoutWithLayers(tmp.resolve("l"), "plain:1", List.of(Layer.uncompressed(tar)),
                ImageConfigJson.defaults());
        ImageRecord r = store.importImage(layout, Optional.empty()).getFirst();
        assertEquals("plain", Files.readString(store.rootfs(r.id()).resolve("d/f")));
    }

    @Test
    void compressionIsDetectedByMagicNotMediaType() throws Exception {
        byte[] tar = TestImages.tar().file("f", "gz").build();
        Layer mislabelled = Layer.gzip(tar).withMediaType(TestImages.OCI_LAYER);
        Path layout = TestImages.layoutWithLayers(tmp.resolve("l"), "m:1", List.of(mislabelled), ImageConfigJson.defaults());
        ImageRecord r = store.importImage(layout, Optional.empty()).getFirst();
        assertEquals("gz", Files.readString(store.rootfs(r.id()).resolve("f")));
    }

    @Test
    void zstdLayersImportAndCorruptZstdIsRejected() throws Exception {
        byte[] tar = TestImages.tar().dir("z/").file("z/f", "zstd ".repeat(10_000)).build();
        Layer zstd = io.pvecri.image.testing.RegistryImage.zstd(tar);
        List<Layer> layers = new ArrayList<>(List.of(zstd));
        java.nio.file.Path cli = java.nio.file.Path.of("/usr/bin/zstd");
        if (Files.isExecutable(cli)) {
            // the reference implementation's output: two frames with checksums, as `zstd` writes them
            byte[] second = TestImages.tar().file("cli", "from the zstd command ".repeat(5000)).build();
            Path in = Files.write(tmp.resolve("layer.tar"), second);
            Process p = new ProcessBuilder(cli.toString(), "-q", "-19", "--check", "-f", in.toString(), "-o",
                    tmp.resolve("layer.tar.zst").toString()).inheritIO().start();
            assertEquals(0, p.waitFor());
            byte[] frames = Files.readAllBytes(tmp.resolve("layer.tar.zst"));
            byte[] twice = new byte[frames.length * 2];
            System.arraycopy(frames, 0, twice, 0, frames.length);
            System.arraycopy(frames, 0, twice, frames.length, frames.length);
            byte[] tarTwice = new byte[second.length * 2];
            System.arraycopy(second, 0, tarTwice, 0, second.length);
            System.arraycopy(second, 0, tarTwice, second.length, second.length);
            // a tar stream followed by a second copy: the reader stops at the first end-of-archive,
            // and the DiffID covers all uncompressed bytes
            layers.add(new Layer(twice, TestImages.OCI_LAYER_ZSTD, TestImages.sha256(tarTwice)));
        }
        ImageRecord r = store.importImage(TestImages.layoutWithLayers(tmp.resolve("ok"), "z:1", layers,
                ImageConfigJson.defaults()), Optional.empty()).getFirst();
        assertEquals("zstd ".repeat(10_000), Files.readString(store.rootfs(r.id()).resolve("z/f")));

        byte[] broken = zstd.blob().clone();
        broken[broken.length / 2] ^= 0x5a;
        Layer corrupt = new Layer(broken, TestImages.OCI_LAYER_ZSTD, zstd.diffId());
        InvalidImageException e = rejected(TestImages.layoutWithLayers(tmp.resolve("bad"), "zbad:1", List.of(corrupt),
                ImageConfigJson.defaults()));
        assertTrue(e.getMessage().contains("zstd") || e.getMessage().contains("DiffID"), e.getMessage());

        byte[] bzip2 = {'B', 'Z', 'h', '9', 0, 0};
        e = rejected(TestImages.layoutWithLayers(tmp.resolve("bz"), "bz:1",
                List.of(new Layer(bzip2, TestImages.OCI_LAYER, TestImages.sha256(new byte[0]))), ImageConfigJson.defaults()));
        assertTrue(e.getMessage().contains("bzip2"), e.getMessage());
    }

    @Test
    void missingBlobIsRejected() throws Exception {
        Path layout = TestImages.busyboxLayout(tmp.resolve("bb"), null);
        Files.delete(TestImages.blobPath(layout, TestImages.inspect(layout).layerDigests().getFirst()));
        InvalidImageException e = rejected(layout);
        assertTrue(e.getMessage().contains("not in the archive"), e.getMessage());
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void notAnImageIsRejected() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        InvalidImageException e = rejected(empty);
        assertTrue(e.getMessage().contains("neither an OCI image layout"), e.getMessage());
        Path garbage = Files.writeString(tmp.resolve("garbage.tar"), "this is not a tar file at all".repeat(40));
        rejected(garbage);
        assertThrows(InvalidImageException.class, () -> store.importImage(tmp.resolve("missing"), Optional.empty()));
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void malformedAndOversizedJsonIsRejected() throws Exception {
        Path layout = TestImages.busyboxLayout(tmp.resolve("bb"), null);
        Files.writeString(layout.resolve("index.json"), "{\"manifests\": [");
        assertTrue(rejected(layout).getMessage().contains("index.json"));

        Files.write(layout.resolve("index.json"), new byte[5 * 1024 * 1024]);
        assertTrue(rejected(layout).getMessage().contains("bytes allowed"));

        Files.writeString(layout.resolve("index.json"),
                "{\"schemaVersion\":2,\"manifests\":[],\"manifests\":[]}");
        assertTrue(rejected(layout).getMessage().contains("Duplicate field"));
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void tooManyLayersIsRejected() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("many"));
        byte[] config = ImageConfigJson.defaults().toJson(List.of());
        String configDigest = TestImages.writeBlob(dir, config);
        List<Object> layers = new ArrayList<>();
        for (int i = 0; i < 1001; i++) {
            layers.add(TestImages.descriptor(TestImages.OCI_LAYER_GZIP, "sha256:" + "0".repeat(64), 1, null));
        }
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", TestImages.OCI_MANIFEST);
        manifest.put("config", TestImages.descriptor(TestImages.OCI_CONFIG, configDigest, config.length, null));
        manifest.put("layers", layers);
        byte[] m = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(manifest);
        TestImages.writeIndex(dir, List.of(TestImages.descriptor(TestImages.OCI_MANIFEST, TestImages.writeBlob(dir, m),
                m.length, null)));
        assertTrue(rejected(dir).getMessage().contains("1001 layers"));
    }

    @Test
    void artifactIsNotAnImage() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("artifact"));
        byte[] config = "{}".getBytes(StandardCharsets.UTF_8);
        String configDigest = TestImages.writeBlob(dir, config);
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("schemaVersion", 2);
        manifest.put("mediaType", TestImages.OCI_MANIFEST);
        manifest.put("config", TestImages.descriptor("application/vnd.cncf.helm.config.v1+json", configDigest,
                config.length, null));
        manifest.put("layers", List.of());
        byte[] m = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(manifest);
        TestImages.writeIndex(dir, List.of(TestImages.descriptor(TestImages.OCI_MANIFEST, TestImages.writeBlob(dir, m),
                m.length, null)));
        assertTrue(rejected(dir).getMessage().contains("not a container image config"));
    }

    @Test
    void multiPlatformIndexSelectsHostPlatform() throws Exception {
        Path dir = tmp.resolve("multi");
        byte[] amd = TestImages.tar().file("arch", "amd64").build();
        byte[] arm = TestImages.tar().file("arch", "arm64").build();
        TestImages.layout(tmp.resolve("amd"), null, List.of(amd), ImageConfigJson.defaults());
        TestImages.layout(tmp.resolve("arm"), null, List.of(arm), ImageConfigJson.defaults().withArchitecture("arm64"));
        Files.createDirectories(dir.resolve("blobs/sha256"));
        List<Object> platformManifests = new ArrayList<>();
        for (String p : List.of("arm", "amd")) {
            try (var files = Files.list(tmp.resolve(p).resolve("blobs/sha256"))) {
                for (Path f : files.toList()) {
                    Files.copy(f, dir.resolve("blobs/sha256").resolve(f.getFileName()));
                }
            }
            TestImages.LayoutInfo info = TestImages.inspect(tmp.resolve(p));
            Map<String, Object> d = TestImages.descriptor(TestImages.OCI_MANIFEST, info.manifestDigest(),
                    Files.size(TestImages.blobPath(dir, info.manifestDigest())), null);
            d.put("platform", Map.of("os", "linux", "architecture", p.equals("amd") ? "amd64" : "arm64"));
            platformManifests.add(d);
        }
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("schemaVersion", 2);
        index.put("mediaType", TestImages.OCI_INDEX);
        index.put("manifests", platformManifests);
        byte[] indexBytes = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(index);
        String indexDigest = TestImages.writeBlob(dir, indexBytes);
        TestImages.writeIndex(dir, List.of(TestImages.descriptor(TestImages.OCI_INDEX, indexDigest, indexBytes.length,
                Map.of(TestImages.REF_NAME, "pve-cri.test/multi:1"))));

        org.junit.jupiter.api.Assumptions.assumeTrue(HostPlatform.ARCHITECTURE.equals("amd64"));
        ImageRecord r = store.importImage(dir, Optional.empty()).getFirst();
        assertEquals("amd64", Files.readString(store.rootfs(r.id()).resolve("arch")));
        assertEquals("linux/amd64", r.platform());
        assertEquals(List.of("pve-cri.test/multi@" + indexDigest), r.repoDigests(), "repo digest pins the index");
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
