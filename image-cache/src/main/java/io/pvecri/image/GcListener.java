package io.pvecri.image;

/**
 * Hears about image garbage collection, for logs and metrics. Called on the collecting thread;
 * implementations must be quick and must not throw. Dry runs are not reported.
 */
public interface GcListener {

    /** One image was removed by a run of {@code trigger}, freeing about {@code reclaimedBytes}. */
    default void imageCollected(GcTrigger trigger, ImageRecord image, long reclaimedBytes) {
    }

    /** A run finished (possibly having removed nothing: nothing was eligible). */
    default void gcFinished(GcResult result) {
    }

    /** A run could not start or stopped early: the filesystem could not be measured, a removal failed. */
    default void gcFailed(GcTrigger trigger, String error) {
    }

    GcListener NONE = new GcListener() {
    };
}
