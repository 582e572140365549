package io.pvecri.image;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which images garbage collection removes, in what order and how many: pure functions of a
 * snapshot ({@link GcCandidate}s) and a disk measurement, so they are tested without a store.
 *
 * <ul>
 *   <li><b>Eligible</b>: no container references the image and no pull or import of it is in
 *       progress. Nothing else is ever removed.</li>
 *   <li><b>Order</b>: untagged (dangling) images first, then least recently used (last
 *       container creation, pull or import), then the largest (rootfs plus blobs), then by id
 *       so that the order is total.</li>
 *   <li><b>How many</b>: a prefix of that order whose removal frees at least the bytes asked
 *       for. A blob shared with other images counts only once every image using it (eligible
 *       or not) is in the prefix, since only then is it deleted.</li>
 * </ul>
 */
final class GcPolicy {

    /** Removal order among eligible images. */
    static final Comparator<GcCandidate> ORDER = Comparator
            .comparing(GcCandidate::tagged) // false (untagged) first
            .thenComparing(GcCandidate::lastUsed)
            .thenComparing(Comparator.comparingLong(GcCandidate::footprintBytes).reversed())
            .thenComparing(GcCandidate::id);

    private GcPolicy() {
    }

    /** An image chosen for removal and the bytes its removal is expected to free. */
    record Planned(GcCandidate image, long estimatedBytes) {
    }

    /** Whether usage has reached the high threshold (never when threshold collection is disabled). */
    static boolean thresholdReached(GcConfig config, DiskUsage usage) {
        return config.thresholdEnabled() && usage.capacityBytes() > 0
                && usage.usedPercent() >= config.highThresholdPercent();
    }

    /** The eligible images in removal order. */
    static List<GcCandidate> order(Collection<GcCandidate> images) {
        return images.stream().filter(GcCandidate::eligible).sorted(ORDER).toList();
    }

    /**
     * The images to remove, in order: eligible images in {@link #ORDER} until the estimated
     * freed bytes reach {@code bytesToFree}; with {@code allSuperseded}, every eligible
     * superseded image too, wherever it stands in the order.
     *
     * @param images every image in the store (ineligible ones matter for shared blobs)
     */
    static List<Planned> plan(Collection<GcCandidate> images, long bytesToFree, boolean allSuperseded) {
        Map<String, Integer> users = new HashMap<>();
        for (GcCandidate c : images) {
            c.blobs().keySet().forEach(b -> users.merge(b, 1, Integer::sum));
        }
        List<Planned> out = new ArrayList<>();
        long freed = 0;
        for (GcCandidate c : order(images)) {
            boolean needed = freed < bytesToFree;
            if (!needed && !(allSuperseded && c.superseded())) {
                continue;
            }
            long bytes = c.rootfsBytes();
            for (Map.Entry<String, Long> b : c.blobs().entrySet()) {
                if (users.merge(b.getKey(), -1, Integer::sum) == 0) {
                    bytes += b.getValue();
                }
            }
            freed += bytes;
            out.add(new Planned(c, bytes));
        }
        return out;
    }

    /** Bytes a sequence of removals is expected to free. */
    static long total(List<Planned> plan) {
        return plan.stream().mapToLong(Planned::estimatedBytes).sum();
    }
}
