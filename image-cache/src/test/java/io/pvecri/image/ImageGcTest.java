package io.pvecri.image;

import io.pvecri.image.ReferenceCountTest.MutableClock;
import io.pvecri.image.testing.TestImages;
import io.pvecri.image.testing.TestImages.ImageConfigJson;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Garbage collection over a real store in a temp dir. The filesystem measurement is injected
 * (the store's own usage plus a "ballast" on a filesystem of fixed capacity) so that thresholds
 * are exact; {@link ImageGcTmpfsTest} does the same on a real tmpfs.
 */
class ImageGcTest {

    private static final long CAPACITY = 2_000_000;

    @TempDir
    Path tmp;
    MutableClock clock = new MutableClock(Instant.parse("2025-01-01T00:00:00Z"));
    ImageStore store;
    long ballast;
    final Recorder recorder = new Recorder();
    final List<String> removedIds = new CopyOnWriteArrayList<>();
    ImageGc gc;

    /** Remembers what the collector reported. */
    static final class Recorder implements GcListener {
        final List<GcResult> runs = new CopyOnWriteArrayList<>();
        final List<String> collected = new CopyOnWriteArrayList<>();
        final List<String> failures = new CopyOnWriteArrayList<>();

        @Override
        public void imageCollected(GcTrigger trigger, ImageRecord image, long reclaimedBytes) {
            collected.add(trigger.label() + " " + image.id());
        }

        @Override
        public void gcFinished(GcResult result) {
            runs.add(result);
        }

        @Override
        public void gcFailed(GcTrigger trigger, String error) {
            failures.add(error);
        }
    }

    @BeforeEach
    void open() throws Exception {
        store = ImageStore.open(tmp.resolve("store"), clock);
        store.addRemovalListener(r -> removedIds.add(r.id()));
        gc = newGc(store, new GcConfig(50, 40, Duration.ofMinutes(5)));
    }

    private ImageGc newGc(ImageStore s, GcConfig config) {
        ImageGc g = new ImageGc(s, config,
                () -> new DiskUsage(CAPACITY, Math.max(0, CAPACITY - s.usage().usedBytes() - ballast)), recorder);
        g.startInline();
        return g;
    }

    @AfterEach
    void close() {
        gc.close();
        store.close();
    }

    private int dirs;

    /** Imports an image with {@code bytes} of incompressible content, named {@code name} (null: no name). */
    private ImageRecord importImage(String name, int bytes, long seed) throws Exception {
        byte[] content = new byte[bytes];
        new Random(seed).nextBytes(content);
        byte[] layer = TestImages.tar().file("data.bin", content, 0644, 0, 0).build();
        Path dir = TestImages.layout(tmp.resolve("src-" + dirs++), name, List.of(layer), ImageConfigJson.defaults());
        return store.importImage(dir, Optional.empty()).getFirst();
    }

    private long footprint(ImageRecord r) {
        return store.gcCandidates().stream().filter(c -> c.id().equals(r.id())).findFirst().orElseThrow().footprintBytes();
    }

    private boolean present(ImageRecord r) {
        return store.resolve(r.id()).isPresent();
    }

    private void at(int minute) {
        clock.now = Instant.parse("2025-01-01T00:00:00Z").plusSeconds(60L * minute);
    }

    @Test
    void thresholdRunRemovesUntaggedThenLeastRecentlyUsedThenLargestDownToTheLowThreshold() throws Exception {
        at(1);
        ImageRecord dangling = importImage(null, 60_000, 1);
        at(2);
        ImageRecord a = importImage("a:1", 60_000, 2);
        at(3);
        ImageRecord b = importImage("b:1", 60_000, 3);
        at(4);
        ImageRecord small = importImage("small:1", 60_000, 4);
        ImageRecord large = importImage("large:1", 120_000, 5);
        at(5);
        ImageRecord e = importImage("e:1", 60_000, 6);
        at(10);
        store.acquire(a.id()); // a container made from a: now the most recently used
        store.release(a.id());
        assertEquals(List.of(), recorder.runs, "usage is far below the high threshold");
        assertTrue(present(dangling), "an image imported without a name is not garbage by itself");

        // Usage goes above 50 %: the next check frees down to 40 %, and wants the dangling image,
        // b (least recently used), then large (as old as small, larger), and half of small's size more.
        long wanted = footprint(dangling) + footprint(b) + footprint(large) + footprint(small) / 2;
        ballast = CAPACITY * 40 / 100 + wanted - store.usage().usedBytes();
        DiskUsage before = new DiskUsage(CAPACITY, CAPACITY - store.usage().usedBytes() - ballast);
        assertTrue(before.usedPercent() >= 50, "test setup: " + before.usedPercent());

        GcResult run = gc.checkThreshold().orElseThrow();
        assertEquals(GcTrigger.THRESHOLD, run.trigger());
        assertEquals(List.of(dangling.id(), b.id(), large.id(), small.id()),
                run.removed().stream().map(r -> r.image().id()).toList(), "removal order");
        assertTrue(present(a) && present(e));
        assertEquals(List.of(dangling.id(), b.id(), large.id(), small.id()), removedIds, "removal listener, in order");
        assertEquals(run.removed().stream().mapToLong(GcResult.Removed::reclaimedBytes).sum(), run.reclaimedBytes());
        assertTrue(run.after().usedPercent() <= 40, "usage after: " + run.after().usedPercent());
        assertTrue(run.after().usedPercent() > 30, "not more than needed: " + run.after().usedPercent());
        assertEquals(wanted, run.wantedBytes());
        assertEquals(List.of(run), recorder.runs);
        assertEquals(4, recorder.collected.size());

        assertTrue(gc.checkThreshold().isEmpty(), "below the high threshold again: no run");
    }

    @Test
    void reclaimedBytesAreTheRootfsPlusTheBlobsThatWentAway() throws Exception {
        ImageRecord a = importImage("a:1", 50_000, 1);
        long fp = footprint(a);
        long storeBefore = store.usage().usedBytes();
        GcResult r = gc.removeImage("a:1");
        assertEquals(GcTrigger.REMOVE_IMAGE, r.trigger());
        assertEquals(fp, r.reclaimedBytes());
        assertEquals(storeBefore - store.usage().usedBytes(), r.reclaimedBytes());
        assertEquals(List.of(a.id()), removedIds);
        assertEquals(List.of("remove_image " + a.id()), recorder.collected);
        StoreAssertions.assertNothingStored(store);
    }

    @Test
    void aReferencedImageIsNeverRemoved() throws Exception {
        ImageRecord used = importImage(null, 10_000, 1);
        ImageRecord free = importImage("free:1", 10_000, 2);
        store.acquire(used.id());

        GcResult all = gc.collectNow(OptionalInt.of(0), false);
        assertEquals(List.of(free.id()), all.removed().stream().map(r -> r.image().id()).toList());
        assertTrue(present(used));
        ballast = CAPACITY; // 100 % used: everything eligible must go, and nothing else
        assertEquals(List.of(), gc.checkThreshold().orElseThrow().removed());
        assertTrue(present(used));
        var e = assertThrows(ImageInUseException.class, () -> gc.removeImage(used.id()));
        assertEquals(1, e.references());
        assertTrue(present(used));
    }

    @Test
    void anImageGoesAsSoonAsATagMovesAwayFromItAndNoContainerUsesIt() throws Exception {
        ImageRecord v1 = importImage("app:1", 10_000, 1);
        ImageRecord v2 = importImage("app:1", 10_000, 2);
        assertFalse(present(v1), "v1 lost its only tag and no container used it");
        assertEquals(List.of("tag_moved " + v1.id()), recorder.collected);
        assertEquals(GcTrigger.TAG_MOVED, recorder.runs.getFirst().trigger());
        assertEquals(List.of(v1.id()), removedIds);

        store.acquire(v2.id());
        ImageRecord v3 = importImage("app:1", 10_000, 3);
        assertTrue(present(v2), "a container still uses v2");
        assertEquals(List.of(), store.resolve(v2.id()).orElseThrow().repoTags());
        assertTrue(present(v3));
        store.release(v2.id());
        assertFalse(present(v2), "its last container is gone");
        assertEquals(List.of(v1.id(), v2.id()), removedIds);
    }

    @Test
    void onlyTagMovesMakeGarbageNotMissingNames() throws Exception {
        ImageRecord unnamed = importImage(null, 10_000, 1);
        store.acquire(unnamed.id());
        store.release(unnamed.id());
        assertTrue(present(unnamed), "an image pulled by digest or imported without a name stays");

        ImageRecord twoTags = store.importImage(TestImages.layout(tmp.resolve("two"), "app:2",
                List.of(TestImages.tar().file("x", "x").build()), ImageConfigJson.defaults()),
                Optional.of("docker.io/library/keep:1")).getFirst();
        assertEquals(2, twoTags.repoTags().size(), twoTags.repoTags().toString());
        importImage("app:2", 10_000, 2);
        assertTrue(present(twoTags), "it still has keep:1");
        assertEquals(List.of("docker.io/library/keep:1"), store.resolve(twoTags.id()).orElseThrow().repoTags());
        assertEquals(List.of(), removedIds);
    }

    @Test
    void pullingAnImageAgainIsAUseAndRescuesASupersededImage() throws Exception {
        at(1);
        ImageRecord v1 = importImage("app:1", 10_000, 1);
        Path v1Source = tmp.resolve("src-0");
        store.acquire(v1.id());
        at(2);
        importImage("app:1", 10_000, 2);
        assertTrue(present(v1));
        at(3);
        ImageRecord again = store.importImage(v1Source, Optional.empty()).getFirst();
        assertEquals(clock.now, again.lastUsed(), "a re-import (or a pull) of a present image is a use");
        assertEquals(List.of("docker.io/library/app:1"), again.repoTags(), "the tag moved back");
        store.release(v1.id());
        assertTrue(present(v1), "tagged again, so not garbage");
    }

    @Test
    void supersededStateSurvivesARestart() throws Exception {
        ImageRecord v1 = importImage("app:1", 10_000, 1);
        store.acquire(v1.id());
        importImage("app:1", 10_000, 2);
        gc.close();
        store.close();

        store = ImageStore.open(tmp.resolve("store"), clock);
        gc = newGc(store, new GcConfig(50, 40, Duration.ofMinutes(5)));
        store.reconcileReferences(java.util.Map.of()); // the daemon found no container using it
        assertTrue(present(v1));
        GcResult r = gc.collectSuperseded().orElseThrow();
        assertEquals(List.of(v1.id()), r.removed().stream().map(x -> x.image().id()).toList());
        assertTrue(gc.collectSuperseded().isEmpty(), "nothing left: no run");
    }

    @Test
    void manualRunsDefaultToTheLowThresholdAndDryRunsRemoveNothing() throws Exception {
        at(1);
        ImageRecord old = importImage("old:1", 60_000, 1);
        at(2);
        ImageRecord mid = importImage("mid:1", 60_000, 2);
        at(3);
        ImageRecord recent = importImage("recent:1", 60_000, 3);
        // 45 % used: under the high threshold (no background run) but above the low one (40 %)
        ballast = CAPACITY * 45 / 100 - store.usage().usedBytes();
        assertTrue(gc.checkThreshold().isEmpty());

        GcResult dry = gc.collectNow(OptionalInt.empty(), true);
        assertTrue(dry.dryRun());
        assertEquals(List.of(old.id()), dry.removed().stream().map(r -> r.image().id()).toList());
        assertTrue(present(old));
        assertEquals(List.of(), recorder.runs, "dry runs are not reported");

        GcResult run = gc.collectNow(OptionalInt.empty(), false);
        assertEquals(GcTrigger.MANUAL, run.trigger());
        assertEquals(List.of(old.id()), run.removed().stream().map(r -> r.image().id()).toList());
        assertEquals(dry.reclaimedBytes(), run.reclaimedBytes(), "the dry run's estimate");
        assertTrue(present(mid) && present(recent));

        GcResult all = gc.collectNow(OptionalInt.of(0), false);
        assertEquals(List.of(mid.id(), recent.id()), all.removed().stream().map(r -> r.image().id()).toList());
        StoreAssertions.assertNothingStored(store);
        assertThrows(IllegalArgumentException.class, () -> gc.collectNow(OptionalInt.of(101), false));
    }

    @Test
    void aFailingRemovalListenerDoesNotStopTheRun() throws Exception {
        List<String> second = new ArrayList<>();
        store.addRemovalListener(r -> {
            throw new IllegalStateException("listener bug");
        });
        store.addRemovalListener(r -> second.add(r.id()));
        ImageRecord a = importImage("a:1", 1000, 1);
        ImageRecord b = importImage("b:1", 1000, 2);
        GcResult r = gc.collectNow(OptionalInt.of(0), false);
        assertEquals(2, r.removed().size());
        assertEquals(List.of(a.id(), b.id()), second);
        assertEquals(List.of(a.id(), b.id()), removedIds);
    }

    @Test
    void aMeasurementFailureIsReportedAndRemovesNothing() throws Exception {
        ImageRecord a = importImage("a:1", 1000, 1);
        ImageGc broken = new ImageGc(store, new GcConfig(50, 40, Duration.ofMinutes(5)), () -> {
            throw new java.io.IOException("statvfs failed");
        }, recorder);
        assertTrue(broken.checkThreshold().isEmpty());
        assertTrue(recorder.failures.getFirst().contains("statvfs failed"), recorder.failures.toString());
        assertThrows(ImageStoreIoException.class, () -> broken.collectNow(OptionalInt.of(0), false));
        assertTrue(present(a));
        assertTrue(Files.isDirectory(store.rootfs(a.id())));
    }
}
