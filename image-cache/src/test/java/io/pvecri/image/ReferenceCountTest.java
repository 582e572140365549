package io.pvecri.image;

import io.pvecri.image.testing.TestImages;
import io.pvecri.image.testing.TestImages.ImageConfigJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ReferenceCountTest {

    @TempDir
    Path tmp;
    MutableClock clock = new MutableClock(Instant.parse("2025-01-01T00:00:00Z"));
    ImageStore store;

    @BeforeEach
    void open() throws Exception {
        store = ImageStore.open(tmp.resolve("store"), clock);
    }

    @AfterEach
    void close() {
        store.close();
    }

    private ImageRecord importSmall(String name, String content, byte[]... sharedLayers) throws Exception {
        List<byte[]> layers = new java.util.ArrayList<>(List.of(sharedLayers));
        layers.add(TestImages.tar().file("own", content).build());
        Path dir = tmp.resolve("l-" + content);
        return store.importImage(TestImages.layout(dir, name, layers, ImageConfigJson.defaults()), Optional.empty())
                .getFirst();
    }

    @Test
    void acquireReleaseAndRemoveInUse() throws Exception {
        ImageRecord r = importSmall("app:1", "a");
        assertEquals(Instant.parse("2025-01-01T00:00:00Z"), r.lastUsed());
        clock.now = Instant.parse("2025-02-01T00:00:00Z");

        ImageRecord acquired = store.acquire(r.id());
        assertEquals(1, acquired.references());
        assertEquals(clock.now, acquired.lastUsed());
        assertEquals(2, store.acquire(r.id().substring(7)).references(), "bare hex id works too");

        ImageInUseException e = assertThrows(ImageInUseException.class, () -> store.remove("app:1"));
        assertEquals(2, e.references());
        assertTrue(e.getMessage().contains(r.id()), e.getMessage());
        assertTrue(Files.isDirectory(store.rootfs(r.id())));

        store.release(r.id());
        store.release(r.id());
        store.release(r.id());
        assertEquals(0, store.resolve(r.id()).orElseThrow().references(), "never below zero");
        store.release("sha256:" + "0".repeat(64));
        store.release("garbage");

        Path rootfs = store.rootfs(r.id());
        ImageRecord removed = store.remove("app:1");
        assertEquals(r.id(), removed.id());
        assertFalse(Files.exists(rootfs));
        assertEquals(Optional.empty(), store.resolve(r.id()));
        assertThrows(ImageNotFoundException.class, () -> store.rootfs(r.id()));
        assertThrows(ImageNotFoundException.class, () -> store.acquire(r.id()));
        assertThrows(ImageNotFoundException.class, () -> store.remove(r.id()));
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void referencesArePersisted() throws Exception {
        ImageRecord r = importSmall("app:1", "a");
        store.acquire(r.id());
        store.acquire(r.id());
        store.close();
        store = ImageStore.open(tmp.resolve("store"), clock);
        assertEquals(2, store.resolve(r.id()).orElseThrow().references());
    }

    @Test
    void reconcileSetsCountsFromContainers() throws Exception {
        ImageRecord a = importSmall("a:1", "a");
        ImageRecord b = importSmall("b:1", "b");
        store.acquire(a.id());
        store.reconcileReferences(Map.of(b.id(), 3, "sha256:" + "0".repeat(64), 1, "bogus", 2));
        assertEquals(0, store.resolve(a.id()).orElseThrow().references());
        assertEquals(3, store.resolve(b.id()).orElseThrow().references());
        store.close();
        store = ImageStore.open(tmp.resolve("store"), clock);
        assertEquals(3, store.resolve(b.id()).orElseThrow().references());
    }

    @Test
    void removeKeepsBlobsSharedWithOtherImages() throws Exception {
        byte[] base = TestImages.tar().dir("base/").file("base/lib", "shared").build();
        ImageRecord a = importSmall("a:1", "a", base);
        ImageRecord b = importSmall("b:1", "b", base);
        Path blobs = store.root().resolve("blobs/sha256");
        String baseBlob = TestImages.sha256(TestImages.gzip(base)).substring(7);
        int before = StoreAssertions.children(blobs).size();
        assertEquals(7, before, "2 x (manifest, config, own layer) + shared base");

        store.remove("a:1");
        List<String> after = StoreAssertions.children(blobs);
        assertEquals(4, after.size());
        assertTrue(after.contains(baseBlob));
        assertEquals("shared", Files.readString(store.rootfs(b.id()).resolve("base/lib")));
        assertEquals(Optional.empty(), store.resolve(a.id()));

        store.remove(b.id());
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void closedStoreRefusesCalls() throws Exception {
        store.close();
        assertThrows(IllegalStateException.class, () -> store.list());
        store.close();
    }

    static final class MutableClock extends Clock {
        Instant now;

        MutableClock(Instant now) {
            this.now = now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
