package io.pvecri.proxmox;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * Retries an operation that lost a lock race: {@link PveException.Locked} ({@code CT is locked (…)},
 * {@code can't lock file '…' - got timeout}) and {@link PveException.TaskFailed} whose exit status is such
 * a message. Capped exponential backoff with jitter, bounded attempts; any other failure passes at once.
 *
 * <p>The client applies it to its own mutating calls (their lock checks run before anything changes,
 * so a retry is safe). Use {@link #run} for a whole "call + wait for task" step, where the lock error
 * surfaces in the task (e.g. {@code vzstart} waiting for a concurrent {@code vzshutdown}).
 */
public final class LockRetry {

    private static final System.Logger LOG = System.getLogger(LockRetry.class.getName());

    /**
     * @param maxAttempts total attempts including the first, &ge; 1
     * @param backoff     delays between attempts
     */
    public record Policy(int maxAttempts, Backoff backoff) {
        public Policy {
            Objects.requireNonNull(backoff, "backoff");
            if (maxAttempts < 1) {
                throw new IllegalArgumentException("maxAttempts: must be >= 1, got " + maxAttempts);
            }
        }

        /** 6 attempts, 250 ms doubling to 4 s (PVE itself waits 10 s for the config flock before failing). */
        public static Policy defaults() {
            return new Policy(6, new Backoff(Duration.ofMillis(250), Duration.ofSeconds(4), 2.0));
        }

        /** No retries. */
        public static Policy none() {
            return new Policy(1, new Backoff(Duration.ofMillis(1), Duration.ofMillis(1), 1.0));
        }
    }

    private final Policy policy;
    private final RandomGenerator random;

    public LockRetry(Policy policy) {
        this(policy, RandomGenerator.getDefault());
    }

    LockRetry(Policy policy, RandomGenerator random) {
        this.policy = Objects.requireNonNull(policy, "policy");
        this.random = Objects.requireNonNull(random, "random");
    }

    public Policy policy() {
        return policy;
    }

    /** True for the failures this class retries. */
    public static boolean isLockContention(PveException e) {
        return e instanceof PveException.Locked || (e instanceof PveException.TaskFailed t && t.lockContention());
    }

    /**
     * Runs {@code action}, retrying on lock contention.
     *
     * @param what names the operation in log lines
     * @throws PveException the last failure once attempts are exhausted, or the first non-lock failure
     */
    public <T> T run(String what, Supplier<T> action) {
        for (int attempt = 1; ; attempt++) {
            try {
                return action.get();
            } catch (PveException e) {
                if (!isLockContention(e) || attempt >= policy.maxAttempts()) {
                    throw e;
                }
                Duration delay = policy.backoff().jittered(attempt - 1, random);
                LOG.log(Level.INFO, "{0}: {1}; retry {2}/{3} in {4} ms", what, e.pveMessage(), attempt,
                        policy.maxAttempts() - 1, delay.toMillis());
                sleep(delay, e);
            }
        }
    }

    private static void sleep(Duration delay, PveException last) {
        try {
            Thread.sleep(delay);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            last.addSuppressed(ie);
            throw last;
        }
    }
}
