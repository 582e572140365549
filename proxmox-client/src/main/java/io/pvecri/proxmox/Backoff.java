package io.pvecri.proxmox;

import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Capped exponential backoff: attempt {@code n} (0-based) waits {@code min(max, initial * factor^n)};
 * {@link #jittered} picks uniformly in the upper half of that ("equal jitter"), so parallel callers
 * spread out but never retry at once.
 *
 * @param initial first delay, &gt; 0
 * @param max     cap, &ge; initial
 * @param factor  growth per attempt, &ge; 1
 */
public record Backoff(Duration initial, Duration max, double factor) {

    public Backoff {
        Objects.requireNonNull(initial, "initial");
        Objects.requireNonNull(max, "max");
        if (initial.isNegative() || initial.isZero()) {
            throw new IllegalArgumentException("initial: must be > 0, got " + initial);
        }
        if (max.compareTo(initial) < 0) {
            throw new IllegalArgumentException("max: must be >= initial (" + initial + "), got " + max);
        }
        if (!(factor >= 1.0)) {
            throw new IllegalArgumentException("factor: must be >= 1, got " + factor);
        }
    }

    /** The delay before retry {@code attempt} (0-based), without jitter. */
    public Duration delay(int attempt) {
        double nanos = initial.toNanos() * Math.pow(factor, Math.max(0, attempt));
        return nanos >= max.toNanos() ? max : Duration.ofNanos((long) nanos);
    }

    /** The delay with equal jitter: uniform in {@code [delay/2, delay]}. */
    public Duration jittered(int attempt, RandomGenerator random) {
        long d = delay(attempt).toNanos();
        long half = d / 2;
        return Duration.ofNanos(half + (half > 0 ? random.nextLong(half + 1) : 0));
    }
}
