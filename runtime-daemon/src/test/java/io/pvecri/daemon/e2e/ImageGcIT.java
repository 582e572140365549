package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.image.testing.LocalRegistry;
import io.pvecri.image.testing.RegistryImage;
import io.pvecri.image.testing.TestImages;
import io.pvecri.proto.admin.v1.CollectImageGarbageRequest;
import io.pvecri.proto.admin.v1.CollectImageGarbageResponse;
import io.pvecri.proto.admin.v1.CollectedImage;
import io.pvecri.proto.cri.v1.Image;
import io.pvecri.proto.cri.v1.ImageSpec;
import io.pvecri.proto.cri.v1.ImageStatusRequest;
import io.pvecri.proto.cri.v1.ListImagesRequest;
import io.pvecri.proto.cri.v1.PullImageRequest;
import io.pvecri.proto.cri.v1.RemoveImageRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static io.pvecri.daemon.e2e.GrpcAssertions.assertStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Image garbage collection end to end: a daemon whose image store is a 128 MiB tmpfs (so that the
 * test controls its usage), images pulled from Debian's docker-registry on 127.0.0.1, thresholds
 * 40 % (high) and 35 % (low) checked every second. Tests run in order on one daemon; each one
 * leaves only the busybox image behind.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ImageGcIT {
    private static final long IMAGE_FS_BYTES = 128L << 20;
    private static final int HIGH = 40;
    private static final int LOW = 35;

    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension(() -> Daemon.startWithImageFs("""
            images:
              gc:
                highThresholdPercent: %d
                lowThresholdPercent: %d
                intervalSeconds: 1
            """.formatted(HIGH, LOW), IMAGE_FS_BYTES));

    private static LocalRegistry registry;
    private static String busyboxId;

    @BeforeAll
    static void startRegistry() {
        registry = LocalRegistry.start();
        busyboxId = daemon.busybox().getId();
    }

    @AfterAll
    static void stopRegistry() {
        if (registry != null) {
            registry.close();
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** A runnable image: busybox plus a small layer naming it. */
    private static RegistryImage runnable(String name) throws IOException {
        return RegistryImage.busyboxWith(TestImages.Layer.gzip(TestImages.tar()
                .file("name.txt", name + "\n").build()));
    }

    /** An image of one layer holding {@code bytes} random bytes (its disk use is about twice that). */
    private static RegistryImage sized(int bytes, long seed) {
        byte[] content = new byte[bytes];
        new Random(seed).nextBytes(content);
        return RegistryImage.oci(List.of(TestImages.Layer.gzip(TestImages.tar().file("data.bin", content, 0644, 0, 0).build())),
                TestImages.ImageConfigJson.defaults());
    }

    private static String pull(String ref) {
        return daemon.daemon().images().pullImage(PullImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(ref)).build()).getImageRef();
    }

    private static Set<String> imageIds() {
        return daemon.daemon().images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList().stream()
                .map(Image::getId).collect(Collectors.toSet());
    }

    private static void removeImage(String ref) {
        daemon.daemon().images().removeImage(RemoveImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref)).build());
    }

    private static Path imageFs() {
        return daemon.daemon().stateDir().resolve("images");
    }

    /** Bytes used on the image tmpfs (statvfs), as the daemon measures it. */
    private static long usedBytes() {
        try {
            FileStore fs = Files.getFileStore(imageFs());
            return fs.getTotalSpace() - fs.getUsableSpace();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static double usedPercent() {
        return usedBytes() * 100.0 / IMAGE_FS_BYTES;
    }

    private static PrometheusText metrics() {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://" + daemon.daemon().metricsAddress()
                    + "/metrics")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            return PrometheusText.parse(r.body());
        } catch (Exception e) {
            throw new AssertionError("cannot scrape the daemon's metrics", e);
        }
    }

    private static double metric(String name, String trigger) {
        return metrics().sumOrZero(name, Map.of("trigger", trigger));
    }

    /** A pod with a running busybox container: busybox is referenced while it lives. */
    private static Pod podHoldingBusybox(String name) {
        Pod pod = daemon.pods().run(name);
        pod.start(daemon.pods().sleeper("hold"));
        return pod;
    }

    private static void removePod(Pod pod) {
        pod.stop();
        pod.remove();
    }

    private static void assertOnlyBusyboxLeft() {
        assertEquals(Set.of(busyboxId), imageIds(), "each test leaves only busybox behind");
    }

    // ---- tests --------------------------------------------------------------------------------

    @Test
    @Order(1)
    void aReferencedImageIsNeverRemoved() throws Exception {
        runnable("unused").push(registry.authority(), "e2e/unused", "1");
        String unused = pull(registry.authority() + "/e2e/unused:1");
        Pod pod = podHoldingBusybox("gc-ref");
        try {
            CollectImageGarbageResponse r = daemon.daemon().admin().collectImageGarbage(CollectImageGarbageRequest.newBuilder()
                    .setTargetUsagePercent(0).build());
            assertEquals(List.of(unused), r.getRemovedList().stream().map(CollectedImage::getId).toList(),
                    "target 0 removes every image no container uses, and only those");
            assertTrue(r.getReclaimedBytes() > 0);
            assertEquals(Set.of(busyboxId), imageIds());
            var e = assertStatus(Status.Code.FAILED_PRECONDITION, () -> removeImage(busyboxId));
            assertTrue(e.getStatus().getDescription().contains("in use"), e.getStatus().getDescription());
            assertStatus(Status.Code.INVALID_ARGUMENT, () -> daemon.daemon().admin().collectImageGarbage(
                    CollectImageGarbageRequest.newBuilder().setTargetUsagePercent(101).build()));
        } finally {
            removePod(pod);
        }
        assertTrue(imageIds().contains(busyboxId), "unreferenced again, but tagged: not garbage by itself");
    }

    @Test
    @Order(2)
    void anImageWhoseTagMovedGoesOnceNoContainerUsesIt() throws Exception {
        assertOnlyBusyboxLeft();
        String ref = registry.authority() + "/e2e/moving:1";
        runnable("v1").push(registry.authority(), "e2e/moving", "1");
        String v1 = pull(ref);
        Pod pod = daemon.pods().run("gc-moving");
        var config = daemon.pods().sleeper("app");
        config.setImage(ImageSpec.newBuilder().setImage(ref));
        String container = pod.start(config);

        runnable("v2").push(registry.authority(), "e2e/moving", "1");
        String v2 = pull(ref);
        runnable("v3").push(registry.authority(), "e2e/moving", "1");
        String v3 = pull(ref);
        // v2 lost its tag to v3 and no container uses it: it goes right away (on the GC thread)
        Wait.until("v2 to be collected", Wait.STATE_CHANGE, () -> !imageIds().contains(v2));
        assertEquals(Set.of(busyboxId, v1, v3), imageIds(), "v1 is untagged but a container uses it");
        assertEquals(List.of(), daemon.daemon().images().imageStatus(ImageStatusRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(v1)).build()).getImage().getRepoTagsList());
        assertEquals("v1\n", daemon.pods().execOk(container, "cat", "/name.txt"));

        daemon.pods().stop(container, 0);
        daemon.pods().remove(container);
        Wait.until("v1 to be collected after its last container", Wait.STATE_CHANGE, () -> !imageIds().contains(v1));
        assertEquals(Set.of(busyboxId, v3), imageIds());
        assertTrue(metric("pvecri_image_gc_runs_total", "tag_moved") >= 2);
        assertEquals(2.0, metric("pvecri_image_gc_removed_images_total", "tag_moved"));
        String log = daemon.daemon().log();
        assertTrue(log.contains("image.gc_removed trigger=tag_moved id=" + v2), "per-image log line");
        assertTrue(log.contains("image.gc_removed trigger=tag_moved id=" + v1), "per-image log line");

        removePod(pod);
        removeImage(v3);
        assertEquals(1.0, metric("pvecri_image_gc_runs_total", "remove_image"), "RemoveImage is a GC run too");
        assertTrue(metric("pvecri_image_gc_reclaimed_bytes_total", "remove_image") > 0);
    }

    /**
     * Four images of ~10.5 MB each (5 MiB of random bytes: the gzip blob plus the unpacked file)
     * are pulled: U by digest only (untagged), then A, B, C by tag, then A again (a use). A
     * "ballast" file then takes the filesystem past the high threshold by an amount chosen from
     * the measured sizes so that reaching the low threshold needs U and half of B: the collector
     * must remove U (untagged), then B (least recently used), and stop there.
     */
    @Test
    @Order(3)
    void passingTheHighThresholdRemovesUntaggedThenLeastRecentlyUsedDownToTheLowThreshold() throws Exception {
        assertOnlyBusyboxLeft();
        Pod pod = podHoldingBusybox("gc-threshold");
        Path ballast = imageFs().resolve("ballast");
        try {
            RegistryImage u = sized(5 << 20, 1);
            u.push(registry.authority(), "e2e/gc-u", null);
            sized(5 << 20, 2).push(registry.authority(), "e2e/gc-a", "1");
            sized(5 << 20, 3).push(registry.authority(), "e2e/gc-b", "1");
            sized(5 << 20, 4).push(registry.authority(), "e2e/gc-c", "1");

            List<Long> footprints = new ArrayList<>();
            List<String> ids = new ArrayList<>();
            for (String ref : List.of("e2e/gc-u@" + u.digest(), "e2e/gc-a:1", "e2e/gc-b:1", "e2e/gc-c:1")) {
                long before = usedBytes();
                ids.add(pull(registry.authority() + "/" + ref));
                footprints.add(usedBytes() - before);
            }
            String idU = ids.get(0);
            String idA = ids.get(1);
            String idB = ids.get(2);
            String idC = ids.get(3);
            assertEquals(idA, pull(registry.authority() + "/e2e/gc-a:1"), "a cache hit: A is now the most recently used");
            assertEquals(0.0, metric("pvecri_image_gc_runs_total", "threshold"), "below the high threshold so far");
            assertTrue(usedPercent() < HIGH, "test setup: " + usedPercent() + " % before the ballast");

            long lowBytes = IMAGE_FS_BYTES * LOW / 100;
            long wanted = footprints.get(0) + footprints.get(2) / 2;
            long ballastBytes = lowBytes + wanted - usedBytes();
            assertTrue(ballastBytes > 0 && (lowBytes + wanted) * 100.0 / IMAGE_FS_BYTES >= HIGH + 1,
                    "test setup: footprints " + footprints + ", ballast " + ballastBytes);
            long t0 = System.nanoTime();
            Files.write(ballast, new byte[(int) ballastBytes]);
            double withBallast = usedPercent();

            Wait.until("a threshold run", Wait.STATE_CHANGE, () -> metric("pvecri_image_gc_runs_total", "threshold") >= 1);
            long waitedMs = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(Set.of(busyboxId, idA, idC), imageIds(),
                    "U (untagged) and B (least recently used) removed; busybox is in use, A and C stay");
            double after = usedPercent();
            assertTrue(after <= LOW, "usage after the run: " + after + " %");
            assertTrue(after > LOW - 10, "no more removed than needed: " + after + " %");
            assertEquals(1.0, metric("pvecri_image_gc_runs_total", "threshold"));
            assertEquals(2.0, metric("pvecri_image_gc_removed_images_total", "threshold"));
            double reclaimed = metric("pvecri_image_gc_reclaimed_bytes_total", "threshold");
            assertTrue(reclaimed >= wanted && reclaimed <= footprints.get(0) + footprints.get(2),
                    "reclaimed " + reclaimed + " bytes; wanted " + wanted + ", footprints " + footprints);
            assertTrue(metrics().sumOrZero("pvecri_image_gc_seconds_count", Map.of("trigger", "threshold")) >= 1);
            String log = daemon.daemon().log();
            int removedU = log.indexOf("image.gc_removed trigger=threshold id=" + idU);
            int removedB = log.indexOf("image.gc_removed trigger=threshold id=" + idB);
            assertTrue(removedU >= 0 && removedB > removedU, "U is removed before B");
            assertTrue(log.contains("image.gc trigger=threshold removed=2 reclaimed_bytes="), "run log line");
            System.out.printf("[e2e] threshold GC: 2 of 4 unused images (%s bytes) removed, %.1f%% -> %.1f%% used, "
                    + "%d ms from ballast to metric%n", (long) reclaimed, withBallast, after, waitedMs);
        } finally {
            Files.deleteIfExists(ballast);
            removePod(pod);
        }
        for (String ref : List.of("e2e/gc-a:1", "e2e/gc-c:1")) {
            removeImage(registry.authority() + "/" + ref);
        }
    }

    @Test
    @Order(4)
    void anOperatorRunsItThroughTheCli() throws Exception {
        assertOnlyBusyboxLeft();
        runnable("x").push(registry.authority(), "e2e/cli-x", "1");
        runnable("y").push(registry.authority(), "e2e/cli-y", "1");
        String x = pull(registry.authority() + "/e2e/cli-x:1");
        String y = pull(registry.authority() + "/e2e/cli-y:1");
        Pod pod = podHoldingBusybox("gc-cli");
        try {
            Cli dry = cli("images", "gc", "--target-percent", "0", "--dry-run");
            assertEquals(0, dry.exit(), dry.output() + dry.errors());
            assertTrue(dry.output().contains(x + "\t" + registry.authority() + "/e2e/cli-x:1\t"), dry.output());
            assertTrue(dry.output().contains("would remove 2 image(s)"), dry.output());
            assertEquals(Set.of(busyboxId, x, y), imageIds(), "a dry run removes nothing");

            Cli run = cli("images", "gc", "--target-percent", "0");
            assertEquals(0, run.exit(), run.output() + run.errors());
            List<String> lines = run.output().lines().toList();
            assertEquals(3, lines.size(), run.output());
            assertTrue(lines.get(0).startsWith(x + "\t") && lines.get(1).startsWith(y + "\t"),
                    "removed images in order (pulled first = least recently used first): " + run.output());
            assertTrue(lines.get(2).matches("removed 2 image\\(s\\), reclaimed [1-9][0-9]* bytes in [0-9]+ ms; "
                    + "image filesystem [0-9.]+% -> [0-9.]+% used \\(target 0%\\)"), lines.get(2));
            assertEquals(Set.of(busyboxId), imageIds(), "busybox is in use");

            Cli bad = cli("images", "gc", "--target-percent", "101");
            assertEquals(1, bad.exit(), bad.output() + bad.errors());
            assertTrue(bad.errors().contains("INVALID_ARGUMENT"), bad.errors());
        } finally {
            removePod(pod);
        }
        assertTrue(metric("pvecri_image_gc_runs_total", "manual") >= 2, "test 1's run and this one");
    }

    private record Cli(int exit, String output, String errors) {}

    /** Runs the distribution's {@code pve-cri} against this daemon's socket; stdout and stderr apart. */
    private static Cli cli(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("pvecri.dist"), "bin", "pve-cri").toString()));
        command.addAll(List.of(args));
        command.addAll(List.of("--socket", daemon.daemon().socket().toString()));
        Path err = daemon.daemon().root().resolve("cli.err");
        ProcessBuilder b = new ProcessBuilder(command).redirectError(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
        b.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = b.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("pve-cri " + String.join(" ", args) + " did not finish");
        }
        return new Cli(p.exitValue(), out, Files.readString(err));
    }
}
