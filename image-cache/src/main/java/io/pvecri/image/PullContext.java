package io.pvecri.image;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One pull's limits and counters. Every blocking registry request registers a {@link Watch};
 * a shared timer interrupts the request's thread when no byte has arrived for the progress
 * timeout or the pull's deadline has passed, and the request then fails with
 * {@link RegistryException.Reason#TIMEOUT}.
 */
final class PullContext {

    private static final ScheduledExecutorService TIMER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "pve-cri-pull-watchdog");
        t.setDaemon(true);
        return t;
    });
    private static final Set<Watch> ACTIVE = ConcurrentHashMap.newKeySet();

    static {
        TIMER.scheduleWithFixedDelay(PullContext::tick, 100, 100, TimeUnit.MILLISECONDS);
    }

    final String reference;
    final RegistryAuth auth;
    private final long progressTimeoutNanos;
    private final long deadlineNanos; // 0: none
    private final Duration pullTimeout;
    final AtomicLong bytesFetched = new AtomicLong();
    final AtomicLong layersFetched = new AtomicLong();

    PullContext(String reference, RegistryAuth auth, Duration progressTimeout, Duration pullTimeout) {
        this.reference = reference;
        this.auth = auth;
        this.progressTimeoutNanos = progressTimeout.toNanos();
        this.pullTimeout = pullTimeout;
        this.deadlineNanos = pullTimeout.isZero() ? 0 : System.nanoTime() + pullTimeout.toNanos();
    }

    Duration progressTimeout() {
        return Duration.ofNanos(progressTimeoutNanos);
    }

    /** Starts watching a request made by the current thread. */
    Watch watch(String what) {
        Watch w = new Watch(this, Thread.currentThread(), what);
        ACTIVE.add(w);
        return w;
    }

    /** Fails fast when the pull's deadline has passed (checked between requests). */
    void checkDeadline(String registry) throws RegistryException {
        if (deadlineNanos != 0 && System.nanoTime() - deadlineNanos > 0) {
            throw new RegistryException(RegistryException.Reason.TIMEOUT, registry, "pulling " + reference
                    + " did not finish within the pull timeout of " + pullTimeout.toSeconds() + " s");
        }
    }

    private static void tick() {
        long now = System.nanoTime();
        for (Watch w : ACTIVE) {
            PullContext c = w.context;
            if (c.deadlineNanos != 0 && now - c.deadlineNanos > 0) {
                w.trip("pulling " + c.reference + " did not finish within the pull timeout of "
                        + c.pullTimeout.toSeconds() + " s");
            } else if (now - w.lastProgress > c.progressTimeoutNanos) {
                w.trip("no data arrived for " + Duration.ofNanos(c.progressTimeoutNanos).toMillis() / 1000.0
                        + " s while " + w.what);
            }
        }
    }

    /** One request in progress on one thread. */
    static final class Watch implements AutoCloseable {
        private final PullContext context;
        private final Thread thread;
        private final String what;
        private volatile long lastProgress = System.nanoTime();
        private String tripped; // guarded by this
        private boolean closed; // guarded by this

        private Watch(PullContext context, Thread thread, String what) {
            this.context = context;
            this.thread = thread;
            this.what = what;
        }

        void progress() {
            lastProgress = System.nanoTime();
        }

        private synchronized void trip(String why) {
            if (closed || tripped != null) {
                return;
            }
            tripped = why;
            thread.interrupt();
        }

        /** Why the watchdog stopped this request, or null if it did not. */
        synchronized String tripped() {
            return tripped;
        }

        @Override
        public void close() {
            boolean clear;
            synchronized (this) {
                closed = true;
                clear = tripped != null;
            }
            ACTIVE.remove(this);
            if (clear && Thread.currentThread() == thread) {
                Thread.interrupted(); // the interrupt was ours; do not leak it to later work
            }
        }
    }
}
