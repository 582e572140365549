package io.pvecri.image;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pure garbage collection policy: eligibility, order, how much, thresholds. */
class GcPolicyTest {

    private static final Instant T0 = Instant.parse("2025-01-01T00:00:00Z");

    /** A tagged, unreferenced image used at T0 + {@code minute} minutes, with one own blob. */
    private static GcCandidate img(String name, int minute, long rootfs, long blob) {
        return new GcCandidate("sha256:" + name, true, false, 0, false, T0.plusSeconds(60L * minute), rootfs,
                Map.of("sha256:blob-" + name, blob));
    }

    private static GcCandidate untagged(GcCandidate c) {
        return new GcCandidate(c.id(), false, c.superseded(), c.references(), c.pinned(), c.lastUsed(), c.rootfsBytes(), c.blobs());
    }

    private static GcCandidate superseded(GcCandidate c) {
        return new GcCandidate(c.id(), false, true, c.references(), c.pinned(), c.lastUsed(), c.rootfsBytes(), c.blobs());
    }

    private static GcCandidate referenced(GcCandidate c, int refs) {
        return new GcCandidate(c.id(), c.tagged(), c.superseded(), refs, c.pinned(), c.lastUsed(), c.rootfsBytes(), c.blobs());
    }

    private static GcCandidate pinned(GcCandidate c) {
        return new GcCandidate(c.id(), c.tagged(), c.superseded(), c.references(), true, c.lastUsed(), c.rootfsBytes(), c.blobs());
    }

    private static List<String> ids(List<GcCandidate> cs) {
        return cs.stream().map(c -> c.id().substring(7)).toList();
    }

    private static List<String> planned(List<GcPolicy.Planned> plan) {
        return plan.stream().map(p -> p.image().id().substring(7)).toList();
    }

    @Test
    void untaggedFirstThenLeastRecentlyUsedThenLargestThenId() {
        List<GcCandidate> images = List.of(
                img("new-small", 30, 10, 10),
                img("old", 10, 10, 10),
                untagged(img("dangling-recent", 50, 10, 10)),
                img("mid-large", 20, 500, 500),
                img("mid-small", 20, 10, 10),
                img("mid-small-b", 20, 10, 10),
                untagged(img("dangling-old", 5, 10, 10)));
        assertEquals(List.of("dangling-old", "dangling-recent", "old", "mid-large", "mid-small", "mid-small-b", "new-small"),
                ids(GcPolicy.order(images)));
    }

    @Test
    void referencedAndPinnedImagesAreNeverCandidates() {
        List<GcCandidate> images = List.of(
                referenced(untagged(img("in-use", 1, 100, 100)), 1),
                pinned(img("being-pulled", 2, 100, 100)),
                referenced(superseded(img("old-tag-in-use", 0, 100, 100)), 2),
                img("free", 3, 100, 100));
        assertEquals(List.of("free"), ids(GcPolicy.order(images)));
        assertEquals(List.of("free"), planned(GcPolicy.plan(images, Long.MAX_VALUE, true)),
                "even when asked for more than there is");
    }

    @Test
    void removesAPrefixThatFreesEnoughAndNoMore() {
        List<GcCandidate> images = List.of(img("a", 1, 100, 50), img("b", 2, 100, 50), img("c", 3, 100, 50));
        assertEquals(List.of(), planned(GcPolicy.plan(images, 0, false)));
        assertEquals(List.of("a"), planned(GcPolicy.plan(images, 1, false)));
        assertEquals(List.of("a"), planned(GcPolicy.plan(images, 150, false)));
        assertEquals(List.of("a", "b"), planned(GcPolicy.plan(images, 151, false)));
        List<GcPolicy.Planned> all = GcPolicy.plan(images, 10_000, false);
        assertEquals(List.of("a", "b", "c"), planned(all));
        assertEquals(450, GcPolicy.total(all));
    }

    @Test
    void aSharedBlobCountsOnlyWhenItsLastUserGoes() {
        Map<String, Long> shared = Map.of("sha256:base", 1000L);
        GcCandidate a = new GcCandidate("sha256:a", true, false, 0, false, T0, 10, Map.of("sha256:base", 1000L, "sha256:a1", 5L));
        GcCandidate b = new GcCandidate("sha256:b", true, false, 0, false, T0.plusSeconds(1), 10, Map.of("sha256:base", 1000L));
        GcCandidate usedByContainer = new GcCandidate("sha256:c", true, false, 1, false, T0, 10, shared);

        List<GcPolicy.Planned> plan = GcPolicy.plan(List.of(a, b), 100, false);
        assertEquals(List.of("a", "b"), planned(plan), "a alone frees 15 bytes, not 1015");
        assertEquals(15, plan.get(0).estimatedBytes());
        assertEquals(1010, plan.get(1).estimatedBytes(), "the base blob goes with its last user");

        List<GcPolicy.Planned> withUser = GcPolicy.plan(List.of(a, b, usedByContainer), 100_000, false);
        assertEquals(List.of("a", "b"), planned(withUser));
        assertEquals(25, GcPolicy.total(withUser), "a referenced image keeps the shared blob");
    }

    @Test
    void supersededImagesGoEvenWhenNoSpaceIsWanted() {
        List<GcCandidate> images = List.of(img("tagged", 1, 100, 100), superseded(img("old-tag", 9, 100, 100)),
                untagged(img("never-tagged", 5, 100, 100)));
        assertEquals(List.of("old-tag"), planned(GcPolicy.plan(images, 0, true)));
        assertEquals(List.of("never-tagged", "old-tag"), planned(GcPolicy.plan(images, 1, true)),
                "the wanted bytes come from the order; superseded ones are added wherever they stand");
        assertEquals(List.of(), planned(GcPolicy.plan(images, 0, false)));
    }

    @Test
    void thresholdIsReachedAtTheHighPercentUnlessDisabled() {
        GcConfig c = new GcConfig(85, 80, Duration.ofMinutes(5));
        assertFalse(GcPolicy.thresholdReached(c, new DiskUsage(1000, 151)));
        assertTrue(GcPolicy.thresholdReached(c, new DiskUsage(1000, 150)));
        assertTrue(GcPolicy.thresholdReached(c, new DiskUsage(1000, 0)));
        assertFalse(GcPolicy.thresholdReached(c, new DiskUsage(0, 0)), "no capacity: nothing to measure");
        GcConfig off = new GcConfig(100, 80, Duration.ofMinutes(5));
        assertFalse(off.thresholdEnabled());
        assertFalse(GcPolicy.thresholdReached(off, new DiskUsage(1000, 0)), "100 disables threshold collection");
    }

    @Test
    void bytesAboveATargetPercent() {
        DiskUsage u = new DiskUsage(1000, 100); // 90 % used
        assertEquals(900, u.usedBytes());
        assertEquals(90.0, u.usedPercent());
        assertEquals(100, u.bytesAbove(80));
        assertEquals(0, u.bytesAbove(90));
        assertEquals(0, u.bytesAbove(95));
        assertEquals(900, u.bytesAbove(0));
        DiskUsage huge = new DiskUsage(Long.MAX_VALUE, 0);
        assertEquals(Long.MAX_VALUE - Long.MAX_VALUE / 100 * 80 - Long.MAX_VALUE % 100 * 80 / 100, huge.bytesAbove(80),
                "no overflow on large capacities");
        assertThrows(IllegalArgumentException.class, () -> u.bytesAbove(101));
    }

    @Test
    void configIsValidated() {
        assertThrows(IllegalArgumentException.class, () -> new GcConfig(80, 80, Duration.ofMinutes(1)));
        assertThrows(IllegalArgumentException.class, () -> new GcConfig(70, 80, Duration.ofMinutes(1)));
        assertThrows(IllegalArgumentException.class, () -> new GcConfig(101, 80, Duration.ofMinutes(1)));
        assertThrows(IllegalArgumentException.class, () -> new GcConfig(85, -1, Duration.ofMinutes(1)));
        assertThrows(IllegalArgumentException.class, () -> new GcConfig(85, 80, Duration.ZERO));
        assertEquals(new GcConfig(85, 80, Duration.ofMinutes(5)), GcConfig.defaults());
    }
}
