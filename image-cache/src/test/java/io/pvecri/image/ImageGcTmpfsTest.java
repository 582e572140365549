package io.pvecri.image;

import io.pvecri.image.ImageGcTest.Recorder;
import io.pvecri.image.testing.TestImages;
import io.pvecri.image.testing.TestImages.ImageConfigJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Threshold collection measured for real: the store lives on an 8 MiB tmpfs, usage comes from
 * statvfs ({@link DiskUsageSource#of}), and imports trigger the check as in the daemon.
 */
class ImageGcTmpfsTest {

    private static final long FS_BYTES = 8L << 20;

    @TempDir
    Path tmp;
    Path mountpoint;
    boolean mounted;
    ImageStore store;
    ImageGc gc;

    @BeforeEach
    void mountTmpfs() throws Exception {
        assumeTrue(((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0, "needs root to mount a tmpfs");
        mountpoint = Files.createDirectory(tmp.resolve("fs"));
        run("mount", "-t", "tmpfs", "-o", "size=" + FS_BYTES + ",mode=0700", "pvecri-gc-test", mountpoint.toString());
        mounted = true;
    }

    @AfterEach
    void unmount() throws Exception {
        if (gc != null) {
            gc.close();
        }
        if (store != null) {
            store.close();
        }
        if (mounted) {
            run("umount", mountpoint.toString());
        }
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " failed: " + new String(p.getInputStream().readAllBytes()));
        }
    }

    @Test
    void importsPastTheHighThresholdCollectTheLeastRecentlyUsedDownToTheLowOne() throws Exception {
        DiskUsageSource statvfs = DiskUsageSource.of(mountpoint);
        DiskUsage empty = statvfs.measure();
        assertEquals(FS_BYTES, empty.capacityBytes(), "tmpfs capacity as statvfs reports it");

        store = ImageStore.open(mountpoint.resolve("images"));
        Recorder recorder = new Recorder();
        gc = new ImageGc(store, new GcConfig(70, 40, Duration.ofHours(1)), statvfs, recorder);
        gc.startInline();

        // Five images of ~1.2 MB each (600 kB of random bytes: the gzip blob plus the unpacked
        // file), ~14.5 % of the filesystem each: the fifth passes 70 %.
        List<ImageRecord> images = new ArrayList<>();
        List<Double> usageAfterImport = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            byte[] content = new byte[600_000];
            new Random(i).nextBytes(content);
            Path src = TestImages.layout(tmp.resolve("src-" + i), "app" + i + ":1",
                    List.of(TestImages.tar().file("data.bin", content, 0644, 0, 0).build()), ImageConfigJson.defaults());
            images.add(store.importImage(src, Optional.empty()).getFirst());
            usageAfterImport.add(statvfs.measure().usedPercent());
        }
        assertTrue(usageAfterImport.get(3) < 70, "four images stay below the high threshold: " + usageAfterImport);

        assertEquals(1, recorder.runs.size(), "one threshold run, after the fifth import: " + recorder.runs);
        GcResult run = recorder.runs.getFirst();
        assertEquals(GcTrigger.THRESHOLD, run.trigger());
        assertTrue(run.before().usedPercent() >= 70, "before: " + run.before());
        assertEquals(images.subList(0, 3).stream().map(ImageRecord::id).toList(),
                run.removed().stream().map(r -> r.image().id()).toList(), "least recently imported first, as many as needed");
        assertTrue(run.after().usedPercent() <= 40, "after: " + run.after().usedPercent() + " %");
        assertEquals(run.after().usedPercent(), statvfs.measure().usedPercent());
        long freedOnDisk = run.before().usedBytes() - run.after().usedBytes();
        assertTrue(freedOnDisk >= run.reclaimedBytes(),
                "the filesystem freed at least the reported bytes: " + freedOnDisk + " vs " + run.reclaimedBytes());
        assertEquals(images.subList(3, 5).stream().map(ImageRecord::id).toList(), store.list().stream().map(ImageRecord::id).toList());
        System.out.printf("tmpfs GC: %d images, %d bytes reclaimed (%d on disk), %.1f%% -> %.1f%%, %d ms%n",
                run.removed().size(), run.reclaimedBytes(), freedOnDisk, run.before().usedPercent(),
                run.after().usedPercent(), run.elapsed().toMillis());
    }
}
