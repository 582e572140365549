package io.pvecri.image;

import io.pvecri.image.testing.TestImages;
import io.pvecri.image.testing.TestImages.ImageConfigJson;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ConcurrencyTest {

    @TempDir
    Path tmp;

    @Test
    void concurrentImportsOfSameAndDifferentImages() throws Exception {
        byte[] base = TestImages.tar().file("base", "shared").build();
        List<Path> layouts = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            byte[] own = TestImages.tar().file("own", "image " + i).build();
            layouts.add(TestImages.layout(tmp.resolve("l" + i), "pve-cri.test/img" + i + ":1", List.of(base, own),
                    ImageConfigJson.defaults()));
        }
        try (ImageStore store = ImageStore.open(tmp.resolve("store"));
             ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<Future<List<ImageRecord>>> futures = new ArrayList<>();
            for (int round = 0; round < 3; round++) {
                for (Path l : layouts) {
                    futures.add(pool.submit(() -> store.importImage(l, Optional.empty())));
                }
            }
            for (Future<List<ImageRecord>> f : futures) {
                f.get();
            }
            assertEquals(4, store.list().size());
            for (int i = 0; i < 4; i++) {
                ImageRecord r = store.resolve("pve-cri.test/img" + i + ":1").orElseThrow();
                assertEquals("image " + i, Files.readString(store.rootfs(r.id()).resolve("own")));
            }
            assertEquals(List.of(), StoreAssertions.children(store.root().resolve("tmp")));
            assertEquals(1 + 4 * 3, StoreAssertions.children(store.root().resolve("blobs/sha256")).size());
        }
    }
}
