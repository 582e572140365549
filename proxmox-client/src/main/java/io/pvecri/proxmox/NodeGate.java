package io.pvecri.proxmox;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * Limits parallel mutating calls per node (PVE serialises config changes on flocks and storage locks;
 * piling requests onto one node only turns into lock timeouts). A permit is held for one HTTP
 * attempt, never while sleeping between retries.
 */
final class NodeGate {

    private final int permits;
    private final ConcurrentHashMap<String, Semaphore> gates = new ConcurrentHashMap<>();

    NodeGate(int permits) {
        if (permits < 1) {
            throw new IllegalArgumentException("permits: must be >= 1, got " + permits);
        }
        this.permits = permits;
    }

    /** A held permit; close releases it. */
    interface Permit extends AutoCloseable {
        @Override
        void close();
    }

    Permit enter(String node) throws InterruptedException {
        Semaphore s = gates.computeIfAbsent(node, n -> new Semaphore(permits, true));
        s.acquire();
        return s::release;
    }

    /** Permits currently free for {@code node} (for tests and diagnostics). */
    int available(String node) {
        Semaphore s = gates.get(node);
        return s == null ? permits : s.availablePermits();
    }
}
