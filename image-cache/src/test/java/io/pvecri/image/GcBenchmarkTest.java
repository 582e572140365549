package io.pvecri.image;

import io.pvecri.image.testing.TestImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The image GC figures of docs/benchmarks.md: wall time of one manual run that removes N images
 * from a store on the temp dir's filesystem (each image: one gzip layer of 200 files of 4 KiB
 * and one of 1 MiB, random bytes), and of the pure policy planning over 10,000 images. Off by
 * default; run with {@code ./mvnw -pl image-cache test -Dtest=GcBenchmarkTest -Dpvecri.bench=true}
 * ({@code -Dpvecri.bench.dir=DIR} puts the store under DIR, e.g. a tmpfs; {@code -Dpvecri.bench.images=N}).
 */
@EnabledIfSystemProperty(named = "pvecri.bench", matches = "true")
class GcBenchmarkTest {

    static final int IMAGES = Integer.getInteger("pvecri.bench.images", 100);

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 20, unit = TimeUnit.MINUTES)
    void collectManyImages() throws Exception {
        Random random = new Random(7);
        String dir = System.getProperty("pvecri.bench.dir"); // e.g. a tmpfs, to leave the disk out
        Path root = dir == null ? tmp.resolve("store") : Path.of(dir).resolve("gc-bench-store");
        try (ImageStore store = ImageStore.open(root)) {
            for (int i = 0; i < IMAGES; i++) {
                TestImages.TarBuilder t = TestImages.tar().dir("data/");
                for (int f = 0; f < 200; f++) {
                    byte[] b = new byte[4096];
                    random.nextBytes(b);
                    t.file("data/f" + f, b, 0644, 0, 0);
                }
                byte[] big = new byte[1 << 20];
                random.nextBytes(big);
                t.file("data/big", big, 0644, 0, 0);
                Path src = TestImages.layout(tmp.resolve("src"), "bench" + i + ":1", List.of(t.build()),
                        TestImages.ImageConfigJson.defaults());
                store.importImage(src, Optional.empty());
                // the source layout is reused for the next image
                java.nio.file.Files.walk(src).sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
            long storeBytes = store.usage().usedBytes();
            Posix.syncfs(root); // the imports' writeback is not part of the collection
            ImageGc gc = new ImageGc(store, GcConfig.defaults(), DiskUsageSource.of(store.root()), GcListener.NONE);
            GcResult r = gc.collectNow(OptionalInt.of(0), false);
            assertEquals(IMAGES, r.removed().size());
            System.out.printf("GC bench: removed %d images (%d MB, %d files each) from %s in %d ms (%.1f ms/image)%n",
                    IMAGES, storeBytes / 1_000_000, 201, java.nio.file.Files.getFileStore(root).type(), r.elapsed().toMillis(),
                    r.elapsed().toMillis() / (double) IMAGES);

            // baseline in the same run: `rm -rf` of as many trees of the same files, written and synced the same way
            Path trees = java.nio.file.Files.createDirectories(root.resolve("tmp").resolve("rm-baseline"));
            for (int i = 0; i < IMAGES; i++) {
                Path d = java.nio.file.Files.createDirectories(trees.resolve("t" + i).resolve("data"));
                for (int f = 0; f < 200; f++) {
                    byte[] b = new byte[4096];
                    random.nextBytes(b);
                    java.nio.file.Files.write(d.resolve("f" + f), b);
                }
                byte[] big = new byte[1 << 20];
                random.nextBytes(big);
                java.nio.file.Files.write(d.resolve("big"), big);
            }
            Posix.syncfs(root);
            long s = System.nanoTime();
            Process rm = new ProcessBuilder("rm", "-rf", trees.toString()).inheritIO().start();
            assertEquals(0, rm.waitFor());
            long rmMs = (System.nanoTime() - s) / 1_000_000;
            System.out.printf("GC bench: rm -rf of %d such trees in the same run: %d ms (%.1f ms/tree)%n",
                    IMAGES, rmMs, rmMs / (double) IMAGES);
        } finally {
            if (dir != null) {
                FileTrees.deleteRecursively(root);
            }
        }

        List<GcCandidate> many = new ArrayList<>();
        Instant t0 = Instant.parse("2025-01-01T00:00:00Z");
        for (int i = 0; i < 10_000; i++) {
            many.add(new GcCandidate("sha256:" + i, i % 7 != 0, false, i % 5 == 0 ? 1 : 0, false,
                    t0.plusSeconds(random.nextInt(100_000)), random.nextInt(1 << 30),
                    Map.of("sha256:base" + (i % 50), 1_000_000L, "sha256:own" + i, (long) random.nextInt(1 << 28))));
        }
        long[] ns = new long[21];
        for (int round = 0; round < ns.length; round++) {
            long s = System.nanoTime();
            GcPolicy.plan(many, Long.MAX_VALUE / 2, true);
            ns[round] = System.nanoTime() - s;
        }
        Arrays.sort(ns);
        System.out.printf("GC bench: planning over 10000 images: median %.1f ms%n", ns[ns.length / 2] / 1e6);
    }
}
