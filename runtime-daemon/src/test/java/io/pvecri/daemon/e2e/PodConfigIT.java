package io.pvecri.daemon.e2e;

import io.grpc.Status;
import io.pvecri.daemon.e2e.Pods.Pod;
import io.pvecri.proto.cri.v1.ContainerState;
import io.pvecri.proto.cri.v1.DNSConfig;
import io.pvecri.proto.cri.v1.NamespaceMode;
import io.pvecri.proto.cri.v1.NamespaceOption;
import io.pvecri.proto.cri.v1.RunPodSandboxRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Files;
import java.nio.file.Path;

import static io.pvecri.daemon.e2e.GrpcAssertions.assertStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pod-level settings as containers see them: hostname and its files, DNS, sysctls, host namespaces. */
class PodConfigIT {
    @RegisterExtension
    static final DaemonExtension daemon = new DaemonExtension();

    private static String sleeperIn(Pod pod, Pods pods, String name) {
        String id = pod.start(pods.sleeper(name));
        pods.awaitState(id, ContainerState.CONTAINER_RUNNING);
        return id;
    }

    @Test
    void containersSeeThePodHostnameAndDnsConfig() {
        Pods pods = daemon.pods();
        var config = pods.sandbox("dns").setDnsConfig(DNSConfig.newBuilder()
                .addServers("10.96.0.10").addSearches("default.svc.cluster.local").addSearches("svc.cluster.local")
                .addOptions("ndots:5"));
        Pod pod = pods.run(config);
        String id = sleeperIn(pod, pods, "app");
        String hostname = config.getHostname();

        assertEquals(hostname + "\n", pods.execOk(id, "cat", "/etc/hostname"));
        assertEquals(hostname + "\n", pods.execOk(id, "hostname") + "");
        String resolv = pods.execOk(id, "cat", "/etc/resolv.conf");
        assertTrue(resolv.contains("nameserver 10.96.0.10"), resolv);
        assertTrue(resolv.contains("search default.svc.cluster.local svc.cluster.local"), resolv);
        assertTrue(resolv.contains("options ndots:5"), resolv);
        assertTrue(pods.execOk(id, "cat", "/etc/hosts").contains(hostname), "/etc/hosts names the pod");
    }

    @Test
    void namespacedSysctlsApplyToThePod() {
        Pods pods = daemon.pods();
        var config = pods.sandbox("sysctl");
        config.getLinuxBuilder().putSysctls("net.ipv4.ip_unprivileged_port_start", "81").putSysctls("kernel.shm_rmid_forced", "1");
        Pod pod = pods.run(config);
        String id = sleeperIn(pod, pods, "app");

        assertEquals("81\n", pods.execOk(id, "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"));
        assertEquals("1\n", pods.execOk(id, "cat", "/proc/sys/kernel/shm_rmid_forced"));
    }

    @Test
    void nodeWideSysctlsAreRefused() {
        Pods pods = daemon.pods();
        var config = pods.sandbox("badsysctl");
        config.getLinuxBuilder().putSysctls("vm.swappiness", "10");
        assertStatus(Status.Code.INVALID_ARGUMENT, () -> pods.runtime().runPodSandbox(
                RunPodSandboxRequest.newBuilder().setConfig(config).build()));
    }

    @Test
    void hostNetworkAndIpcPodsShareTheNodesNamespaces() throws Exception {
        Pods pods = daemon.pods();
        NamespaceOption host = NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE).setIpc(NamespaceMode.NODE)
                .setPid(NamespaceMode.CONTAINER).build();
        var config = pods.sandbox("hostnet").clearHostname();
        config.getLinuxBuilder().getSecurityContextBuilder().setNamespaceOptions(host);
        Pod pod = pods.run(config);
        var ctr = pods.sleeper("app");
        ctr.getLinuxBuilder().getSecurityContextBuilder().setNamespaceOptions(host);
        String id = pod.start(ctr);
        pods.awaitState(id, ContainerState.CONTAINER_RUNNING);

        long init = Host.requireInitPid(daemon.daemon().lxcPath(), daemon.daemon().lxcName(id));
        assertEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")), Files.readSymbolicLink(Path.of("/proc/" + init + "/ns/net")));
        assertEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/ipc")), Files.readSymbolicLink(Path.of("/proc/" + init + "/ns/ipc")));
        assertEquals(Files.readString(Path.of("/proc/sys/kernel/hostname")), pods.execOk(id, "hostname"),
                "a host-network pod without a hostname has the node's");
    }
}
