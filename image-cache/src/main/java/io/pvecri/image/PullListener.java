package io.pvecri.image;

import java.time.Duration;

/**
 * Hears about every pull of a {@link RegistryPuller}, for logs and metrics. Called on the
 * pulling thread; implementations must be quick and must not throw.
 */
public interface PullListener {

    /** A pull of {@code reference} (normalised) begins. */
    default void pullStarted(String reference) {
    }

    /** A pull finished; {@link PullResult#cacheHit()} tells whether anything was downloaded. */
    default void pullFinished(PullResult result) {
    }

    /**
     * A pull failed.
     *
     * @param reason a short label for metrics: a {@link RegistryException.Reason} label,
     *               {@code not_found}, {@code invalid} or {@code io}
     */
    default void pullFailed(String reference, String reason, ImageCacheException error, Duration elapsed) {
    }

    PullListener NONE = new PullListener() {
    };
}
