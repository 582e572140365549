package io.pvecri.image;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What one garbage collection run did (or, for a dry run, would do).
 *
 * @param trigger        why it ran
 * @param dryRun         nothing was removed; {@code removed} is the plan, bytes are estimates
 * @param removed        images removed, in removal order
 * @param reclaimedBytes sum of {@link Removed#reclaimedBytes()}: rootfs bytes plus blobs no
 *                       remaining image uses (file sizes; the filesystem may free a little more)
 * @param elapsed        wall time of the run
 * @param before         the filesystem before the run; null when not measured (RemoveImage, tag moves)
 * @param after          the filesystem after the run; null when not measured
 * @param wantedBytes    bytes the run set out to free to reach its target (0 when it had no
 *                       usage target: RemoveImage, tag moves)
 * @param errors         removals that failed (the run went on with the next image)
 */
public record GcResult(GcTrigger trigger, boolean dryRun, List<Removed> removed, long reclaimedBytes,
                       Duration elapsed, DiskUsage before, DiskUsage after, long wantedBytes, List<String> errors) {

    public GcResult {
        Objects.requireNonNull(trigger, "trigger");
        removed = List.copyOf(removed);
        errors = List.copyOf(errors);
        Objects.requireNonNull(elapsed, "elapsed");
    }

    /** One removed image and the bytes its removal freed. */
    public record Removed(ImageRecord image, long reclaimedBytes) {
        public Removed {
            Objects.requireNonNull(image, "image");
        }
    }
}
