package io.pvecri.proxmox;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LockRetryTest {

    @Test
    void configUpdateSucceedsAfterLockTimeouts() {
        List<PveCall> calls = new CopyOnWriteArrayList<>();
        try (Fixture f = new Fixture(e -> e, c -> c.listener(calls::add))) {
            f.createCt(100, Map.of());
            calls.clear();
            f.pve.faults().lockTimeout("PUT", "/nodes/pve1/lxc/100/config", 100, 3);
            f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("memory", 2048)));
            assertEquals("2048", f.pve.cluster().guest(100).orElseThrow().config().get("memory"));
            List<String> outcomes = calls.stream().map(PveCall::outcome).toList();
            assertEquals(List.of("locked", "locked", "locked", "ok"), outcomes);
            PveCall last = calls.getLast();
            assertEquals("PUT", last.method());
            assertEquals("/nodes/{node}/lxc/{vmid}/config", last.endpoint());
            assertEquals("pve1", last.node());
            assertEquals(200, last.status());
        }
    }

    @Test
    void givesUpAfterTheConfiguredAttempts() {
        List<PveCall> calls = new CopyOnWriteArrayList<>();
        try (Fixture f = new Fixture(e -> e, c -> c.listener(calls::add))) {
            f.createCt(100, Map.of());
            calls.clear();
            f.pve.faults().lockTimeout("PUT", "/nodes/pve1/lxc/100/config", 100, 50);
            var e = assertThrows(PveException.Locked.class,
                    () -> f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("memory", 2048))));
            assertEquals("can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout", e.pveMessage());
            assertEquals(6, calls.size(), "policy: 6 attempts");
        }
    }

    @Test
    void waitsOutALockPropertyHeldByAnotherOperation() throws Exception {
        try (Fixture f = new Fixture()) {
            f.createCt(100, Map.of());
            f.pve.cluster().setLock(100, "backup");
            Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(120);
                } catch (InterruptedException e) {
                    return;
                }
                f.pve.cluster().setLock(100, null);
            });
            f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("cores", 2)));
            assertEquals("2", f.pve.cluster().guest(100).orElseThrow().config().get("cores"));
        }
    }

    @Test
    void parallelLinkedClonesOfOneTemplateAllSucceed() throws Exception {
        // each clone locks the template ("CT is locked (disk)") until its task ends; retries serialise them
        try (Fixture f = new Fixture(e -> e, c -> c.lockRetry(new LockRetry.Policy(40,
                new Backoff(Duration.ofMillis(10), Duration.ofMillis(60), 1.5))))) {
            f.createTemplate(100);
            LockRetry retry = f.client.lockRetry();
            try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
                List<Future<TaskStatus>> done = new java.util.ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    int newid = 200 + i;
                    done.add(pool.submit(() -> retry.run("clone", () -> f.client.taskWaiter()
                            .await(f.lxc().clone(100, newid, CloneOptions.linked().withHostname("c" + newid)), Duration.ofSeconds(5)))));
                }
                for (Future<TaskStatus> d : done) {
                    assertTrue(d.get().state().succeeded());
                }
            }
            for (int i = 0; i < 4; i++) {
                var g = f.pve.cluster().guest(200 + i).orElseThrow();
                assertEquals("local-zfs:basevol-100-disk-0/subvol-" + (200 + i) + "-disk-0,size=4G", g.config().get("rootfs"));
                assertTrue(g.lock().isEmpty());
            }
            assertTrue(f.pve.cluster().guest(100).orElseThrow().lock().isEmpty());
        }
    }

    @Test
    void retriesLockFailuresSurfacingInTasks() {
        try (Fixture f = new Fixture()) {
            f.createCt(100, Map.of());
            f.pve.faults().failTasks("vzstart", 2, "can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout");
            TaskStatus s = f.client.lockRetry().run("start CT 100",
                    () -> f.client.taskWaiter().await(f.lxc().start(100), Duration.ofSeconds(5)));
            assertTrue(s.state().succeeded());
        }
    }

    @Test
    void otherFailuresAreNotRetried() {
        int[] attempts = {0};
        LockRetry r = new LockRetry(new LockRetry.Policy(5, new Backoff(Duration.ofMillis(1), Duration.ofMillis(1), 1)));
        assertThrows(PveException.NotFound.class, () -> r.run("x", () -> {
            attempts[0]++;
            throw ErrorClassifier.classify(500, "Configuration file 'nodes/pve1/lxc/1.conf' does not exist", Map.of(), "GET /x");
        }));
        assertEquals(1, attempts[0]);
    }

    @Test
    void backoffIsCappedAndJittered() {
        Backoff b = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), 2.0);
        assertEquals(Duration.ofMillis(100), b.delay(0));
        assertEquals(Duration.ofMillis(400), b.delay(2));
        assertEquals(Duration.ofSeconds(1), b.delay(10));
        for (int i = 0; i < 100; i++) {
            Duration d = b.jittered(3, java.util.random.RandomGenerator.getDefault());
            assertTrue(d.compareTo(Duration.ofMillis(400)) >= 0 && d.compareTo(Duration.ofMillis(800)) <= 0, d.toString());
        }
    }
}
