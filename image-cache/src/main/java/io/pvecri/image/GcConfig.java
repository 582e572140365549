package io.pvecri.image;

import java.time.Duration;
import java.util.Objects;

/**
 * Image garbage collection settings (config {@code images.gc}; docs/images.md).
 *
 * @param highThresholdPercent usage of the image filesystem (percent of its capacity, as
 *                             {@code df} shows it) at or above which images are collected;
 *                             100 disables threshold-triggered collection
 * @param lowThresholdPercent  usage that threshold-triggered collection frees down to, and the
 *                             default target of a manual run
 * @param interval             how often the background check measures the filesystem (a check
 *                             also follows every pull and import)
 */
public record GcConfig(int highThresholdPercent, int lowThresholdPercent, Duration interval) {

    public static final int DEFAULT_HIGH = 85;
    public static final int DEFAULT_LOW = 80;
    public static final Duration DEFAULT_INTERVAL = Duration.ofMinutes(5);

    public GcConfig {
        Objects.requireNonNull(interval, "interval");
        if (highThresholdPercent < 0 || highThresholdPercent > 100) {
            throw new IllegalArgumentException("highThresholdPercent " + highThresholdPercent + " is out of range 0..100");
        }
        if (lowThresholdPercent < 0 || lowThresholdPercent > 100) {
            throw new IllegalArgumentException("lowThresholdPercent " + lowThresholdPercent + " is out of range 0..100");
        }
        if (lowThresholdPercent >= highThresholdPercent) {
            throw new IllegalArgumentException("lowThresholdPercent (" + lowThresholdPercent
                    + ") must be below highThresholdPercent (" + highThresholdPercent + ")");
        }
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval must be positive, not " + interval);
        }
    }

    public static GcConfig defaults() {
        return new GcConfig(DEFAULT_HIGH, DEFAULT_LOW, DEFAULT_INTERVAL);
    }

    /** False when {@code highThresholdPercent} is 100: only RemoveImage, tag moves and manual runs collect. */
    public boolean thresholdEnabled() {
        return highThresholdPercent < 100;
    }
}
