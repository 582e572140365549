package io.pvecri.image;

import io.pvecri.image.testing.LocalRegistry;
import io.pvecri.image.testing.RegistryImage;
import io.pvecri.image.testing.TestImages;
import io.pvecri.image.testing.TestImages.Layer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The pull benchmark of docs/images.md: wall time of a pull of a multi-layer image from a local
 * docker-registry into an empty store (download, verify, unpack) against {@code skopeo copy} of
 * the same image to an OCI layout (download, verify, no unpacking), in the same run. Off by
 * default; run with
 * {@code ./mvnw -pl image-cache test -Dtest=PullBenchmarkTest -Dpvecri.bench=true}.
 */
@EnabledIfSystemProperty(named = "pvecri.bench", matches = "true")
class PullBenchmarkTest {

    static final int LAYERS = Integer.getInteger("pvecri.bench.layers", 8);
    static final int MIB_PER_LAYER = Integer.getInteger("pvecri.bench.mib", 16);
    static final int ROUNDS = Integer.getInteger("pvecri.bench.rounds", 5);

    @TempDir
    Path tmp;

    @Test
    @Timeout(value = 20, unit = TimeUnit.MINUTES)
    void pullVersusSkopeoCopy() throws Exception {
        Random random = new Random(42);
        List<Layer> layers = new ArrayList<>();
        layers.add(Layer.gzip(TestImages.busyboxLayerTar()));
        long uncompressed = TestImages.busyboxLayerTar().length;
        for (int i = 1; i < LAYERS; i++) {
            TestImages.TarBuilder t = TestImages.tar().dir("data/").dir("data/l" + i + "/");
            for (int f = 0; f < 16; f++) {
                byte[] raw = new byte[MIB_PER_LAYER * 1024 * 1024 / 16 * 3 / 4];
                random.nextBytes(raw);
                byte[] text = Base64.getMimeEncoder().encode(raw); // compressible like text, ~4:3
                t.file("data/l" + i + "/f" + f, text, 0644, 0, 0);
                uncompressed += text.length;
            }
            layers.add(Layer.gzip(t.build()));
        }
        RegistryImage image = RegistryImage.oci(layers, TestImages.ImageConfigJson.defaults());
        long compressed = image.blobs().values().stream().mapToLong(b -> b.length).sum();
        try (LocalRegistry registry = LocalRegistry.start()) {
            image.push(registry.authority(), "bench/multi", "1");
            String ref = registry.authority() + "/bench/multi:1";
            // warm-up: JIT of the pull path, page cache of the registry's files
            pullOnce(ref, tmp.resolve("warm"));
            skopeoOnce(ref, tmp.resolve("warm-skopeo"));
            List<Long> pulls = new ArrayList<>();
            List<Long> copies = new ArrayList<>();
            for (int r = 0; r < ROUNDS; r++) {
                pulls.add(pullOnce(ref, tmp.resolve("p" + r)));
                copies.add(skopeoOnce(ref, tmp.resolve("s" + r)));
            }
            long pull = median(pulls);
            long copy = median(copies);
            String report = String.format(java.util.Locale.ROOT,
                    "pull benchmark: %d layers, %.1f MiB compressed, %.1f MiB uncompressed, %d rounds%n"
                            + "  pve-cri pull (download+verify+unpack): median %d ms %s%n"
                            + "  skopeo copy docker:// -> oci: (download+verify): median %d ms %s%n"
                            + "  ratio pull/skopeo: %.2f%n",
                    LAYERS, compressed / 1048576.0, uncompressed / 1048576.0, ROUNDS, pull, pulls, copy, copies,
                    (double) pull / copy);
            System.out.println(report);
            Files.writeString(Path.of("target", "pull-benchmark.txt"), report, StandardCharsets.UTF_8);
        }
    }

    private long pullOnce(String ref, Path root) throws Exception {
        try (ImageStore store = ImageStore.open(root);
             RegistryPuller puller = new RegistryPuller(store, RegistryConfig.defaults(), null)) {
            long t0 = System.nanoTime();
            PullResult r = puller.pull(ref, RegistryAuth.ANONYMOUS);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(LAYERS, r.layersFetched());
            return ms;
        } finally {
            LocalRegistryCleanup.delete(root);
        }
    }

    private long skopeoOnce(String ref, Path dir) throws Exception {
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder("skopeo", "copy", "--quiet", "--src-tls-verify=false",
                "docker://" + ref, "oci:" + dir + ":bench").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        LocalRegistryCleanup.delete(dir);
        return ms;
    }

    private static long median(List<Long> xs) {
        List<Long> s = new ArrayList<>(xs);
        s.sort(null);
        return s.get(s.size() / 2);
    }

    /** Deletes a tree between rounds so that every round starts empty and disk use stays small. */
    static final class LocalRegistryCleanup {
        static void delete(Path dir) throws java.io.IOException {
            if (!Files.exists(dir)) {
                return;
            }
            try (var s = Files.walk(dir)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
