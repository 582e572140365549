package io.pvecri.proxmox;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Retry rules per method, per-node write limits, listener reports. */
class HttpBehaviourTest {

    @Test
    void readsAreRetriedOnDroppedConnectionsAnd5xx() {
        List<PveCall> calls = new CopyOnWriteArrayList<>();
        try (Fixture f = new Fixture(e -> e, c -> c.listener(calls::add))) {
            f.pve.faults().drop("GET", "/version", 1);
            f.pve.faults().respond("GET", "/version", 1, 503, "Service Unavailable");
            assertEquals("9.1.2", f.client.version().version());
            assertEquals(List.of("unavailable", "unavailable", "ok"), calls.stream().map(PveCall::outcome).toList());
            assertEquals(List.of(0, 503, 200), calls.stream().map(PveCall::status).toList());
        }
    }

    @Test
    void writesThatReachedTheServerAreNotRetried() {
        List<PveCall> calls = new CopyOnWriteArrayList<>();
        try (Fixture f = new Fixture(e -> e, c -> c.listener(calls::add))) {
            f.createCt(100, Map.of());
            calls.clear();
            f.pve.faults().drop("POST", "/nodes/pve1/lxc/100/status/start", 1);
            var e = assertThrows(PveException.Unavailable.class, () -> f.lxc().start(100));
            assertTrue(e.requestSent());
            assertEquals(1, calls.size());
            // a plain 500 is not a lock: no retry either
            f.pve.faults().respond("POST", "/nodes/pve1/lxc/100/status/start", 1, 500, "got unexpected error");
            calls.clear();
            assertEquals("got unexpected error", assertThrows(PveException.ApiError.class, () -> f.lxc().start(100)).pveMessage());
            assertEquals(1, calls.size());
        }
    }

    @Test
    void parallelWritesPerNodeAreLimited() throws Exception {
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger peak = new AtomicInteger();
        try (Fixture f = new Fixture(e -> e, c -> c.maxParallelMutationsPerNode(2))) {
            for (int i = 0; i < 6; i++) {
                f.createCt(100 + i, Map.of());
            }
            f.pve.faults().delay("PUT", "/nodes/pve1/lxc/\\d+/config", 6, Duration.ofMillis(150));
            NodeGate gate = gateOf(f.client);
            try (ExecutorService pool = Executors.newFixedThreadPool(6)) {
                List<Future<?>> done = new java.util.ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    int vmid = 100 + i;
                    done.add(pool.submit(() -> {
                        f.lxc().updateConfig(vmid, ConfigUpdate.set(PveParams.of().with("cores", 2)));
                        return null;
                    }));
                }
                long until = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                while (done.stream().anyMatch(d -> !d.isDone()) && System.nanoTime() < until) {
                    int used = 2 - gate.available("pve1");
                    inFlight.set(used);
                    peak.accumulateAndGet(used, Math::max);
                    Thread.sleep(5);
                }
                for (Future<?> d : done) {
                    d.get();
                }
            }
            assertEquals(2, peak.get(), "two PUTs in flight at most, and the limit was reached");
            assertEquals(2, gateOf(f.client).available("pve1"), "all permits returned");
        }
    }

    @Test
    void nodeGateReleasesPermits() throws Exception {
        NodeGate g = new NodeGate(1);
        try (NodeGate.Permit held = g.enter("a")) {
            assertTrue(held != null);
            assertEquals(0, g.available("a"));
            assertEquals(1, g.available("b"));
        }
        assertEquals(1, g.available("a"));
    }

    private static NodeGate gateOf(PveClient c) throws Exception {
        var f = PveClient.class.getDeclaredField("http");
        f.setAccessible(true);
        return ((PveHttp) f.get(c)).gate();
    }
}
