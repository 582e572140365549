package io.pvecri.daemon.e2e;

import io.pvecri.proxmox.emulator.EmulatedCluster;
import io.pvecri.proxmox.emulator.LocalEmulator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Another client of the cluster claiming VMIDs in pve-cri's range while pve-cri allocates, as a second
 * node or an operator's script would: it writes CT configs straight into the emulated cluster (the
 * atomic claim PVE's create does), at most {@code MAX} of them, every few milliseconds.
 */
final class SecondNode {
    private static final int MAX = 12;
    static final int LOWER = 90_000;
    static final int UPPER = 99_999;

    private final PveTarget pve;
    private final Set<Integer> stolen = ConcurrentHashMap.newKeySet();
    private volatile boolean running;
    private Thread thread;

    SecondNode(PveTarget pve) {
        this.pve = pve;
    }

    void start() {
        running = true;
        EmulatedCluster cluster = pve.emulator().orElseThrow().emulator().cluster();
        thread = Thread.ofPlatform().daemon().name("second-node").start(() -> {
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (running && stolen.size() < MAX && System.nanoTime() < deadline) {
                Set<Integer> taken = new java.util.HashSet<>();
                cluster.guests().forEach(g -> taken.add(g.vmid()));
                for (int id = LOWER; id <= UPPER; id++) {
                    if (!taken.contains(id)) {
                        try {
                            cluster.putGuest(id, LocalEmulator.NODE, "lxc", Map.of("hostname", "other-" + id, "memory", "512",
                                    "ostype", "debian", "arch", "amd64", "tags", "other"));
                            stolen.add(id);
                        } catch (RuntimeException e) {
                            // pve-cri got it first: that is the race we want
                        }
                        break;
                    }
                }
                try {
                    Thread.sleep(3);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    void stop() throws InterruptedException {
        running = false;
        thread.join();
    }

    Set<Integer> stolen() {
        return Set.copyOf(stolen);
    }

    /** Deletes the claimed CTs through the API (they have no volumes). */
    void cleanup() {
        List<Integer> ids = new ArrayList<>(stolen);
        for (int id : ids) {
            Foreign.destroy(pve, id);
        }
    }
}
