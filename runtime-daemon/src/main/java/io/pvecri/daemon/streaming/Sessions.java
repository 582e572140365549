package io.pvecri.daemon.streaming;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.pvecri.daemon.util.Log;

import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The sessions being served: the concurrency limit, the metrics and the start/end log lines.
 * Metrics: {@code pvecri_streaming_sessions_total{kind,protocol}} (sessions started),
 * {@code pvecri_streaming_active{kind}}, {@code pvecri_streaming_session_seconds{kind}} and
 * {@code pvecri_streaming_rejected_total{reason}} (requests refused before a session started).
 */
final class Sessions {
    private static final Log LOG = Log.get(Sessions.class);
    private static final AtomicLong IDS = new AtomicLong();

    /** One running session; {@link #end} exactly once. */
    final class Handle {
        final String name;
        final Kind kind;
        private final long t0 = System.nanoTime();
        private final Runnable cancel;
        private boolean ended;

        private Handle(Kind kind, Runnable cancel) {
            this.name = kind.path() + "-" + IDS.incrementAndGet();
            this.kind = kind;
            this.cancel = cancel;
        }

        /** Logs the end with {@code kv} (e.g. exit_code), updates the metrics, frees the slot. */
        void end(Object... kv) {
            synchronized (this) {
                if (ended) {
                    return;
                }
                ended = true;
            }
            live.remove(this);
            active.get(kind).decrementAndGet();
            slots.release();
            long nanos = System.nanoTime() - t0;
            durations.get(kind).record(Duration.ofNanos(nanos));
            Object[] all = new Object[kv.length + 6];
            all[0] = "session";
            all[1] = name;
            all[2] = "kind";
            all[3] = kind.path();
            all[4] = "ms";
            all[5] = nanos / 1_000_000;
            System.arraycopy(kv, 0, all, 6, kv.length);
            LOG.info("streaming.session_ended", all);
        }
    }

    private final MeterRegistry registry;
    private final Semaphore slots;
    private final int max;
    private final Map<Kind, AtomicInteger> active = new EnumMap<>(Kind.class);
    private final Map<Kind, Timer> durations = new EnumMap<>(Kind.class);
    private final Set<Handle> live = ConcurrentHashMap.newKeySet();

    Sessions(MeterRegistry registry, int maxConcurrent) {
        this.registry = registry;
        this.max = maxConcurrent;
        this.slots = new Semaphore(maxConcurrent);
        for (Kind k : Kind.values()) {
            AtomicInteger a = new AtomicInteger();
            active.put(k, a);
            Gauge.builder("pvecri.streaming.active", a, AtomicInteger::get)
                    .description("streaming sessions (exec, attach, port-forward) being served").tag("kind", k.path())
                    .register(registry);
            durations.put(k, Timer.builder("pvecri.streaming.session").description("duration of streaming sessions")
                    .tag("kind", k.path()).register(registry));
        }
    }

    int max() {
        return max;
    }

    /** A slot for a new session, or null when {@code maxConcurrentStreams} are running. */
    Handle begin(Kind kind, String protocol, Runnable cancel, Object... kv) {
        if (!slots.tryAcquire()) {
            rejected("limit");
            return null;
        }
        Handle h = new Handle(kind, cancel);
        live.add(h);
        active.get(kind).incrementAndGet();
        Counter.builder("pvecri.streaming.sessions").description("streaming sessions started")
                .tag("kind", kind.path()).tag("protocol", protocol.isEmpty() ? "none" : protocol).register(registry).increment();
        Object[] all = new Object[kv.length + 6];
        all[0] = "session";
        all[1] = h.name;
        all[2] = "kind";
        all[3] = kind.path();
        all[4] = "protocol";
        all[5] = protocol.isEmpty() ? "-" : protocol;
        System.arraycopy(kv, 0, all, 6, kv.length);
        LOG.info("streaming.session_started", all);
        return h;
    }

    void rejected(String reason) {
        Counter.builder("pvecri.streaming.rejected").description("streaming requests refused before a session started")
                .tag("reason", reason).register(registry).increment();
    }

    int active() {
        return live.size();
    }

    /** Cancels every running session (daemon shutdown). */
    void cancelAll() {
        for (Handle h : live) {
            try {
                h.cancel.run();
            } catch (RuntimeException e) {
                LOG.warn("streaming.cancel_failed", "session", h.name, "error", e.toString());
            }
        }
    }
}
