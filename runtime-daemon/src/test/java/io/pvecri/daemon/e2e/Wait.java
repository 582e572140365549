package io.pvecri.daemon.e2e;

import java.time.Duration;
import java.util.Objects;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Bounded polling for end-to-end tests. Every wait has a limit; hitting it fails the test with a
 * message that says what was awaited and what was last seen. Limits are generous: they guard
 * against hangs, they are not performance assertions.
 */
public final class Wait {
    /** Default limit for a state change of a container or pod. */
    public static final Duration STATE_CHANGE = Duration.ofSeconds(20);

    private static final Duration INTERVAL = Duration.ofMillis(50);

    private Wait() {
    }

    /** Polls {@code condition} until it holds; fails after {@code limit}. */
    public static void until(String what, Duration limit, Supplier<Boolean> condition) {
        forValue(what, limit, condition, Boolean.TRUE::equals);
    }

    /**
     * Polls {@code probe} until its value satisfies {@code accept} and returns that value. An
     * exception thrown by the probe counts as "not yet" and is reported if the wait fails.
     */
    public static <T> T forValue(String what, Duration limit, Supplier<T> probe, Predicate<? super T> accept) {
        long deadline = System.nanoTime() + limit.toNanos();
        T last = null;
        RuntimeException lastError = null;
        while (true) {
            try {
                last = probe.get();
                lastError = null;
                if (accept.test(last)) {
                    return last;
                }
            } catch (RuntimeException e) {
                lastError = e;
            }
            if (System.nanoTime() - deadline >= 0) {
                AssertionError failure = new AssertionError("timed out after " + limit.toMillis() + " ms waiting for "
                        + what + "; last value: " + Objects.toString(last) + (lastError == null ? "" : "; last error: " + lastError));
                if (lastError != null) {
                    failure.initCause(lastError);
                }
                throw failure;
            }
            sleep(INTERVAL);
        }
    }

    public static void sleep(Duration duration) {
        try {
            Thread.sleep(duration);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
