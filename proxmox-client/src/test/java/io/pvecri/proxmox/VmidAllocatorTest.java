package io.pvecri.proxmox;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VmidAllocatorTest {

    private static PveParams ct() {
        return PveParams.of().with("ostemplate", Fixture.TEMPLATE).with("storage", "local-zfs").with("unprivileged", true);
    }

    @Test
    void twentyParallelAllocationsWithCollisionsGetTwentyDistinctVmids() throws Exception {
        List<PveCall> calls = new CopyOnWriteArrayList<>();
        try (Fixture f = new Fixture(e -> e, c -> c.listener(calls::add).maxParallelMutationsPerNode(8))) {
            // ids taken behind the allocator's back (another node) and a lagging nextid
            f.createCt(101, java.util.Map.of());
            f.createCt(103, java.util.Map.of());
            f.pve.faults().staleNextId(10);
            // a second client (another pve-cri instance) allocating at the same time, with its own allocator
            try (PveClient other = PveClient.create(f.client.config());
                 ExecutorService pool = Executors.newFixedThreadPool(20)) {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<VmidAllocator.Allocation<Upid>>> results = new ArrayList<>();
                for (int i = 0; i < 20; i++) {
                    PveClient c = i % 2 == 0 ? f.client : other;
                    results.add(pool.submit(() -> {
                        go.await();
                        return c.vmidAllocator().allocate(vmid -> c.lxc(Fixture.NODE).create(vmid, ct()));
                    }));
                }
                go.countDown();
                Set<Integer> ids = new HashSet<>();
                for (var r : results) {
                    var a = r.get();
                    assertEquals(String.valueOf(a.vmid()), a.result().id());
                    f.client.taskWaiter().await(a.result(), Duration.ofSeconds(10));
                    ids.add(a.vmid());
                }
                assertEquals(20, ids.size(), "distinct VMIDs: " + ids);
                assertTrue(ids.stream().noneMatch(id -> id == 101 || id == 103), ids.toString());
                for (int id : ids) {
                    assertTrue(f.pve.cluster().guest(id).orElseThrow().lock().isEmpty());
                }
            }
            long collisions = calls.stream().filter(c -> c.outcome().equals("already_exists")).count();
            assertTrue(collisions > 0, "the run must actually have collided");
        }
    }

    @Test
    void givesUpAfterMaxAttempts() {
        try (Fixture f = new Fixture(e -> e, c -> c.vmidAttempts(3))) {
            List<Integer> tried = new ArrayList<>();
            var e = assertThrows(PveException.AlreadyExists.class, () -> f.client.vmidAllocator().allocate(vmid -> {
                tried.add(vmid);
                // another node wins every race
                throw ErrorClassifier.classify(500, "unable to create CT " + vmid + " - CT " + vmid
                        + " already exists on node 'pve2'", java.util.Map.of(), "POST /nodes/{node}/lxc");
            }));
            assertEquals(3, tried.size());
            assertEquals(3, new HashSet<>(tried).size(), "never the same id twice: " + tried);
            assertEquals(tried.getLast().intValue(), e.vmid().orElseThrow());
        }
    }

    @Test
    void alreadyExistsAboutAnotherIdIsNotACollision() {
        try (Fixture f = new Fixture()) {
            f.createCt(100, java.util.Map.of());
            int[] claims = {0};
            var e = assertThrows(PveException.AlreadyExists.class, () -> f.client.vmidAllocator().allocate(vmid -> {
                claims[0]++;
                return f.lxc().create(100, ct()); // always the taken id, whatever we were given
            }));
            assertEquals(100, e.vmid().orElseThrow());
            assertEquals(1, claims[0]);
        }
    }

    @Test
    void linkedClonesClaimVmidsToo() {
        try (Fixture f = new Fixture()) {
            f.createTemplate(100);
            var a = f.client.vmidAllocator().allocate(vmid -> f.lxc().clone(100, vmid, CloneOptions.linked()));
            assertEquals("vzclone", a.result().type());
            assertEquals("100", a.result().id(), "vzclone task id is the source VMID");
            f.client.taskWaiter().await(a.result(), Duration.ofSeconds(5));
            assertEquals(101, a.vmid());
            assertTrue(f.pve.cluster().guest(101).isPresent());
        }
    }
}
