package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.ImageSpec;
import io.pvecri.proto.cri.v1.RemoveImageRequest;
import io.pvecri.proxmox.LxcStatus;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One CT template per image, shared by the image's containers and destroyed with the image. */
class ProxmoxTemplatesIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private final Pods pods = daemon.pods();

    @BeforeAll
    static void onlyOnTheProxmoxBackend() {
        Assumptions.assumeTrue(daemon.daemon().pve().isPresent(), "runs with -Dpvecri.e2e.backend=proxmox");
    }

    private List<LxcStatus> templates() {
        PveTarget pve = daemon.daemon().pve().orElseThrow();
        return pve.client().lxc(pve.node()).list().stream().filter(ct -> ct.tags().contains(pve.tag()) && ct.template()).toList();
    }

    private void removeImage() {
        daemon.daemon().images().removeImage(RemoveImageRequest.newBuilder()
                .setImage(ImageSpec.newBuilder().setImage(Daemon.BUSYBOX)).build());
    }

    @Test
    void containersOfAnImageShareOneTemplateThatGoesWithTheImage() {
        Pod pod = pods.run("tmpl");
        String a = pod.create(pods.sleeper("a"));
        String b = pod.create(pods.sleeper("b"));
        List<LxcStatus> shared = templates();
        assertEquals(1, shared.size(), "one template for the image: " + shared);
        assertTrue(shared.getFirst().tags().contains(daemon.daemon().pve().orElseThrow().tag() + "-image"), shared.toString());

        GrpcAssertions.assertStatus(Status.Code.FAILED_PRECONDITION, this::removeImage);
        assertEquals(1, templates().size(), "an image in use keeps its template");

        pods.remove(a);
        pods.remove(b);
        pods.stopPod(pod.id());
        pods.removePod(pod.id());
        removeImage();
        Wait.until("the image's template to be destroyed with the image", Duration.ofSeconds(30), () -> templates().isEmpty());
    }
}
