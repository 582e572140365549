package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.CreateContainerRequest;
import io.pvecri.proxmox.LxcStatus;
import io.pvecri.proxmox.emulator.Faults;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The proxmox backend under PVE's failure modes, injected by the emulator: config-lock timeouts and
 * VMID collisions under 20 parallel creations, a failing clone task, the daemon killed in the middle
 * of a clone, and a foreign CT inside pve-cri's VMID range.
 */
class ProxmoxFaultsIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private final Pods pods = daemon.pods();

    @BeforeAll
    static void onlyAgainstTheEmulator() {
        Assumptions.assumeTrue(daemon.daemon().pve().flatMap(PveTarget::emulator).isPresent(),
                "fault injection needs the PVE emulator (runs with -Dpvecri.e2e.backend=proxmox)");
    }

    private PveTarget pve() {
        return daemon.daemon().pve().orElseThrow();
    }

    private Faults faults() {
        return pve().emulator().orElseThrow().emulator().faults();
    }

    /** CTs carrying this daemon's tag that are containers (not image templates). */
    private List<LxcStatus> containerCts() {
        return pve().containerCts();
    }

    private Set<String> recordFiles() {
        Path dir = daemon.daemon().stateDir().resolve("proxmox/containers");
        if (!Files.isDirectory(dir)) {
            return Set.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return new HashSet<>(files.map(p -> p.getFileName().toString()).toList());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void twentyParallelCreationsWithLockTimeoutsAndVmidCollisionsAllSucceedWithDistinctVmids() throws Exception {
        // The template exists first (one image, one template); then every clone locks it ('disk').
        Pod warm = pods.run("warm");
        warm.create(pods.sleeper("warm"));
        faults().lockTimeout("PUT", "/nodes/[^/]+/lxc/\\d+/config", 0, 6);
        faults().lockTimeout("POST", "/nodes/[^/]+/lxc/\\d+/clone", 0, 6);
        SecondNode thief = new SecondNode(pve());
        thief.start();
        List<String> ids = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(20)) {
            List<Future<String>> created = new ArrayList<>();
            for (int i = 0; i < 20; i++) {
                String name = "par" + i;
                created.add(pool.submit(() -> {
                    Pod pod = pods.run(name);
                    String id = pod.create(pods.sleeper("app"));
                    pods.start(id);
                    return id;
                }));
            }
            for (Future<String> f : created) {
                ids.add(f.get());
            }
        } finally {
            thief.stop();
        }
        Set<String> vmids = new HashSet<>();
        for (String id : ids) {
            vmids.add(daemon.daemon().lxcName(id));
        }
        assertEquals(20, vmids.size(), "every container has a CT of its own: " + vmids);
        assertTrue(thief.stolen().stream().noneMatch(v -> vmids.contains(Integer.toString(v))),
                "no container got a VMID the second node claimed: " + thief.stolen());
        assertTrue(!thief.stolen().isEmpty(), "the second node raced us");
        thief.cleanup();
    }

    @Test
    void aFailingCloneTaskLeavesNothingBehind() throws Exception {
        Pod pod = pods.run("clonefail");
        pod.create(pods.sleeper("first")); // template exists; this clone succeeds
        int before = containerCts().size();
        Set<String> recordsBefore = recordFiles();
        faults().failTasks("vzclone", 1, "zfs error: cannot create 'rpool/data/subvol-1-disk-0': out of space");
        StatusRuntimeException e = GrpcAssertions.assertStatus(Status.Code.INTERNAL, () -> pods.runtime().createContainer(
                CreateContainerRequest.newBuilder().setPodSandboxId(pod.id()).setConfig(pods.sleeper("second"))
                        .setSandboxConfig(pod.config()).build()));
        assertTrue(e.getStatus().getDescription().contains("out of space"), e.getStatus().getDescription());
        assertEquals(before, containerCts().size(), "no CT of the failed clone remains");
        assertEquals(recordsBefore, recordFiles(), "no VMID record of the failed clone remains");
    }

    @Test
    void theDaemonKilledInTheMiddleOfACloneLeaksNoVmid() throws Exception {
        Pod pod = pods.run("killed");
        pod.create(pods.sleeper("first"));
        int before = containerCts().size();
        Set<String> recordsBefore = recordFiles();
        faults().taskDuration("vzclone", Duration.ofSeconds(4));
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread creating = Thread.ofVirtual().start(() -> {
            try {
                pod.create(pods.sleeper("second"));
            } catch (Throwable t) {
                outcome.set(t);
            }
        });
        Wait.until("the clone to be under way", Duration.ofSeconds(30),
                () -> recordFiles().size() > recordsBefore.size() && pve().client().lxc(pve().node()).list().stream()
                        .anyMatch(ct -> "create".equals(ct.lock()) || ct.lock().equals("disk")));
        daemon.daemon().kill9();
        creating.join();
        assertTrue(outcome.get() instanceof StatusRuntimeException, "the caller saw the daemon go: " + outcome.get());
        faults().clear();
        daemon.daemon().restart();
        Wait.until("recovery to destroy the half-created CT", Duration.ofSeconds(60),
                () -> containerCts().size() == before);
        assertEquals(recordsBefore, recordFiles(), "the cut-off create left no VMID record");
    }

    @Test
    void aCtWithoutOurTagInOurVmidRangeIsNeverTouched() throws Exception {
        Pod pod = pods.run("foreign");
        String first = pod.create(pods.sleeper("first"));
        int firstVmid = Integer.parseInt(daemon.daemon().lxcName(first));
        // An operator's CT right next to ours, without pve-cri's tag.
        int foreign = Foreign.create(pve(), firstVmid + 1);
        String second = pod.create(pods.sleeper("second"));
        assertFalse(daemon.daemon().lxcName(second).equals(Integer.toString(foreign)));
        daemon.daemon().kill9();
        daemon.daemon().restart();
        pods.remove(first);
        pods.remove(second);
        pods.stopPod(pod.id());
        pods.removePod(pod.id());
        LxcStatus still = pve().client().lxc(pve().node()).status(foreign);
        assertEquals(foreign, still.vmid(), "the foreign CT is still there");
        Foreign.destroy(pve(), foreign);
    }

    @Test
    void aCtDestroyedBehindTheDaemonsBackIsReportedExitedAndItsContainerRemovable() throws Exception {
        Pod pod = pods.run("vanished");
        String id = pod.start(pods.sleeper("app"));
        int vmid = Integer.parseInt(daemon.daemon().lxcName(id));
        daemon.daemon().kill9();
        // An operator destroys the CT while pve-cri is down.
        var lxc = pve().client().lxc(pve().node());
        pve().client().taskWaiter().await(lxc.stop(vmid), Duration.ofSeconds(60));
        pve().client().taskWaiter().await(lxc.delete(vmid), Duration.ofSeconds(60));
        daemon.daemon().restart();
        assertEquals(io.pvecri.proto.cri.v1.ContainerState.CONTAINER_EXITED, pods.status(id).getState());
        pods.remove(id);
        assertFalse(recordFiles().contains(id), "the removed container's VMID record is gone");
        pods.stopPod(pod.id());
        pods.removePod(pod.id());
    }
}
