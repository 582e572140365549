package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.CreateContainerRequest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A privilege the API token lacks is named, with its ACL path, in the CRI error; nothing is left behind. */
class ProxmoxPermissionsIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private final Pods pods = daemon.pods();

    @BeforeAll
    static void onlyAgainstTheEmulator() {
        Assumptions.assumeTrue(daemon.daemon().pve().flatMap(PveTarget::emulator).isPresent(),
                "denying a privilege needs the PVE emulator (runs with -Dpvecri.e2e.backend=proxmox)");
    }

    @Test
    void aMissingClonePrivilegeIsNamedWithItsPath() throws Exception {
        PveTarget pve = daemon.daemon().pve().orElseThrow();
        Pod pod = pods.run("perm");
        String first = pod.create(pods.sleeper("first")); // makes the image's template
        Path templates = daemon.daemon().stateDir().resolve("proxmox/templates");
        String template;
        try (var files = Files.list(templates)) {
            template = Files.readString(files.findFirst().orElseThrow()).strip().split("\\s+")[0];
        }
        int before = pve.containerCts().size();
        pve.emulator().orElseThrow().emulator().cluster().deny("/vms/" + template, "VM.Clone");

        StatusRuntimeException e = GrpcAssertions.assertStatus(Status.Code.INTERNAL, () -> pods.runtime().createContainer(
                CreateContainerRequest.newBuilder().setPodSandboxId(pod.id()).setConfig(pods.sleeper("second"))
                        .setSandboxConfig(pod.config()).build()));
        String message = GrpcAssertions.description(e);
        assertTrue(message.contains("the API token lacks a privilege") && message.contains("/vms/" + template)
                && message.contains("VM.Clone"), message);
        assertEquals(before, pve.containerCts().size(), "no CT was left by the refused clone");
        assertEquals(1, pods.listContainers(Pods.containerFilter().setPodSandboxId(pod.id())).size());
        pods.remove(first);
    }
}
