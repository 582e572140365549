package io.pvecri.image;

import io.pvecri.image.testing.TestImages;
import io.pvecri.image.testing.TestImages.ImageConfigJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TaggingTest {

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

    private Path smallImage(String dirName, String refName, String content) throws Exception {
        byte[] layer = TestImages.tar().file("hello.txt", content).build();
        return TestImages.layout(tmp.resolve(dirName), refName, List.of(layer), ImageConfigJson.defaults());
    }

    @Test
    void reimportIsIdempotentAndOnlyAddsTags() throws Exception {
        Path a = smallImage("a", "pve-cri.test/app:1", "v1");
        ImageRecord first = store.importImage(a, Optional.empty()).getFirst();
        Instant importedAt = first.importedAt();
        ImageRecord again = store.importImage(a, Optional.empty()).getFirst();
        assertEquals(first, new ImageRecord(again.id(), again.repoTags(), again.repoDigests(), again.size(), again.config(),
                again.platform(), again.references(), first.lastUsed(), again.importedAt()),
                "same record after re-import, but for last used");
        assertTrue(!again.lastUsed().isBefore(first.lastUsed()), "a re-import is a use (garbage collection is LRU)");

        ImageRecord named = store.importImage(a, Optional.of("pve-cri.test/app:stable")).getFirst();
        assertEquals(first.id(), named.id());
        assertEquals(List.of("pve-cri.test/app:1", "pve-cri.test/app:stable"), named.repoTags());
        assertEquals(List.of("pve-cri.test/app@" + TestImages.inspect(a).manifestDigest()), named.repoDigests());
        assertEquals(importedAt, named.importedAt());
        assertEquals(1, store.list().size());
        assertEquals(1, StoreAssertions.children(store.root().resolve("images")).size());
    }

    @Test
    void tagMovesToNewImageAndOldImageKeepsItsOtherTags() throws Exception {
        ImageRecord v1 = store.importImage(smallImage("v1", "pve-cri.test/app:latest", "v1"),
                Optional.of("pve-cri.test/app:v1")).getFirst();
        assertEquals(List.of("pve-cri.test/app:latest", "pve-cri.test/app:v1"), v1.repoTags());

        ImageRecord v2 = store.importImage(smallImage("v2", "pve-cri.test/app:latest", "v2"), Optional.empty())
                .getFirst();
        assertEquals(List.of("pve-cri.test/app:latest"), v2.repoTags());
        ImageRecord old = store.resolve(v1.id()).orElseThrow();
        assertEquals(List.of("pve-cri.test/app:v1"), old.repoTags());
        assertEquals(v2.id(), store.resolve("pve-cri.test/app").orElseThrow().id());

        // moving the last tag leaves the old image untagged but present and resolvable by id
        ImageRecord v3 = store.importImage(smallImage("v3", null, "v3"), Optional.of("pve-cri.test/app:v1"))
                .getFirst();
        assertEquals(List.of("pve-cri.test/app:v1"), v3.repoTags());
        assertEquals(List.of(), store.resolve(v1.id()).orElseThrow().repoTags());
        assertEquals(3, store.list().size());
    }

    @Test
    void shortNameIsNormalisedAndDefaultsToLatest() throws Exception {
        ImageRecord r = store.importImage(smallImage("a", null, "x"), Optional.of("myapp")).getFirst();
        assertEquals(List.of("docker.io/library/myapp:latest"), r.repoTags());
        assertEquals(1, r.repoDigests().size());
        assertTrue(r.repoDigests().getFirst().startsWith("docker.io/library/myapp@sha256:"));
    }

    @Test
    void untaggedImportIsStillListed() throws Exception {
        ImageRecord r = store.importImage(smallImage("a", null, "x"), Optional.empty()).getFirst();
        assertEquals(List.of(), r.repoTags());
        assertEquals(List.of(), r.repoDigests());
        assertEquals(List.of(r), store.list());
    }

    @Test
    void tagOnlyRefNameCombinesWithGivenRepository() throws Exception {
        Path dir = smallImage("a", "1.0", "x");
        ImageRecord withoutName = store.importImage(dir, Optional.empty()).getFirst();
        assertEquals(List.of(), withoutName.repoTags());
        ImageRecord r = store.importImage(dir, Optional.of("reg.local:5000/team/app")).getFirst();
        assertEquals(List.of("reg.local:5000/team/app:1.0", "reg.local:5000/team/app:latest"), r.repoTags());
    }

    @Test
    void archiveWithSeveralImages() throws Exception {
        Path dir = tmp.resolve("multi");
        byte[] l1 = TestImages.tar().file("one", "1").build();
        byte[] l2 = TestImages.tar().file("two", "2").build();
        TestImages.layout(tmp.resolve("m1"), null, List.of(l1), ImageConfigJson.defaults());
        TestImages.layout(tmp.resolve("m2"), null, List.of(l2), ImageConfigJson.defaults());
        Files.createDirectories(dir.resolve("blobs/sha256"));
        List<Object> descriptors = new java.util.ArrayList<>();
        for (String m : List.of("m1", "m2")) {
            try (var files = Files.list(tmp.resolve(m).resolve("blobs/sha256"))) {
                for (Path f : files.toList()) {
                    Files.copy(f, dir.resolve("blobs/sha256").resolve(f.getFileName()));
                }
            }
            TestImages.LayoutInfo info = TestImages.inspect(tmp.resolve(m));
            descriptors.add(TestImages.descriptor(TestImages.OCI_MANIFEST, info.manifestDigest(),
                    Files.size(TestImages.blobPath(dir, info.manifestDigest())),
                    Map.of(TestImages.REF_NAME, "pve-cri.test/" + m + ":1")));
        }
        TestImages.writeIndex(dir, descriptors);
        Path archive = TestImages.ociArchive(tmp.resolve("multi.tar"), dir);

        InvalidImageException e = assertThrows(InvalidImageException.class,
                () -> store.importImage(archive, Optional.of("x:y")));
        assertTrue(e.getMessage().contains("holds 2 images"), e.getMessage());
        StoreAssertions.assertNothingStored(store);

        List<ImageRecord> imported = store.importImage(archive, Optional.empty());
        assertEquals(2, imported.size());
        assertEquals(List.of("pve-cri.test/m1:1"), imported.get(0).repoTags());
        assertEquals(List.of("pve-cri.test/m2:1"), imported.get(1).repoTags());
        assertEquals("1", Files.readString(store.rootfs(imported.get(0).id()).resolve("one")));
        assertEquals("2", Files.readString(store.rootfs(imported.get(1).id()).resolve("two")));
    }

    @Test
    void invalidGivenNameIsRejectedBeforeAnythingIsStored() throws Exception {
        Path dir = smallImage("a", null, "x");
        assertThrows(InvalidImageException.class, () -> store.importImage(dir, Optional.of("Not Valid")));
        InvalidImageException e = assertThrows(InvalidImageException.class,
                () -> store.importImage(dir, Optional.of("app@sha256:" + "a".repeat(64))));
        assertTrue(e.getMessage().contains("must not contain a digest"), e.getMessage());
        StoreAssertions.assertNothingStored(store);
    }
}
