package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.PodSandboxState;
import io.pvecri.proto.cri.v1.PodSandboxStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;
import java.util.Set;
import java.util.UUID;

import static io.pvecri.daemon.e2e.GrpcAssertions.assertStatus;
import static io.pvecri.daemon.e2e.Pods.containerFilter;
import static io.pvecri.daemon.e2e.Pods.podFilter;
import static io.pvecri.daemon.e2e.Pods.podState;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RunPodSandbox, PodSandboxStatus, ListPodSandbox, StopPodSandbox and RemovePodSandbox. */
class PodLifecycleIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private final Pods pods = daemon.pods();

    @Test
    void runningPodIsReadyAndReportsItsMetadataLabelsAndAnnotations() {
        long before = System.currentTimeMillis() * 1_000_000L;
        Pod pod = pods.run(pods.sandbox("meta")
                .putLabels("app", "meta")
                .putLabels("tier", "backend")
                .putAnnotations("pve-cri.test/note", "hello world"));
        long after = System.currentTimeMillis() * 1_000_000L + 999_999L;

        PodSandboxStatus status = pod.status();

        assertEquals(pod.id(), status.getId());
        assertEquals(PodSandboxState.SANDBOX_READY, status.getState());
        assertEquals(pod.config().getMetadata(), status.getMetadata());
        assertEquals(pod.config().getLabelsMap(), status.getLabelsMap());
        assertEquals(pod.config().getAnnotationsMap(), status.getAnnotationsMap());
        assertTrue(status.getCreatedAt() >= before && status.getCreatedAt() <= after,
                () -> "created_at " + status.getCreatedAt() + " not within [" + before + ", " + after + "]");
    }

    @Test
    void listPodSandboxFiltersByIdStateAndLabels() {
        String run = UUID.randomUUID().toString();
        Pod web = pods.run(pods.sandbox("web").putLabels("run", run).putLabels("app", "web"));
        Pod db = pods.run(pods.sandbox("db").putLabels("run", run).putLabels("app", "db"));
        db.stop();

        assertEquals(Set.of(web.id()), pods.podIds(podFilter().setId(web.id())));
        assertEquals(Set.of(web.id(), db.id()), pods.podIds(podFilter().putLabelSelector("run", run)));
        assertEquals(Set.of(db.id()), pods.podIds(podFilter().putLabelSelector("run", run).putLabelSelector("app", "db")));
        assertEquals(Set.of(web.id()), pods.podIds(podFilter().putLabelSelector("run", run)
                .setState(podState(PodSandboxState.SANDBOX_READY))));
        assertEquals(Set.of(db.id()), pods.podIds(podFilter().putLabelSelector("run", run)
                .setState(podState(PodSandboxState.SANDBOX_NOTREADY))));
        assertEquals(Set.of(), pods.podIds(podFilter().setId(web.id())
                .setState(podState(PodSandboxState.SANDBOX_NOTREADY))));
        assertEquals(Set.of(), pods.podIds(podFilter().putLabelSelector("run", run).putLabelSelector("app", "cache")));
    }

    @Test
    void listedPodCarriesMetadataAndState() {
        Pod pod = pods.run(pods.sandbox("listed").putLabels("k", "v").putAnnotations("a", "b"));

        var listed = pods.listPods(podFilter().setId(pod.id()));

        assertEquals(1, listed.size());
        var item = listed.getFirst();
        assertEquals(pod.config().getMetadata(), item.getMetadata());
        assertEquals(PodSandboxState.SANDBOX_READY, item.getState());
        assertEquals(pod.config().getLabelsMap(), item.getLabelsMap());
        assertEquals(pod.config().getAnnotationsMap(), item.getAnnotationsMap());
        assertTrue(item.getCreatedAt() > 0);
    }

    @Test
    void stopPodSandboxMakesItNotReadyAndIsIdempotent() {
        Pod pod = pods.run("stop");

        pod.stop();
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, pod.status().getState());

        pod.stop();
        assertEquals(PodSandboxState.SANDBOX_NOTREADY, pod.status().getState());
    }

    @Test
    void stopPodSandboxStopsItsContainers() {
        Pod pod = pods.run("stopc");
        String container = pod.start(pods.sleeper("sleeper"));
        pods.awaitState(container, ContainerState.CONTAINER_RUNNING);

        pod.stop();

        assertEquals(ContainerState.CONTAINER_EXITED, pods.status(container).getState());
        assertTrue(Host.lxcInitPid(daemon.daemon().lxcPath(), daemon.daemon().lxcName(container)).isEmpty(),
                "the container's LXC init must be gone once its pod is stopped");
    }

    @Test
    void removePodSandboxMakesItGoneAndIsIdempotent() {
        Pod pod = pods.run("remove");
        pod.stop();

        pod.remove();

        assertEquals(Set.of(), pods.podIds(podFilter().setId(pod.id())));
        assertStatus(Status.Code.NOT_FOUND, pod::status);
        pod.remove();
    }

    @Test
    void removePodSandboxOfUnknownIdSucceeds() {
        pods.removePod("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
    }

    @Test
    void removePodSandboxRemovesItsContainersEvenWhenTheyRun() {
        Pod pod = pods.run("removec");
        String container = pod.start(pods.sleeper("sleeper"));
        pods.awaitState(container, ContainerState.CONTAINER_RUNNING);
        Path lxcPath = daemon.daemon().lxcPath();
        assertTrue(Host.lxcContainers(lxcPath).contains(daemon.daemon().lxcName(container)), "a running container has an LXC container");

        pod.remove();

        assertEquals(Set.of(), pods.containerIds(containerFilter().setPodSandboxId(pod.id())));
        assertStatus(Status.Code.NOT_FOUND, () -> pods.status(container));
        assertFalse(Host.lxcContainers(lxcPath).contains(daemon.daemon().lxcName(container)), "LXC container must be destroyed with its pod");
    }
}
