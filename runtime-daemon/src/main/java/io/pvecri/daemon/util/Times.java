package io.pvecri.daemon.util;

import java.time.Instant;

/** CRI timestamps are unix nanoseconds. */
public final class Times {
    private Times() {}

    public static long nowNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }
}
